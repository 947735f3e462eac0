// The tensor-core flash tile: when it can be chosen (only where the device has the subgroup matrices it
// is written for, and for now only when asked for: it has not yet run on such a GPU). Its logic is
// checked against the double-precision reference by bench/attention-tensor-cores.ts, with the real
// fragments on a GPU that has them or, `--emulated`, with shaders/flash_fragments_emulated.wgsl on any
// adapter: minutes of lavapipe compilation a case, too long for CI but for one: head dim 32 with 4
// subgroups (the default tile's rows) and 16 keys, the size lavapipe's workgroup memory holds (about 20 s).
import { describe, expect, it } from 'vitest';
import { create } from 'webgpu';
import { subgroupMatrixFeature } from '../../src/gpu/device.ts';
import { composeShader } from '../../src/gpu/shader-compose.ts';
import { shaderSource } from '../../src/gpu/shader-source.node.ts';
import { kvTypes } from '../../src/gpu/kernels/kv-store.ts';
import {
  attentionPrefill,
  choosePrefillKernel,
  hasTensorCoreAttention,
  tensorCoreTileOptions,
  type AttentionShape,
  type PrefillShader,
} from '../../src/gpu/kernels/attention.ts';
import type { TensorCoreDevice } from '../../src/gpu/kernels/tensor-cores.ts';
import { testGpu } from '../support/gpu.ts';
import { attentionOutput, attentionShape, otherTiles, testKv, testQuery } from './attention-fixture.ts';
import { checkTensorCoreCase, tensorCoreCases } from './attention-tensor-core-cases.ts';

