// Speed and time left for progress bars, from a short sliding window so a stall shows quickly.
import type { LoadBar } from '../star/reader-api.ts';

export interface RateProgress {
  done: number;
  total: number;
  /** Units per second over the last few seconds; undefined until two samples exist. */
  perSecond?: number;
  /** Undefined while the speed is unknown or zero. */
  msLeft?: number;
  /** What is being worked on (a file or tensor name), when the engine says. */
  current?: string;
}

export class RateMeter {
  private samples: Array<{ t: number; value: number }> = [];

  constructor(private readonly windowMs = 3000) {}

  /** Records `done` at time `t` (ms) and returns the progress to show. */
  sample(done: number, total: number, t: number): RateProgress {
    this.samples.push({ t, value: done });
    while (this.samples.length > 2 && t - this.samples[1].t >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const span = t - first.t;
    const perSecond = span > 0 ? ((done - first.value) * 1000) / span : undefined;
    return { done, total, perSecond, msLeft: timeLeft(done, total, perSecond) };
  }
}

export function timeLeft(done: number, total: number, perSecond: number | undefined): number | undefined {
  if (!perSecond || perSecond <= 0 || total <= 0) return undefined;
  return (Math.max(0, total - done) * 1000) / perSecond;
}

/** The model's loading bar: downloading its files, then placing its weights on the GPU. */
export interface LoadingProgress extends RateProgress {
  phase: LoadBar['phase'];
}

export function loadLabel(progress: LoadingProgress): string {
  return progress.phase === 'place' ? 'Placing the weights on the GPU' : 'Model download';
}
