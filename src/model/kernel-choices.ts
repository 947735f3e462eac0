// Which kernel variant the engine picked on this device for each part of a model, in words: printed by
// the benchmarks beside their figures, so that a result says what ran (the choices are made per device
// and per matrix at run time: subgroups or not, matvec shapes, tiled or tensor-core linear layers and
// attention, decode's split of the keys).
import type { Gpu } from '../gpu/gpu.ts';
import { choosePrefillKernel, decodeChoice, type AttentionShape } from '../gpu/kernels/attention.ts';
import type { KvType } from '../gpu/kernels/kv-store.ts';
import { chooseMatvec, chooseTiledLinear, gateUpShape, type LinearWeight } from '../gpu/kernels/linear.ts';
import { weightFormatOf } from '../gpu/kernels/weight-format.ts';
import { projectionMatrices, type ModelWeights } from './weights.ts';

/** One line per choice: the device's features, every distinct matrix of layer 0 and the LM head, attention. */
export function kernelChoices(gpu: Gpu, weights: ModelWeights, shape: AttentionShape, options: { prefillRows: number; decodeContext: number; kvType: KvType }): string[] {
  const { adapter } = gpu;
  const lines = [
    `device: ${adapter.description}; subgroups ${gpu.hasSubgroups ? `${adapter.subgroupSizes.min}–${adapter.subgroupSizes.max}` : 'off'}; ` +
      `tensor cores ${adapter.subgroupMatrixConfigs.length > 0 ? 'yes' : 'no'}; ${adapter.runsOnCpu ? 'a CPU adapter' : 'a GPU'}`,
  ];
  const layer = weights.layers[0];
  const matrices: Array<[string, LinearWeight]> = [
    ...projectionMatrices(layer.qkv),
    ['o', layer.o],
    ...projectionMatrices(layer.gateUp),
    ['down', layer.down],
    ['lm_head', weights.lmHead],
  ];
  for (const [name, weight] of matrices) {
    const chosen = chooseMatvec(gpu, 1, weight.outs, weight.ins, { norm: false }, weightFormatOf(weight.parts[0]));
    const m = name === 'gate+up' ? gateUpShape(chosen) : chosen; // decoding runs it as GATE_UP
    const tiled = chooseTiledLinear(gpu, weight, options.prefillRows);
    lines.push(
      `${name} ${weight.outs}×${weight.ins} ${weightFormatOf(weight.parts[0])}: decode matvec ${m.threads} invocations / ${m.outsPerGroup} rows / ${m.chunked ? `chunks of 32, ${m.unroll} at a time` : `${m.unroll} vec4s at a time`}; ` +
        `prefill ${JSON.stringify(tiled)}`,
    );
  }
  const prefill = choosePrefillKernel(gpu, shape);
  const decode = decodeChoice(gpu, shape, 1, options.decodeContext, options.kvType);
  const decodeKernel = decode.subgroups ? `subgroups ${JSON.stringify(decode.subgroups)}` : 'workgroup memory';
  lines.push(`attention prefill: ${prefill.kind} ${JSON.stringify(prefill.tiles)}`);
  lines.push(
    `attention decode at ${options.decodeContext} keys, ${options.kvType} cache: ${decodeKernel}, tiles of ${decode.tileRows} rows, ${decode.splitKeys} keys a split, ${decode.partials} partials`,
  );
  return lines;
}
