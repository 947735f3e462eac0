// Next-token sampling on the GPU (shaders/sample_*.wgsl): the logits row stays on the GPU and only the
// chosen id (greedy) or C candidates (sampling) come back. The repetition penalty reads a seen-id bitset
// kept on the GPU. src/model/gpu-sampler.ts drives these and does the CPU side.
//
// Greedy, 2 dispatches: sample_scan (per workgroup best) → sample_reduce (argmax; marks the id seen,
// writes the token buffer and a result slot).
// Candidates, 3 + 2·passes dispatches (17 for 151,936 ids; the row is read by the scan, the gather and
// the histogram passes until the selection resolves, usually 2 or 3 of them): a radix select of
// the C best ids, ties to the lowest id, one 8-bit digit of the composite key (score key, id key) a pass:
// sample_scan (+ the first pass's histogram) → sample_reduce → sample_select → (sample_histogram →
// sample_select) per further digit, each doing nothing once resolved → sample_gather (candidates, the
// rest's softmax mass and best score) → sample_finish.
import type { Gpu, PipelineOptions } from '../gpu.ts';
import { uniformFields, type UniformLayout } from '../uniform-struct.ts';
import { reduceIncludes } from './reduce.ts';

/** Logits per workgroup of the scanning kernels (SAMPLE_SPAN in the shaders). */
const span = 4096;
/** u32 words of the readout before the candidates (READOUT_HEADER). */
export const readoutHeaderWords = 8;
/** Bytes of SampleState, ScanPartial, GatherPartial. */
const stateBytes = 48;
const scanPartialBytes = 16;
const gatherPartialBytes = 8;

/** Status words of the result slots and the readout (SAMPLE_OK, SAMPLE_NAN, SAMPLE_ALL_NEGATIVE_INFINITY). */
export const SampleStatus = { ok: 0, nan: 1, allNegativeInfinity: 2 } as const;

/** The kernels' uniform, `SampleParams` in shaders/sample_common.wgsl. */
const sampleParams = {
  vocab: 'u32',
  offset: 'u32', // first element of the logits row in the logits binding
  penalty: 'f32', // applied to seen ids with a negative logit (multiply)
  inverse_penalty: 'f32', // applied to seen ids with a logit ≥ 0 (multiply by f32(1 / penalty))
  inverse_temperature: 'f32',
  candidates: 'u32', // C: how many best ids the candidate selection keeps
  groups: 'u32', // workgroups of the scanning kernels, SAMPLE_SPAN elements each
  id_bits: 'u32', // bits of the id key: a multiple of 8, 2^id_bits ≥ vocab
  word: 'u32', // radix pass: 0 digits the score key, 1 the id key
  shift: 'u32', // radix pass: digit = (key >> shift) & 255
  slot: 'u32', // greedy: the result slot of this step
  mark: 'u32', // greedy: 1 → the chosen id marks itself seen and becomes the token
} as const satisfies UniformLayout;

/** One sample_* kernel, with the struct and the constants it shares with this file. */
function samplePipeline(gpu: Gpu, shader: string, includes?: PipelineOptions['includes']): GPUComputePipeline {
  const shared = {
    SAMPLE_SPAN: span,
    READOUT_HEADER: readoutHeaderWords,
    SAMPLE_OK: SampleStatus.ok,
    SAMPLE_NAN: SampleStatus.nan,
    SAMPLE_ALL_NEGATIVE_INFINITY: SampleStatus.allNegativeInfinity,
  };
  return gpu.pipeline(shader, { includes, structs: { SampleParams: sampleParams }, shared });
}

export interface SamplingBuffers {
  readonly vocab: number;
  readonly candidates: number;
  readonly groups: number;
  /** Bits of the id key: a multiple of 8 with 2^idBits ≥ vocab. */
  readonly idBits: number;
  /** Bit i of word i >> 5: id i counts for the repetition penalty. */
  readonly seen: GPUBuffer;
  /** u32: the chosen id (0xffffffff after a NaN or all −∞ in greedy mode). */
  readonly token: GPUBuffer;
  /** Greedy: [status, id or NaN index] per slot. */
  readonly results: GPUBuffer;
  /** Candidates: header (readoutHeaderWords), then `candidates` ids, then their logits (f32 bits). */
  readonly readout: GPUBuffer;
  readonly state: GPUBuffer;
  readonly scanPartials: GPUBuffer;
  readonly histograms: GPUBuffer;
  readonly gatherPartials: GPUBuffer;
}

