// Pre-quantized int4 safetensors as the Hub publishes them (Qwen's *-GPTQ-Int4 and *-AWQ releases),
// recognised by config.json's quantization_config and the `<linear>.qweight` tensors, unpacked at load
// into the q4 GPU layout (src/gpu/kernels/weight-format.ts). Both store, per linear layer with
// HF weight [outs, ins]: scales [ins/G, outs] f16, 4-bit values and 4-bit zero points packed 8 to an
// int32, and value = (q − zero) · scale:
//   GPTQ (AutoGPTQ): qweight [ins/8, outs], nibble k of qweight[r, j] is input 8r + k of output j;
//     qzeros [ins/G, outs/8], nibble k of qzeros[g, c] is output 8c + k; checkpoint_format "gptq"
//     stores zero − 1 (AutoGPTQ's legacy offset), "gptq_v2" the zero itself; g_idx [ins] names each
//     input's group (act-order checkpoints permute it).
//   AWQ (AutoAWQ, version "gemm"): qweight [ins, outs/8] and qzeros [ins/G, outs/8], both packed along
//     outputs in the order 0 2 4 6 1 3 5 7 (output 8c + j sits in nibble awqNibble[j]); zero as stored.
// Groups of 128 (most of the Hub's releases) are kept as they are, in q4g128 (4.25 bits a weight); other
// groups (32, 64, a whole row) go to q4, one scale and zero per 32 inputs: a group of G is repeated
// G/32 times, which changes no value. An act-order g_idx that puts one run of the GPU group's inputs
// in different groups is refused.
import { quantGroupSize } from '../../gpu/kernels/weight-format.ts';
import { f16BitsToF32, f32ToF16Bits } from '../dtype.ts';
import { readTensorBytes, type TensorInfo } from '../safetensors.ts';
import type { ModelFiles } from '../source/model-files.ts';
import { packQ4, type PackedWeights } from './quantize.ts';
import { WeightFormatError, type StoredTensor } from './stored-tensor.ts';

export type Int4Method = 'gptq' | 'awq';

export interface Int4Config {
  method: Int4Method;
  /** Inputs per group; the whole row when the checkpoint says -1. */
  groupSize: number | 'row';
  /** Added to a stored zero point: 1 for AutoGPTQ's "gptq" checkpoint format, else 0. */
  zeroOffset: number;
}

/** Output 8c + j of an AWQ word sits in nibble awqNibble[j] (AutoAWQ packs in the order 0 2 4 6 1 3 5 7). */
const awqNibble = [0, 4, 1, 5, 2, 6, 3, 7];

/** The int4 quantization a config.json declares, undefined when it declares none; refuses what q4 cannot hold. */
export function parseInt4Config(configJson: unknown): Int4Config | undefined {
  const q = (configJson as { quantization_config?: Record<string, unknown> } | undefined)?.quantization_config;
  if (q === undefined || q === null) return undefined;
  const method = String(q.quant_method ?? '').toLowerCase();
  if (method !== 'gptq' && method !== 'awq') {
    throw new WeightFormatError(`config.json's quantization_config has quant_method ${JSON.stringify(q.quant_method)}: only GPTQ and AWQ int4 checkpoints are supported`);
  }
  const bits = q.bits ?? q.w_bit;
  if (bits !== 4) throw new WeightFormatError(`This ${method.toUpperCase()} checkpoint has ${String(bits)}-bit weights: only 4-bit ones are supported`);
  const group = q.group_size ?? q.q_group_size;
  if (group !== -1 && group !== 32 && group !== 64 && group !== 128) {
    throw new WeightFormatError(`This ${method.toUpperCase()} checkpoint has group_size ${String(group)}: supported are 32, 64, 128 and -1 (one group a row)`);
  }
  if (method === 'awq') {
    const version = String(q.version ?? 'gemm').toLowerCase();
    if (version !== 'gemm') throw new WeightFormatError(`This AWQ checkpoint is version "${version}": only "gemm" packing is supported`);
    return { method, groupSize: group === -1 ? 'row' : (group as number), zeroOffset: 0 };
  }
  const format = String(q.checkpoint_format ?? 'gptq').toLowerCase();
  if (format !== 'gptq' && format !== 'gptq_v2') throw new WeightFormatError(`This GPTQ checkpoint has checkpoint_format "${format}": supported are "gptq" and "gptq_v2"`);
  return { method, groupSize: group === -1 ? 'row' : (group as number), zeroOffset: format === 'gptq' ? 1 : 0 };
}

