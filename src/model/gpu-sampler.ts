// Next-token choice on the GPU: the logits row never leaves the GPU unless the candidates cannot settle
// the token. Same tokens as the CPU sampler (src/model/sampling.ts) for the same options and seed.
//
//   Greedy (temperature 0): argmax after the repetition penalty, all on the GPU; 8 bytes come back.
//   Sampling: the GPU picks the C best ids (penalised score, ties to the lower id) and the softmax mass
//   of the rest; the CPU finishes over those C (TokenChooser.fromCandidates: temperature, top-k, top-p,
//   the seeded draw) and, only when they cannot settle the token (plain temperature sampling, top-k > C,
//   a nucleus reaching past them), reads the whole row back (TokenChooser.fromLogits).
//
// The repetition penalty reads a seen-id bitset on the GPU: filled once by observe(prompt ids) (one
// upload), then each chosen id marks itself (greedy: in the kernel; sampling: read() writes its word).
//
// Decode loop (one GPU queue; `forward` records the model's pass for the id in sampler.token):
//
//   const sampler = new GpuSampler(gpu, options, vocab);
//   sampler.observe(allIdsSoFar);                        // document + question, once
//   // after the prompt's forward pass has been recorded into `encoder`:
//   sampler.record(encoder, logits.buffer, lastRowOffset); gpu.device.queue.submit([encoder.finish()]);
//   loop:
//     if (sampler.pipelined) {                          // greedy: the next step needs no CPU
//       encoder = …; embed(…, sampler.token, …); forward…; sampler.record(encoder, logits.buffer, 0); submit;
//       id = await sampler.read();                      // the step before it; up to `inFlight` ahead
//     } else {
//       id = await sampler.read();                      // writes sampler.token before it resolves
//       encoder = …; embed(…, sampler.token, …); forward…; sampler.record(encoder, logits.buffer, 0); submit;
//     }
//
// read() resolves to the steps' ids in the order they were recorded. In sampling mode the logits buffer
// must stay untouched until read() resolves (the fallback reads it), so only one step may be pending.
import type { Gpu, Recording } from '../gpu/gpu.ts';
import {
  createSamplingBuffers,
  destroySamplingBuffers,
  readoutHeaderWords,
  recordCandidateSample,
  recordGreedySample,
  SampleStatus,
  type SamplingBuffers,
  type SamplingStep,
} from '../gpu/kernels/sampling.ts';
import { planSampling, TokenChooser, type CandidateSet, type SamplingOptions } from './sampling.ts';

export interface GpuSamplerOptions {
  /** C: candidates the GPU keeps for the CPU's last step; top-k above it reads the whole row. */
  candidates?: number;
  /** Greedy steps that may be recorded before their read(). */
  inFlight?: number;
}

/** How each token was chosen, for tests and benchmarks. */
export interface GpuSamplerCounts {
  greedy: number;
  candidates: number;
  fullRow: number;
}

interface PendingStep {
  slot: number;
  logits: GPUBuffer;
  offset: number;
}

/** Greedy steps recorded once per logits buffer, row offset and result slot, then replayed (see Gpu.replay). */
type GreedyRecordings = WeakMap<GPUBuffer, Map<string, Recording>>;

export class GpuSampler {
  /** u32: the last chosen id, where the next forward pass's embedding reads it. */
  readonly token: GPUBuffer;
  /** Greedy: the GPU writes `token` itself, so the next step may be recorded before read(). */
  readonly pipelined: boolean;
  readonly counts: GpuSamplerCounts = { greedy: 0, candidates: 0, fullRow: 0 };
  private readonly chooser: TokenChooser;
  private readonly buffers: SamplingBuffers;
  private readonly inFlight: number;
  private readonly pending: PendingStep[] = [];
  private recorded = 0;
  private readonly greedyRecordings: GreedyRecordings = new WeakMap();
  /** Greedy: per result slot, the [status, id] copied out with the step's commands. */
  private readonly readbacks: GPUBuffer[];

  constructor(
    private readonly gpu: Gpu,
    options: SamplingOptions,
    vocabSize: number,
    { candidates = 256, inFlight = 4 }: GpuSamplerOptions = {},
  ) {
    const plan = planSampling(options, vocabSize);
    this.chooser = new TokenChooser(plan, options.seed);
    this.pipelined = plan.temperature === 0;
    this.inFlight = this.pipelined ? inFlight : 1;
    this.buffers = createSamplingBuffers(gpu, vocabSize, candidates, this.inFlight);
    this.token = this.buffers.token;
    this.readbacks = this.pipelined ? Array.from({ length: this.inFlight }, (_, slot) => gpu.readbackBuffer(8, `sampled id ${slot}`)) : [];
  }

  /** Marks ids for the repetition penalty (the prompt, once; or ids fed without this sampler): one upload. */
  observe(ids: readonly number[]): void {
    if (this.pending.length > 0) throw new Error('observe() while steps are pending: read them first');
    const seen = this.chooser.seen;
    let first = Infinity;
    let last = -1;
    for (const id of ids) {
      if (id < 0 || id >= seen.vocabSize) continue;
      seen.mark(id);
      first = Math.min(first, id >> 5);
      last = Math.max(last, id >> 5);
    }
    if (last >= 0) this.uploadSeenWords(first, last);
  }