/** A device as the H200 reports itself (bench/results/h200-prefill-kernels.md), with changes. */
function device(changes: { feature?: boolean; f16?: boolean; subgroups?: [number, number]; config?: [string, number]; storage?: number } = {}): TensorCoreDevice {
  const { feature = true, f16 = true, subgroups = [32, 32], config = ['f16', 16], storage = 49152 } = changes;
  const features = new Set<string>(feature ? [subgroupMatrixFeature, 'shader-f16', 'subgroups'] : ['shader-f16', 'subgroups']);
  return {
    device: { features, limits: { maxComputeWorkgroupStorageSize: storage } } as unknown as GPUDevice,
    adapter: {
      description: 'test',
      vendor: 'nvidia',
      architecture: '',
      isFallbackAdapter: false,
      runsOnCpu: false,
      subgroupSizes: { min: subgroups[0], max: subgroups[1] },
      features: [...features],
      limits: {},
      subgroupMatrixConfigs: [
        { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
        { componentType: config[0], resultComponentType: 'f32', M: 16, N: config[1], K: 16 },
      ],
    },
    hasF16: f16,
    hasSubgroups: true,
  };
}

describe('choosing the prefill kernel', () => {
  const shape = attentionShape(14, 2, 64);

  it('can take tensor cores for head dims 32, 64, 96 and 128 where the device has them, but keeps the f32 tile unless asked', () => {
    for (const headDim of [32, 64, 96, 128]) {
      expect(hasTensorCoreAttention(device(), attentionShape(4, 2, headDim))).toBe(true);
      expect(choosePrefillKernel(device(), attentionShape(4, 2, headDim)).kind).toBe('f32');
    }
  });

  it('keeps the f32 tile for other head dims, and on devices without the shape, f16, subgroups of 32 or the memory', () => {
    for (const headDim of [48, 80, 256]) expect(hasTensorCoreAttention(device(), attentionShape(4, 2, headDim))).toBe(false);
    const without = [
      device({ feature: false }),
      device({ f16: false }),
      device({ subgroups: [16, 32] }),
      device({ subgroups: [32, 64] }),
      device({ config: ['f16', 8] }),
      device({ config: ['u8', 16] }),
      device({ storage: 32768 }),
    ];
    for (const d of without) {
      expect(hasTensorCoreAttention(d, shape)).toBe(false);
      expect(choosePrefillKernel(d, shape)).toEqual({ kind: 'f32', tiles: { rows: 64, lanes: 1, keys: 16 } });
    }
  });

  it('follows the tiles asked for, and refuses tensor cores where they cannot run', () => {
    expect(choosePrefillKernel(device(), { ...shape, tiles: otherTiles })).toEqual({ kind: 'f32', tiles: otherTiles.prefill });
    const tiles = { subgroups: 2, keys: 16 } as const;
    expect(choosePrefillKernel(device(), { ...shape, tiles: { tensorCores: tiles } })).toEqual({ kind: 'tensor-cores', tiles });
    expect(() => choosePrefillKernel(device({ feature: false }), { ...shape, tiles: { tensorCores: tiles } })).toThrow(/subgroup matrices/);
    expect(() => choosePrefillKernel(device(), { ...attentionShape(4, 2, 80), tiles: { tensorCores: tiles } })).toThrow(/this one: 80/);
    expect(() => choosePrefillKernel(device(), { ...shape, tiles: { ...otherTiles, tensorCores: tiles } })).toThrow(/not several/);
  });

  it("uses this device's f32 tile or its shuffled variant (CI's adapters have no subgroup matrices), and says so when tensor cores are forced", async () => {
    const gpu = await testGpu();
    const has = gpu.device.features.has(subgroupMatrixFeature) && gpu.adapter.subgroupSizes.max === 32;
    expect(choosePrefillKernel(gpu, shape).kind).not.toBe('tensor-cores');
    if (!has) {
      const forced: AttentionShape = { ...shape, tiles: { tensorCores: { subgroups: 4, keys: 32 } } };
      const query = testQuery(gpu, forced, 4, 0, 1);
      const kv = testKv(gpu, forced, 4, 0, 2);
      expect(() => gpu.run((enc) => attentionPrefill(gpu, enc, forced, query.query, kv.span, attentionOutput(gpu, forced, 4)))).toThrow(/subgroup matrices/);
    }
  });
});

describe('the tensor-core tile with emulated fragments', () => {
  it('matches the reference with 4 subgroups: rows past the end, GQA, soft-capping, a partial last step', { timeout: 180_000 }, async () => {
    const gpu = await testGpu();
    const c = tensorCoreCases.find((c) => c.headDim === 32 && !c.star);
    if (!c) throw new Error('no head-dim-32 prefill case');
    const r = await checkTensorCoreCase(gpu, c, { subgroups: 4, keys: 16, emulated: true });
    expect(r.o).toBeLessThan(r.toleranceO);
    expect(r.lse).toBeLessThan(r.toleranceLse);
  });
});

// Dawn's instance for it lives as long as the worker, as gpuEntry's do.
const nullBackend = create(['backend=null', 'enable-dawn-features=allow_unsafe_apis']);

describe('the tensor-core tile on real subgroup matrices', () => {
  it("compiles, for prefill and block+anchor, f32 and f16 KV, on Dawn's null backend (every feature, runs nothing)", async () => {
    const adapter = await nullBackend.requestAdapter();
    if (!adapter) throw new Error("Dawn's null backend gave no adapter");
    const device = await adapter.requestDevice({ requiredFeatures: ['shader-f16', 'subgroups', subgroupMatrixFeature] });
    const shaders: PrefillShader[] = ['attention_prefill', 'attention_block_anchor'];
    for (const shader of shaders) {
      for (const kvType of kvTypes) {
        const options = tensorCoreTileOptions(shader, attentionShape(14, 2, 64), { subgroups: 4, keys: 32 }, kvType);
        const module = device.createShaderModule({ code: composeShader(shader, shaderSource, options) });
        const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
        expect(errors.map((m) => `${shader}, ${kvType} KV, line ${m.lineNum}: ${m.message}`)).toEqual([]);
      }
    }
    device.destroy();
    await device.lost;
  });
});