/** A GPTQ/AWQ layer's tensors, as read from the file (little-endian int32 words and f16 bits). */
export interface Int4Layer {
  qweight: Uint32Array;
  qzeros: Uint32Array;
  scales: Uint16Array;
  /** GPTQ only; undefined means input i is in group i / G. */
  gIdx?: Int32Array;
  outs: number;
  ins: number;
}

/** The values, zeros and scales of a layer, one per [out, in] element and [out, group]. */
interface Unpacked {
  /** [outs, ins] 4-bit values. */
  q: Uint8Array;
  /** Group of each input. */
  groupOf: Int32Array;
  groups: number;
  /** [groups, outs] zero points (offset applied). */
  zeros: Uint8Array;
  /** [groups, outs] scales, f16 bits. */
  scales: Uint16Array;
}

function unpack(layer: Int4Layer, config: Int4Config, name: string): Unpacked {
  const { outs, ins } = layer;
  if (outs % 8 !== 0 || ins % 8 !== 0) throw new WeightFormatError(`${name}: [${outs}, ${ins}] is not a multiple of 8 in both dimensions, as int4 packing needs`);
  const groupSize = config.groupSize === 'row' ? ins : config.groupSize;
  const groups = layer.scales.length / outs;
  if (!Number.isInteger(groups) || groups !== Math.ceil(ins / groupSize) || layer.qzeros.length !== groups * (outs / 8)) {
    throw new WeightFormatError(`${name}: scales (${layer.scales.length}) and qzeros (${layer.qzeros.length}) do not match [${outs}, ${ins}] in groups of ${groupSize}`);
  }
  const groupOf = layer.gIdx ? Int32Array.from(layer.gIdx) : Int32Array.from({ length: ins }, (_, i) => Math.floor(i / groupSize));
  if (groupOf.length !== ins || groupOf.some((g) => g < 0 || g >= groups)) throw new WeightFormatError(`${name}: g_idx does not name a group in 0..${groups - 1} for each of ${ins} inputs`);
  const q = new Uint8Array(outs * ins);
  const nibble = (word: number, k: number) => (word >>> (4 * k)) & 0xf;
  if (config.method === 'gptq') {
    if (layer.qweight.length !== (ins / 8) * outs) throw new WeightFormatError(`${name}: qweight has ${layer.qweight.length} words, not [${ins / 8}, ${outs}]`);
    for (let i = 0; i < ins; i++) for (let j = 0; j < outs; j++) q[j * ins + i] = nibble(layer.qweight[(i >> 3) * outs + j], i & 7);
  } else {
    if (layer.qweight.length !== ins * (outs / 8)) throw new WeightFormatError(`${name}: qweight has ${layer.qweight.length} words, not [${ins}, ${outs / 8}]`);
    for (let i = 0; i < ins; i++) for (let j = 0; j < outs; j++) q[j * ins + i] = nibble(layer.qweight[i * (outs / 8) + (j >> 3)], awqNibble[j & 7]);
  }
  const zeros = new Uint8Array(groups * outs);
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < outs; j++) {
      const word = layer.qzeros[g * (outs / 8) + (j >> 3)];
      zeros[g * outs + j] = nibble(word, config.method === 'gptq' ? j & 7 : awqNibble[j & 7]) + config.zeroOffset;
    }
  }
  return { q, groupOf, groups, zeros, scales: layer.scales };
}

/** Reference dequantizer: the layer as HF's [outs, ins] f32 weight, value = (q − zero) · scale. */
export function dequantizeInt4(layer: Int4Layer, config: Int4Config, name = 'int4 layer'): Float32Array {
  const { q, groupOf, zeros, scales } = unpack(layer, config, name);
  const scaleValues = f16BitsToF32(scales);
  const { outs, ins } = layer;
  const out = new Float32Array(outs * ins);
  for (let j = 0; j < outs; j++) {
    for (let i = 0; i < ins; i++) {
      const at = groupOf[i] * outs + j;
      out[j * ins + i] = (q[j * ins + i] - zeros[at]) * scaleValues[at];
    }
  }
  return out;
}

/** The GPU format of a layer with `ins` inputs: q4g128 for groups of 128 that tile its rows, else q4. */
export function int4Format(config: Int4Config, ins: number): 'q4' | 'q4g128' {
  return config.groupSize === 128 && ins % 128 === 0 ? 'q4g128' : 'q4';
}