export function createSamplingBuffers(gpu: Gpu, vocab: number, candidates: number, resultSlots: number): SamplingBuffers {
  if (!(vocab > 0 && vocab <= 2 ** 24)) throw new RangeError(`GPU sampling supports vocabularies of 1 to 2^24 ids, got ${vocab}`);
  if (!(candidates > 0 && Number.isInteger(candidates))) throw new RangeError(`bad candidate count ${candidates}`);
  const groups = Math.ceil(vocab / span);
  return {
    vocab,
    candidates,
    groups,
    idBits: 8 * Math.max(1, Math.ceil(Math.log2(vocab) / 8)),
    seen: gpu.buffer(Math.ceil(vocab / 32) * 4, 'sampling seen ids'),
    token: gpu.buffer(4, 'sampled token'),
    results: gpu.buffer(resultSlots * 8, 'sampling results'),
    readout: gpu.buffer((readoutHeaderWords + 2 * candidates) * 4, 'sampling candidates'),
    state: gpu.buffer(stateBytes, 'sampling state'),
    scanPartials: gpu.buffer(groups * scanPartialBytes, 'sampling scan partials'),
    histograms: gpu.buffer(groups * 256 * 4, 'sampling histograms'),
    gatherPartials: gpu.buffer(groups * gatherPartialBytes, 'sampling gather partials'),
  };
}

export function destroySamplingBuffers(b: SamplingBuffers): void {
  for (const buffer of [b.seen, b.token, b.results, b.readout, b.state, b.scanPartials, b.histograms, b.gatherPartials]) buffer.destroy();
}

/** One step's input: the logits row at `offset` (elements) of `logits`, and the scores' transformation. */
export interface SamplingStep {
  logits: GPUBuffer;
  offset: number;
  /** f32 values: negative seen logits × penalty, others × inversePenalty. */
  penalty: number;
  inversePenalty: number;
  /** 1 / temperature for the rest mass (any value in greedy mode). */
  inverseTemperature: number;
}

interface Pass {
  word: 0 | 1;
  shift: number;
  slot: number;
  mark: 0 | 1;
}

function params(gpu: Gpu, b: SamplingBuffers, step: SamplingStep, pass: Pass): GPUBuffer {
  return gpu.uniform(
    uniformFields(sampleParams, {
      vocab: b.vocab,
      offset: step.offset,
      penalty: step.penalty,
      inverse_penalty: step.inversePenalty,
      inverse_temperature: step.inverseTemperature,
      candidates: b.candidates,
      groups: b.groups,
      id_bits: b.idBits,
      word: pass.word,
      shift: pass.shift,
      slot: pass.slot,
      mark: pass.mark,
    }),
  );
}

function recordArgmax(gpu: Gpu, encoder: GPUCommandEncoder, b: SamplingBuffers, step: SamplingStep, pass: Pass): void {
  const uniform = params(gpu, b, step, pass);
  const includes = reduceIncludes(gpu);
  gpu.dispatch(encoder, samplePipeline(gpu, 'sample_scan', includes), [uniform, step.logits, b.seen, b.scanPartials, b.histograms], [b.groups]);
  gpu.dispatch(encoder, samplePipeline(gpu, 'sample_reduce', includes), [uniform, b.scanPartials, b.seen, b.state, b.results, b.token], [1]);
}

/**
 * Greedy: the argmax of the penalised row (lowest id on ties) goes to b.token and marks itself seen;
 * [status, id or NaN index] goes to result slot `slot`.
 */
export function recordGreedySample(gpu: Gpu, encoder: GPUCommandEncoder, b: SamplingBuffers, step: SamplingStep, slot: number): void {
  recordArgmax(gpu, encoder, b, step, { word: 0, shift: 0, slot, mark: 1 });
}

/**
 * Candidates: the C best ids of the penalised row (score, then lowest id) with their raw logits, and in
 * the header [status, NaN index, argmax, count, best score key among the others (0: none), their softmax
 * mass at the step's temperature, max score (f32 bits), 0]. Marks nothing seen.
 */
export function recordCandidateSample(gpu: Gpu, encoder: GPUCommandEncoder, b: SamplingBuffers, step: SamplingStep): void {
  const passes: Pass[] = [24, 16, 8, 0].map((shift) => ({ word: 0, shift, slot: 0, mark: 0 }));
  for (let shift = b.idBits - 8; shift >= 0; shift -= 8) passes.push({ word: 1, shift, slot: 0, mark: 0 });
  recordArgmax(gpu, encoder, b, step, passes[0]); // sample_scan also counts the first pass's digits
  const includes = reduceIncludes(gpu);
  passes.forEach((pass, i) => {
    const uniform = params(gpu, b, step, pass);
    if (i > 0) gpu.dispatch(encoder, samplePipeline(gpu, 'sample_histogram'), [uniform, step.logits, b.seen, b.state, b.histograms], [b.groups]);
    gpu.dispatch(encoder, samplePipeline(gpu, 'sample_select'), [uniform, b.histograms, b.state], [1]);
  });
  const uniform = params(gpu, b, step, passes[0]);
  gpu.dispatch(encoder, samplePipeline(gpu, 'sample_gather', includes), [uniform, step.logits, b.seen, b.state, b.readout, b.gatherPartials], [b.groups]);
  gpu.dispatch(encoder, samplePipeline(gpu, 'sample_finish', includes), [uniform, b.gatherPartials, b.state, b.readout], [1]);
}
