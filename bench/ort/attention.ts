// Our attention_prefill against onnxruntime-web's WebGPU GroupQueryAttention (com.microsoft), same
// shapes, same adapter, one page. ORT's WebGPU execution provider gets a GPUDevice made here, so its
// inputs are GPU buffers filled before the clock starts (q [T, heads, headDim] is ORT's query
// [1, T, heads·headDim], K/V likewise), and so its subgroups can be turned off: ORT 1.30's subgroup
// FlashAttention gives wrong outputs on SwiftShader (4-lane subgroups), so when the agreement check
// fails with subgroups ORT is run again on a device without them (its workgroup-memory path) and the
// failure is reported. Our attention kernels use no subgroups. Each run is timed from submission to
// queue.onSubmittedWorkDone(); ORT's includes session.run's own overhead (binding inputs, the seqlens_k
// upload, outputs from its buffer cache) and the present K/V cache GroupQueryAttention always writes.
// Reports through bench/browser/page.ts to bench/browser/run-page.ts.
import * as ort from 'onnxruntime-web/webgpu';
import ortWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import { Gpu } from '../../src/gpu/gpu.ts';
import type { AttentionShape } from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask } from '../../test/reference/attention.ts';
import { maxAbsDiff } from '../../test/support/random.ts';
import { ourSide } from './our-side.ts';
import { groupQueryAttentionModel } from './onnx-model.ts';
import { runBenchmarkPage } from '../browser/page.ts';
import { agrees, layouts, parseTileCandidates, tilesLabel, type AgreementRow, type HeadLayout, type OrtAttentionReport, type TileCandidate as Candidate, type TimingRow } from './report.ts';

/** ORT's own device on our adapter, with the adapter's limits, and its subgroups only when asked. */
interface OrtDevice {
  device: GPUDevice;
  subgroups: boolean;
  /** Labels of the shader modules created on it since the last reset. */
  programs: string[];
}

async function ortDevice(subgroups: boolean): Promise<OrtDevice> {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter for onnxruntime-web');
  const requiredLimits: Record<string, number> = {};
  for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage'] as const) {
    requiredLimits[name] = adapter.limits[name];
  }
  const requiredFeatures = [...adapter.features].filter((f) => subgroups || !f.includes('subgroup')) as GPUFeatureName[];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const programs: string[] = [];
  const create = device.createShaderModule.bind(device);
  device.createShaderModule = (descriptor) => {
    programs.push(descriptor.label || descriptor.code.split('\n', 1)[0]);
    return create(descriptor);
  };
  return { device, subgroups: device.features.has('subgroups'), programs };
}

interface Case {
  gpu: Gpu;
  ort: OrtDevice;
  layout: HeadLayout;
  /** Without tiles: each candidate's are added per run. */
  shape: AttentionShape;
  candidates: Candidate[];
  session: ort.InferenceSession;
}

interface Inputs {
  tokens: number;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  /** Ours: q, keys, values, o, lse; then ORT's q, keys, values. */
  buffers: GPUBuffer[];
  ours: (tiles: Candidate) => void;
  feeds: ort.InferenceSession.FeedsType;
}

async function openCase(gpu: Gpu, side: OrtDevice, layout: HeadLayout, candidates: Candidate[]): Promise<Case> {
  const shape: AttentionShape = { heads: layout.heads, kvHeads: layout.kvHeads, headDim: layout.headDim, scale: 1 / Math.sqrt(layout.headDim) };
  const session = await ort.InferenceSession.create(groupQueryAttentionModel(shape), {
    executionProviders: [{ name: 'webgpu', device: side.device }],
    preferredOutputLocation: 'gpu-buffer',
  });
  return { gpu, ort: side, layout, shape, candidates, session };
}

function ortUpload(device: GPUDevice, data: Float32Array): GPUBuffer {
  const buffer = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return buffer;
}

function inputs(c: Case, tokens: number, seed: number): Inputs {
  const { q, k, v, qWidth, kvWidth, buffers, ours } = ourSide(c.gpu, c.shape, tokens, seed);
  const [ortQ, ortK, ortV] = [q, k, v].map((data) => ortUpload(c.ort.device, data));
  const gpuTensor = (buffer: GPUBuffer, width: number) => ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: [1, tokens, width] });
  return {
    tokens,
    q,
    k,
    v,
    buffers: [...buffers, ortQ, ortK, ortV],
    ours,
    feeds: {
      query: gpuTensor(ortQ, qWidth),
      key: gpuTensor(ortK, kvWidth),
      value: gpuTensor(ortV, kvWidth),
      seqlens_k: new ort.Tensor('int32', Int32Array.of(tokens - 1), [1]),
      total_sequence_length: new ort.Tensor('int32', Int32Array.of(tokens), []),
    },
  };
}

async function timeOurs(c: Case, x: Inputs, tiles: Candidate): Promise<number> {
  const started = performance.now();
  x.ours(tiles);
  await c.gpu.finish();
  return performance.now() - started;
}

const readOurs = (c: Case, x: Inputs): Promise<Float32Array> => c.gpu.readF32(x.buffers[3]);

/** One session.run to completion on the GPU; returns its time and, when asked, its output. */
async function runOrt(c: Case, x: Inputs, read = false): Promise<{ ms: number; output?: Float32Array }> {
  const started = performance.now();
  const results = await c.session.run(x.feeds);
  await c.ort.device.queue.onSubmittedWorkDone();
  const ms = performance.now() - started;
  const output = read ? ((await results.output.getData()) as Float32Array) : undefined;
  for (const tensor of Object.values(results)) tensor.dispose();
  return { ms, output };
}

function release(x: Inputs): void {
  for (const buffer of x.buffers) buffer.destroy();
}