/** The layer in its GPU layout (int4Format's): the same values, each GPU group with its group's scale and zero. */
export function int4ToQ4(layer: Int4Layer, config: Int4Config, name = 'int4 layer'): PackedWeights {
  const { q, groupOf, zeros, scales } = unpack(layer, config, name);
  const { outs, ins } = layer;
  const format = int4Format(config, ins);
  const size = quantGroupSize(format);
  if (ins % size !== 0) throw new WeightFormatError(`${name}: ${ins} inputs are not whole groups of ${size}`);
  const runs = ins / size;
  for (let r = 0; r < runs; r++) {
    const g = groupOf[r * size];
    for (let i = r * size; i < (r + 1) * size; i++) {
      if (groupOf[i] !== g) {
        throw new WeightFormatError(
          `${name}: g_idx puts inputs ${r * size}–${(r + 1) * size - 1} in different groups (an act-order/desc_act checkpoint): not supported, use one quantized without act-order`,
        );
      }
    }
  }
  const scaleBits = new Uint16Array(outs * runs);
  const zeroValues = new Float32Array(outs * runs);
  for (let j = 0; j < outs; j++) {
    for (let r = 0; r < runs; r++) {
      const at = groupOf[r * size] * outs + j;
      scaleBits[j * runs + r] = scales[at];
      zeroValues[j * runs + r] = zeros[at];
    }
  }
  return packQ4(q, scaleBits, f32ToF16Bits(zeroValues), format);
}

/** Rows [first, first + count) of a q4 or q4g128 matrix with rows of `ins` elements. */
export function q4Rows(packed: PackedWeights, ins: number, first: number, count: number): PackedWeights {
  const wordsPerRow = ins / 8;
  const groupsPerRow = ins / quantGroupSize(packed.format);
  return {
    format: packed.format,
    data: packed.data.slice(first * wordsPerRow, (first + count) * wordsPerRow),
    scales: packed.scales.slice(first * groupsPerRow, (first + count) * groupsPerRow),
  };
}

function words(bytes: Uint8Array): Uint32Array {
  return new Uint32Array(bytes.slice().buffer);
}

/**
 * The StoredTensor for `<prefix>.weight` of a GPTQ/AWQ layer. Its rows are columns of qweight on disk,
 * so it is read whole (minReadRows = outs): the largest layer's packed bytes in JS memory at a time.
 */
export function int4Tensor(source: ModelFiles, prefix: string, tensors: Map<string, TensorInfo>, config: Int4Config): StoredTensor {
  const get = (suffix: string, dtypes: string[]): TensorInfo => {
    const info = tensors.get(`${prefix}.${suffix}`);
    if (!info) throw new WeightFormatError(`Tensor "${prefix}.${suffix}" is missing from this ${config.method.toUpperCase()} checkpoint`);
    if (!dtypes.includes(info.dtype)) throw new WeightFormatError(`Tensor "${info.name}" is ${info.dtype}, not ${dtypes.join(' or ')}`);
    return info;
  };
  const qweight = get('qweight', ['I32', 'U32']);
  const qzeros = get('qzeros', ['I32', 'U32']);
  const scales = get('scales', ['F16']);
  const gIdx = config.method === 'gptq' ? tensors.get(`${prefix}.g_idx`) : undefined;
  const outs = scales.shape[1];
  const ins = config.method === 'gptq' ? qweight.shape[0] * 8 : qweight.shape[0];
  const name = `${prefix}.weight`;
  let whole: PackedWeights | undefined;
  return {
    name,
    file: qweight.file,
    shape: [outs, ins],
    fileBytes: [qweight, qzeros, scales, gIdx].reduce((s, t) => s + (t ? t.end - t.begin : 0), 0),
    quantized: int4Format(config, ins),
    minReadRows: outs,
    async read(first, count) {
      if (!whole) {
        const layer: Int4Layer = {
          qweight: words(await readTensorBytes(source, qweight)),
          qzeros: words(await readTensorBytes(source, qzeros)),
          scales: new Uint16Array((await readTensorBytes(source, scales)).slice().buffer),
          gIdx: gIdx ? new Int32Array((await readTensorBytes(source, gIdx)).slice().buffer) : undefined,
          outs,
          ins,
        };
        whole = int4ToQ4(layer, config, name);
      }
      const rows = q4Rows(whole, ins, first, count);
      if (first + count >= outs) whole = undefined;
      return { kind: 'packed', packed: rows };
    },
  };
}