  /** Records this step's sampling of the row at `offset` (elements) of `logits` into `encoder`. */
  record(encoder: GPUCommandEncoder, logits: GPUBuffer, offset = 0): void {
    if (this.pending.length >= this.inFlight) {
      throw new Error(`${this.pending.length} sampling steps already pending: read() before recording more`);
    }
    const plan = this.chooser.plan;
    const step: SamplingStep = {
      logits,
      offset,
      penalty: plan.penalty,
      inversePenalty: plan.inversePenalty,
      inverseTemperature: plan.temperature > 0 ? 1 / plan.temperature : 1,
    };
    const slot = this.recorded++ % this.inFlight;
    if (this.pipelined) this.recordGreedy(encoder, step, slot);
    else recordCandidateSample(this.gpu, encoder, this.buffers, step);
    this.pending.push({ slot, logits, offset });
  }

  /** The greedy step's commands (replayed after the first time for the same logits row and slot), and the copy of its result. */
  private recordGreedy(encoder: GPUCommandEncoder, step: SamplingStep, slot: number): void {
    let recordings = this.greedyRecordings.get(step.logits);
    if (!recordings) {
      recordings = new Map();
      this.greedyRecordings.set(step.logits, recordings);
    }
    const key = `${step.offset} ${slot}`;
    const recorded = recordings.get(key);
    if (recorded) {
      this.gpu.replay(encoder, recorded);
      return;
    }
    this.gpu.startRecording(encoder);
    recordGreedySample(this.gpu, encoder, this.buffers, step, slot);
    this.gpu.copy(encoder, this.buffers.results, slot * 8, this.readbacks[slot], 0, 8);
    recordings.set(key, this.gpu.stopRecording(encoder));
  }

  /** The id of the oldest recorded step not read yet (its commands must have been submitted). */
  async read(): Promise<number> {
    const step = this.pending[0];
    if (!step) throw new Error('read() without a recorded step');
    try {
      const id = this.pipelined ? await this.readGreedy(step) : await this.readSampled(step);
      this.chooser.seen.mark(id);
      return id;
    } finally {
      this.pending.shift();
    }
  }

  destroy(): void {
    destroySamplingBuffers(this.buffers);
    for (const buffer of this.readbacks) buffer.destroy();
  }

  private async readGreedy(step: PendingStep): Promise<number> {
    const [status, value] = new Uint32Array(await this.gpu.readBack(this.readbacks[step.slot], 8));
    throwOnStatus(status, value);
    this.counts.greedy++;
    return value;
  }

  private async readSampled(step: PendingStep): Promise<number> {
    const b = this.buffers;
    const readout = await this.gpu.read(b.readout);
    const header = new Uint32Array(readout, 0, readoutHeaderWords);
    const [status, nanIndex, , count, boundaryKey, restBits] = header;
    throwOnStatus(status, nanIndex);
    const expected = Math.min(b.candidates, b.vocab);
    if (count !== expected) throw new Error(`GPU sampling gathered ${count} candidates, expected ${expected}`);
    const candidates: CandidateSet = {
      ids: new Uint32Array(readout, readoutHeaderWords * 4, count),
      logits: new Float32Array(readout, (readoutHeaderWords + b.candidates) * 4, count),
      bestOther: boundaryKey === 0 ? -Infinity : scoreOfKey(boundaryKey),
      restMass: new Float32Array(Uint32Array.of(restBits).buffer)[0],
    };
    let id = this.chooser.fromCandidates(candidates);
    if (id === undefined) {
      const row = new Float32Array(await this.gpu.read(step.logits, b.vocab * 4, step.offset * 4));
      id = this.chooser.fromLogits(row);
      this.counts.fullRow++;
    } else {
      this.counts.candidates++;
    }
    // The GPU's copy of the id's bitset word is written here, with the token.
    this.chooser.seen.mark(id);
    this.uploadSeenWords(id >> 5, id >> 5);
    this.gpu.write(this.token, Uint32Array.of(id));
    return id;
  }

  /** Writes bitset words first..last (inclusive) from the chooser's seen flags. */
  private uploadSeenWords(first: number, last: number): void {
    const flags = this.chooser.seen.flags;
    const words = new Uint32Array(last - first + 1);
    for (let w = first; w <= last; w++) {
      let bits = 0;
      for (let bit = 0, id = w * 32; bit < 32 && id < flags.length; bit++, id++) if (flags[id] === 1) bits |= 1 << bit;
      words[w - first] = bits >>> 0;
    }
    this.gpu.write(this.buffers.seen, words, first * 4);
  }
}

function throwOnStatus(status: number, value: number): void {
  if (status === SampleStatus.nan) throw new Error(`logit ${value} is NaN`);
  if (status === SampleStatus.allNegativeInfinity) throw new Error('every logit is -Infinity');
  if (status !== SampleStatus.ok) throw new Error(`GPU sampling returned status ${status}`);
}

/** The f32 score of an order-preserving key (the inverse of sample_score_key). */
function scoreOfKey(key: number): number {
  const bits = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  return new Float32Array(Uint32Array.of(bits).buffer)[0];
}