async function agreement(c: Case, tokens: number): Promise<AgreementRow> {
  const x = inputs(c, tokens, 7 * tokens + c.layout.headDim);
  try {
    const theirs = (await runOrt(c, x, true)).output!;
    const positions = Array.from({ length: tokens }, (_, t) => t);
    const want = attentionRef(c.shape, x.q, tokens, x.k, x.v, tokens, causalMask(positions, positions)).o;
    // Ours: the worst of the candidates.
    let oursVsReference = 0;
    let oursVsOrt = 0;
    for (const tiles of c.candidates) {
      x.ours(tiles);
      const ours = await readOurs(c, x);
      oursVsReference = Math.max(oursVsReference, maxAbsDiff(ours, want));
      oursVsOrt = Math.max(oursVsOrt, maxAbsDiff(ours, theirs));
    }
    return { layout: c.layout.name, tokens, ortSubgroups: c.ort.subgroups, oursVsReference, ortVsReference: maxAbsDiff(theirs, want), oursVsOrt };
  } finally {
    release(x);
  }
}

/** Fastest of `repeat` runs each after one untimed run (pipeline compilation), every candidate of ours
 *  then ORT's in each round, so that a load on the machine falls on all of them alike. One row per candidate. */
async function timing(c: Case, tokens: number, repeat: number): Promise<TimingRow[]> {
  const x = inputs(c, tokens, tokens);
  try {
    const oursMs = c.candidates.map(() => Infinity);
    let ortMs = Infinity;
    for (let r = 0; r <= repeat; r++) {
      for (const [i, tiles] of c.candidates.entries()) {
        const ours = await timeOurs(c, x, tiles);
        if (r > 0) oursMs[i] = Math.min(oursMs[i], ours);
      }
      const theirs = (await runOrt(c, x)).ms;
      if (r > 0) ortMs = Math.min(ortMs, theirs);
    }
    const theirs = (await runOrt(c, x, true)).output!;
    const rows: TimingRow[] = [];
    for (const [i, tiles] of c.candidates.entries()) {
      x.ours(tiles);
      const diff = maxAbsDiff(await readOurs(c, x), theirs);
      rows.push({ layout: c.layout.name, tokens, tiles: tilesLabel(tiles), oursMs: oursMs[i], ortMs, ratio: oursMs[i] / ortMs, maxAbsDiff: diff });
    }
    return rows;
  } finally {
    release(x);
  }
}

async function main(): Promise<OrtAttentionReport> {
  const params = new URLSearchParams(location.search);
  const quick = params.has('quick');
  const checkOnly = params.has('check');
  const lengths = params.get('lengths')?.split(',').map(Number) ?? (quick ? [256, 512] : undefined);
  // Tiles of our kernel, all timed in the same rounds.
  const candidates = parseTileCandidates(params.get('tiles') ?? undefined);
  const layoutNames = (params.get('layouts') ?? (quick ? 'qwen' : 'qwen,llama')).split(',') as Array<keyof typeof layouts>;
  const repeat = Number(params.get('repeat') ?? (quick ? 2 : 3));

  // The .wasm comes from this server (node_modules through Vite), never from a CDN. One thread: the
  // page is not cross-origin isolated, and ORT's CPU side only dispatches here.
  ort.env.wasm.wasmPaths = { wasm: ortWasm };
  ort.env.wasm.numThreads = 1;
  const gpu = await Gpu.create();
  const info = (await navigator.gpu.requestAdapter())?.info;
  let side = await ortDevice(true);
  const report: OrtAttentionReport = {
    ortVersion: ort.env.versions.web ?? 'unknown',
    adapter: gpu.adapter.description,
    tiles: candidates.map(tilesLabel),
    subgroupSizes: info?.subgroupMinSize === undefined ? undefined : { min: info.subgroupMinSize, max: info.subgroupMaxSize ?? 0 },
    ort: {},
    repeat,
    agreement: [],
    subgroupFailures: [],
    timings: [],
  };
  try {
    for (const name of layoutNames) {
      const layout = layouts[name];
      if (!layout) throw new Error(`unknown layout "${name}" (known: ${Object.keys(layouts).join(', ')})`);
      // Small enough for the double-precision reference, and not a multiple of any tile.
      const checkTokens = layout.headDim <= 64 ? 37 : 35;
      side.programs.length = 0;
      let c = await openCase(gpu, side, layout, candidates);
      let check = await agreement(c, checkTokens);
      if (!agrees(check) && side.subgroups) {
        report.subgroupFailures.push(check);
        console.log(`ORT with subgroups disagrees: ${JSON.stringify(check)}; again without subgroups`);
        await c.session.release();
        side = await ortDevice(false);
        c = await openCase(gpu, side, layout, candidates);
        check = await agreement(c, checkTokens);
      }
      report.agreement.push(check);
      report.ort[layout.name] = { subgroups: side.subgroups, programs: [...side.programs] };
      console.log(`agreement ${JSON.stringify(check)}`);
      try {
        // Timings of outputs that disagree would mean nothing; the report says why there are none.
        if (checkOnly || !agrees(check)) continue;
        for (const tokens of lengths ?? layout.lengths) {
          for (const row of await timing(c, tokens, repeat)) {
            report.timings.push(row);
            console.log(`${layout.name} T=${tokens} tiles ${row.tiles}: ours ${row.oursMs.toFixed(1)} ms, ORT ${row.ortMs.toFixed(1)} ms, ours/ORT ${row.ratio.toFixed(2)}, max |diff| ${row.maxAbsDiff.toExponential(1)}`);
          }
        }
      } finally {
        await c.session.release();
      }
    }
  } finally {
    gpu.destroy();
  }
  return report;
}

runBenchmarkPage(main, (report) => JSON.stringify(report, null, 2));
