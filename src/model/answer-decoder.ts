// One answer's decode loop on the query host: each step feeds ids (the question, then each chosen
// token) and returns the next id, chosen on the GPU (src/model/gpu-sampler.ts) so only the id comes
// back. Greedy answers are pipelined one token deep: once a step's forward pass and sampling are
// queued, the next step — which feeds the id the GPU has just chosen, read from the sampler's token
// buffer — is queued before that id is read back, so the CPU records token t+1 while the GPU computes
// token t. If the caller feeds anything else next (or ends the answer: end of sequence, a stop string,
// a cancel), the queued step is waited for and its KV row dropped, so the cache holds exactly what
// was fed. Sampled answers (temperature > 0) choose their id on the CPU from the GPU's candidates and
// cannot be queued ahead.
import type { Gpu } from '../gpu/gpu.ts';
import type { KvCache } from './kv-cache.ts';
import { GpuSampler } from './gpu-sampler.ts';
import type { SamplingOptions } from './sampling.ts';
import type { RemoteAttention, Transformer } from './transformer.ts';

export interface AnswerOptions {
  sampling: SamplingOptions;
  /** Ids that may be chosen: [0, vocab) (the tokenizer's, where the embedding is padded past it). */
  vocab: number;
  /** Every id already in the context, for the repetition penalty. */
  seen: readonly number[];
}

/** A step queued ahead: it fed `fed` (the id the previous step returned) at `position`. */
interface QueuedStep {
  fed: number;
  position: number;
  cacheRowsBefore: number;
}

export class AnswerDecoder {
  private readonly sampler: GpuSampler;
  private queued: QueuedStep | undefined;

  constructor(
    gpu: Gpu,
    private readonly transformer: Transformer,
    private readonly cache: KvCache,
    options: AnswerOptions,
  ) {
    this.sampler = new GpuSampler(gpu, options.sampling, options.vocab);
    this.sampler.observe(options.seen);
  }

  /** Feeds `ids` at positions firstPosition…, appending their KV; returns the id chosen after them. */
  async step(ids: readonly number[], firstPosition: number, remote?: RemoteAttention): Promise<number> {
    const queued = this.queued;
    this.queued = undefined;
    if (queued) {
      if (!remote && ids.length === 1 && ids[0] === queued.fed && firstPosition === queued.position) {
        // Already on the GPU: queue the step after it, then read its id.
        await this.queueNext(firstPosition + 1);
        return this.readChosen();
      }
      await this.drop(queued);
    }
    await this.transformer.forward({ ids, firstPosition, cache: this.cache, attention: { kind: 'causal' }, logits: 'last', remote, afterLogits: this.sample });
    // Queuing ahead feeds the id from the GPU: not to a model whose embedding is gathered on the CPU.
    if (this.sampler.pipelined && !remote && this.transformer.takesGpuTokens) await this.queueNext(firstPosition + ids.length);
    return this.readChosen();
  }

  /** Waits for a step queued ahead and drops its KV row; frees the sampler. */
  async end(): Promise<void> {
    const queued = this.queued;
    this.queued = undefined;
    try {
      if (queued) await this.drop(queued);
    } finally {
      this.sampler.destroy();
    }
  }

  private readonly sample = (encoder: GPUCommandEncoder, logits: { buffer: GPUBuffer }) => this.sampler.record(encoder, logits.buffer, 0);

  /** Queues the forward pass of the id the GPU chooses last, at `position`; its `fed` is filled in by readChosen. */
  private async queueNext(position: number): Promise<void> {
    const cacheRowsBefore = this.cache.length;
    await this.transformer.forward({ ids: [0], tokens: this.sampler.token, firstPosition: position, cache: this.cache, attention: { kind: 'causal' }, logits: 'last', afterLogits: this.sample });
    this.queued = { fed: -1, position, cacheRowsBefore };
  }

  /** The oldest pending choice; the step queued after it fed exactly that id. */
  private async readChosen(): Promise<number> {
    const id = await this.sampler.read();
    if (this.queued) this.queued.fed = id;
    return id;
  }

  private async drop(queued: QueuedStep): Promise<void> {
    await this.sampler.read();
    this.cache.truncate(queued.cacheRowsBefore);
  }
}
