// The speed benchmark of Star Attention against full attention, wherever it runs: the CLI's `bench` (Dawn
// in Node), the same benchmark in a browser page (bench/browser/speed.ts) and the app's speedup demo
// (the reader over prefixes of the user's document). Each gives a subject; this module owns the plan,
// the measuring loop, the rows with their ratios (taken within one run), the theoretical attention
// FLOPs of each mode and the markdown table. No DOM, no Node.
import { attentionFlops, planBlocks, type AttentionLayout, type BlockPlan } from '../star/block-planner.ts';
import type { StarEngine } from '../star/star-engine.ts';
import type { AttentionMode, EncodeStats } from '../star/reader-api.ts';

/** Full attention's FLOPs over `mode`'s on the same plan: the layout cancels out. */
export function flopsRatio(plan: BlockPlan, mode: AttentionMode): number {
  const unit = { heads: 1, headDim: 1, layers: 1 };
  return attentionFlops(plan, 'full', unit) / attentionFlops(plan, mode, unit);
}

export interface SpeedConfig {
  attention: AttentionMode;
  /** Hosts to spread star's blocks over; full attention runs on one. */
  hosts: number;
  /** Star's block size: this many tokens, or the context over this divisor (at least minDividedBlock), or the planner's choice. */
  blockSize?: number;
  blockDivisor?: number;
}

/** The smallest block a divisor gives (`--block-divisors` says so): a short context is not cut into slivers. */
export const minDividedBlock = 128;

/** The block size to ask for at `tokens`, or undefined for full attention and the planner's default. */
export function blockSizeFor(config: SpeedConfig, tokens: number): number | undefined {
  if (config.attention === 'full') return undefined;
  if (config.blockDivisor) return Math.max(minDividedBlock, Math.ceil(tokens / config.blockDivisor));
  return config.blockSize;
}

export const configKey = (c: SpeedConfig) => `${c.attention}:${c.hosts}:${c.blockSize ?? ''}:${c.blockDivisor ?? ''}`;

export function configLabel(c: SpeedConfig): string {
  if (c.attention === 'full') return 'Full';
  const block = c.blockDivisor ? ` b=n/${c.blockDivisor}` : c.blockSize ? ` b=${c.blockSize}` : '';
  return `Star${block}${c.hosts > 1 ? ` × ${c.hosts} hosts` : ''}`;
}

export interface SpeedPlan {
  /** Context lengths in tokens, measured in ascending order. */
  lengths: number[];
  /**
   * Full attention (the baseline every ratio is taken against) is measured first at each length; a
   * plan without it (star only: full attention at 64K+ tokens takes minutes) has rows without ratios.
   */
  configs: SpeedConfig[];
  /** Encodes per measurement: the fastest is kept. */
  repeats: number;
  /**
   * Encodes (and decodes a token) at the shortest length (at most maxWarmUpTokens) first, untimed, so
   * shader compilation is not charged to a row.
   */
  warmUp: boolean;
  /** Tokens decoded after each measurement (0: none). */
  decodeTokens: number;
  /** Also time one layer's attention kernels alone, when the subject can. */
  kernels: boolean;
}

/**
 * The warm-up's longest encode. Pipelines depend on the model's shapes, not on the context's length,
 * and at 16K tokens blocks of n/4 to n/16 are already longer than a forward piece (512 rows), the path
 * longer contexts take; a warm-up at 64K or 128K tokens would cost as much as the row it precedes.
 */
export const maxWarmUpTokens = 16384;

/** The CLI's and the browser page's choices. */
export interface BenchOptions {
  /** Full attention (the baseline), Star Attention, or both. */
  modes: AttentionMode[];
  lengths: number[];
  blockDivisors: number[];
  hosts: number[];
  decode: number;
  repeat: number;
}

/** The options as typed (comma-separated lists); `quick` replaces lengths and divisors. */
export interface BenchArguments {
  modes?: string;
  lengths?: string;
  blockDivisors?: string;
  hosts?: string;
  decode?: number;
  repeat?: number;
  quick?: boolean;
}

export const benchDefaults = { modes: 'full,star', lengths: '1024,2048,4096,8192', blockDivisors: '4,8', hosts: '1', decode: 8, repeat: 1 };

/** `quick`: two lengths, one divisor; SwiftShader (Chromium's CPU WebGPU) is several times slower than lavapipe, so shorter there. */
export const quickLengths = { node: [1024, 2048], browser: [256, 512] };

export function benchOptions(a: BenchArguments, platform: 'node' | 'browser'): BenchOptions {
  const count = (name: string, n: number, min: number) => {
    if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${n}`);
    return n;
  };
  return {
    modes: parseModes(a.modes ?? benchDefaults.modes),
    lengths: a.quick ? quickLengths[platform] : parseCounts(a.lengths ?? benchDefaults.lengths),
    blockDivisors: a.quick ? [4] : parseCounts(a.blockDivisors ?? benchDefaults.blockDivisors),
    hosts: parseCounts(a.hosts ?? benchDefaults.hosts),
    decode: count('decode', a.decode ?? benchDefaults.decode, 0),
    repeat: count('repeat', a.repeat ?? benchDefaults.repeat, 1),
  };
}

/**
 * Full attention, then star with each block divisor on each host count (either one left out when
 * `modes` does not name it). The attention kernels alone are timed only with both: each kernel row
 * is full against star.
 */
export function benchPlan(o: BenchOptions): SpeedPlan {
  const full: SpeedConfig[] = o.modes.includes('full') ? [{ attention: 'full', hosts: 1 }] : [];
  const star = o.modes.includes('star') ? o.blockDivisors.flatMap((d) => o.hosts.map((h): SpeedConfig => ({ attention: 'star', hosts: h, blockDivisor: d }))) : [];
  const kernels = full.length > 0 && star.length > 0;
  return { lengths: o.lengths, configs: [...full, ...star], repeats: o.repeat, warmUp: true, decodeTokens: o.decode, kernels };
}

const attentionModes: readonly AttentionMode[] = ['full', 'star'];

/** A comma-separated list of attention modes (full, star), at least one, each once. */
export function parseModes(text: string): AttentionMode[] {
  const modes = text.split(',').map((s) => s.trim().toLowerCase());
  for (const mode of modes) {
    if (!(attentionModes as readonly string[]).includes(mode)) throw new Error(`"${mode}" is not an attention mode: use full, star or full,star`);
  }
  return attentionModes.filter((m) => modes.includes(m));
}

/** A comma-separated list of positive integers. */
export function parseCounts(text: string): number[] {
  return text.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n <= 0) throw new Error(`"${s}" is not a positive integer`);
    return n;
  });
}

export interface MeasureContext {
  config: SpeedConfig;
  length: number;
  warmUp: boolean;
  signal?: AbortSignal;
}

/** Something loaded that can encode (and decode) with the configurations it was opened for. */
export interface SpeedSession {
  /** The model's layout, when known: rows then carry absolute FLOPs (their ratio needs no layout). */
  readonly layout?: AttentionLayout;
  readonly adapter?: string;
  /** The device's limits (maxBufferSize, maxStorageBufferBindingSize, …), when known: what bounds a long context's buffers. */
  readonly limits?: Record<string, number>;
  /** The longest context the model takes (its positions, less the question's), when known. */
  readonly maxContextTokens?: number;
  /** Phase 1 over `length` tokens with the context's config. */
  encode(length: number, context: MeasureContext): Promise<EncodeStats>;
  /** Generates `tokens` after the last encode: tokens per second, or undefined when this subject does not decode here. */
  decode?(tokens: number, context: MeasureContext): Promise<number | undefined>;
  close(): Promise<void>;
}

/** Times one layer's attention kernels alone: one run of full attention over `tokens`, or of star's with `blockSize`. */
export interface KernelTimer {
  time(tokens: number, blockSize?: number): Promise<number>;
  close(): void;
}

export interface SpeedSubject {
  /** 'shared': one session runs every configuration, interleaved length by length; 'per-config': one session each, in turn. */
  sessions: 'shared' | 'per-config';
  open(configs: readonly SpeedConfig[], signal?: AbortSignal): Promise<SpeedSession>;
  openKernelTimer?(layout: AttentionLayout): Promise<KernelTimer>;
}

export interface SpeedRow {
  config: SpeedConfig;
  /** The length asked for; stats.tokens is what was encoded (a prefix of a text may come out shorter). */
  length: number;
  /** The fastest repeat's. */
  stats: EncodeStats;
  /** Full attention's encode time over this one's, at this length in this run (1 for full). */
  measuredRatio?: number;
  /** Theoretical: full attention's FLOPs over this plan's. */
  flopsRatio: number;
  /** Theoretical phase-1 attention FLOPs of this plan and of full attention, when the layout is known. */
  attentionFlops?: number;
  fullAttentionFlops?: number;
  decodeTokensPerSecond?: number;
}

export interface KernelRow {
  tokens: number;
  blockSize: number;
  fullMs: number;
  starMs: number;
  measuredRatio: number;
  flopsRatio: number;
}

export type SpeedEvent =
  | { type: 'row'; row: SpeedRow }
  /** The row again, with its decode speed. */
  | { type: 'decoded'; row: SpeedRow }
  | { type: 'kernel'; row: KernelRow };

export interface SpeedResult {
  rows: SpeedRow[];
  kernels: KernelRow[];
  layout?: AttentionLayout;
  adapter?: string;
  limits?: Record<string, number>;
}

/** The plan a row's stats were encoded with (anchor = block, the default). */
export function planOf(stats: EncodeStats): BlockPlan {
  return planBlocks(stats.tokens, { blockSize: stats.blockSize, hosts: stats.hosts });
}

export async function runSpeedBench(
  subject: SpeedSubject,
  plan: SpeedPlan,
  options: { signal?: AbortSignal; onEvent?: (event: SpeedEvent) => void } = {},
): Promise<SpeedResult> {
  const { signal, onEvent } = options;
  const lengths = [...new Set(plan.lengths)].sort((a, b) => a - b);
  const configs = [...plan.configs].sort((a, b) => Number(b.attention === 'full') - Number(a.attention === 'full'));
  const groups = subject.sessions === 'shared' ? [configs] : configs.map((c) => [c]);
  const result: SpeedResult = { rows: [], kernels: [] };
  if (lengths.length === 0 || configs.length === 0) return result;
  const warmUpLength = Math.min(lengths[0], maxWarmUpTokens);

  for (const group of groups) {
    signal?.throwIfAborted();
    const session = await subject.open(group, signal);
    result.layout ??= session.layout;
    result.adapter ??= session.adapter;
    result.limits ??= session.limits;
    try {
      checkLengths(lengths, session.maxContextTokens);
      if (plan.warmUp) {
        for (const config of group) {
          const context = { config, length: warmUpLength, warmUp: true, signal };
          await session.encode(warmUpLength, context);
          if (plan.decodeTokens > 0) await session.decode?.(1, context);
        }
      }
      for (const length of lengths) {
        for (const config of group) {
          signal?.throwIfAborted();
          const context = { config, length, warmUp: false, signal };
          let best: EncodeStats | undefined;
          for (let r = 0; r < Math.max(1, plan.repeats); r++) {
            const stats = await session.encode(length, context);
            if (!best || stats.encodeMs < best.encodeMs) best = stats;
          }
          const row = speedRow(config, length, best!, result.rows, session.layout);
          result.rows.push(row);
          onEvent?.({ type: 'row', row });
          if (plan.decodeTokens > 0 && session.decode) {
            const decodeTokensPerSecond = await session.decode(plan.decodeTokens, context);
            if (decodeTokensPerSecond !== undefined) {
              const decoded = { ...row, decodeTokensPerSecond };
              result.rows[result.rows.indexOf(row)] = decoded;
              onEvent?.({ type: 'decoded', row: decoded });
            }
          }
        }
      }
    } finally {
      await session.close();
    }
  }

  if (plan.kernels && subject.openKernelTimer && result.layout) {
    result.kernels = await timeKernels(subject.openKernelTimer, result.layout, lengths, configs, plan, (row) => onEvent?.({ type: 'kernel', row }), signal);
  }
  return result;
}

/** Refuses, before anything is timed, lengths that the model's window would refuse only when their turn comes. */
function checkLengths(lengths: readonly number[], maxContextTokens: number | undefined): void {
  const tooLong = lengths.filter((n) => maxContextTokens !== undefined && n > maxContextTokens);
  if (tooLong.length > 0) {
    throw new Error(
      `Context length ${tooLong.join(', ')} is past the model's longest context, ${maxContextTokens} tokens ` +
        '(max_position_embeddings less one position for the question): use shorter lengths or a model with a longer window',
    );
  }
}

function speedRow(config: SpeedConfig, length: number, stats: EncodeStats, earlier: readonly SpeedRow[], layout?: AttentionLayout): SpeedRow {
  const blocks = planOf(stats);
  const full = config.attention === 'full' ? stats : earlier.find((r) => r.length === length && r.config.attention === 'full')?.stats;
  return {
    config,
    length,
    stats,
    measuredRatio: full ? full.encodeMs / stats.encodeMs : undefined,
    flopsRatio: flopsRatio(blocks, stats.attention),
    attentionFlops: layout && attentionFlops(blocks, stats.attention, layout),
    fullAttentionFlops: layout && attentionFlops(blocks, 'full', layout),
  };
}

async function timeKernels(
  open: NonNullable<SpeedSubject['openKernelTimer']>,
  layout: AttentionLayout,
  lengths: number[],
  configs: SpeedConfig[],
  plan: SpeedPlan,
  report: (row: KernelRow) => void,
  signal?: AbortSignal,
): Promise<KernelRow[]> {
  const timer = await open(layout);
  const rows: KernelRow[] = [];
  // The first run of each compiles its pipelines and is not counted.
  const fastest = async (tokens: number, blockSize?: number) => {
    let best = Infinity;
    for (let r = 0; r <= Math.max(1, plan.repeats); r++) {
      signal?.throwIfAborted();
      const ms = await timer.time(tokens, blockSize);
      if (r > 0) best = Math.min(best, ms);
    }
    return best;
  };
  try {
    for (const tokens of lengths) {
      const blockSizes = [...new Set(configs.map((c) => blockSizeFor(c, tokens)).filter((b): b is number => b !== undefined && b < tokens))];
      if (blockSizes.length === 0) continue;
      const fullMs = await fastest(tokens);
      for (const blockSize of blockSizes) {
        const starMs = await fastest(tokens, blockSize);
        const row = { tokens, blockSize, fullMs, starMs, measuredRatio: fullMs / starMs, flopsRatio: flopsRatio(planBlocks(tokens, { blockSize }), 'star') };
        rows.push(row);
        report(row);
      }
    }
  } finally {
    timer.close();
  }
  return rows;
}

/** Token ids the engine subject encodes: a fixed spread over the vocabulary, past the special ids. */
function syntheticIds(n: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % (vocab - 3)));
}

/** The engine on token ids, every configuration on one engine with as many hosts as the largest asks for. */
export function engineSubject(
  openEngine: (hosts: number) => Promise<StarEngine>,
  openKernelTimer?: SpeedSubject['openKernelTimer'],
): SpeedSubject {
  return {
    sessions: 'shared',
    openKernelTimer,
    async open(configs) {
      const engine = await openEngine(Math.max(...configs.map((c) => c.hosts)));
      const { config: model, adapter } = engine.info;
      return {
        layout: model,
        adapter: adapter.description,
        limits: adapter.limits,
        maxContextTokens: engine.contextWindow - 1,
        encode: (length, { config, signal }) =>
          engine.encode(syntheticIds(length, model.vocab), { attention: config.attention, blockSize: blockSizeFor(config, length), hosts: config.hosts, signal }),
        async decode(tokens) {
          const started = performance.now();
          for (let t = 0; t < tokens; t++) await engine.feed([3 + t]);
          return tokens / ((performance.now() - started) / 1000);
        },
        close: () => engine.dispose(),
      };
    },
  };
}

/** One line of progress for a log. */
export function describeSpeedEvent(event: SpeedEvent): string {
  const ratio = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
  if (event.type === 'kernel') {
    const k = event.row;
    return `kernels n=${k.tokens} b=${k.blockSize}: full ${k.fullMs.toFixed(1)} ms, star ${k.starMs.toFixed(1)} ms: ${ratio(k.measuredRatio)} (FLOPs ${ratio(k.flopsRatio)})`;
  }
  const { row } = event;
  if (event.type === 'decoded') return `  decode ${row.decodeTokensPerSecond?.toFixed(1)} tok/s`;
  const s = row.stats;
  const measured = row.measuredRatio === undefined ? '' : `, full / this ${ratio(row.measuredRatio)}`;
  return `${configLabel(row.config)} n=${s.tokens} b=${s.blockSize}: ${s.encodeMs.toFixed(0)} ms${measured} (FLOPs ${ratio(row.flopsRatio)})`;
}

export interface SpeedReport extends SpeedResult {
  date: string;
  adapter: string;
  model: string;
  /** 'node' (Dawn) or 'browser'. */
  platform: string;
  plan: SpeedPlan;
}

export function speedReport(result: SpeedResult, plan: SpeedPlan, model: string, platform: string): SpeedReport {
  return { date: new Date().toISOString(), adapter: result.adapter ?? 'unknown adapter', model, platform, plan, ...result };
}

const times = (x: number | undefined) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
const gflop = (x: number | undefined) => (x === undefined ? '—' : (x / 1e9).toFixed(2));

/** The limits that bound a long context's buffers, as the report's markdown names them. */
const reportedLimits = ['maxBufferSize', 'maxStorageBufferBindingSize'];

export function formatSpeedMarkdown(report: SpeedReport): string {
  const layers = report.layout ? `, ${report.layout.layers} layers` : '';
  const limits = reportedLimits.flatMap((name) => (report.limits?.[name] === undefined ? [] : [`${name} ${report.limits[name]}`]));
  // Without full attention in the run (star only), no row has a measured ratio: that column goes.
  const measured = report.rows.some((row) => row.measuredRatio !== undefined);
  const lines = [
    `Measured ${report.date.slice(0, 10)} on ${report.adapter} (${report.platform}); model: ${report.model}${layers}.`,
    ...(limits.length ? ['', `Device limits: ${limits.join(', ')} bytes.`] : []),
    '',
    measured ? '### Phase 1 (whole model), star vs full from the same run' : '### Phase 1 (whole model), Star Attention only (full attention not run)',
    '',
    measured
      ? 'Measured: full attention\'s encode time over this one\'s. Theoretical: attention FLOPs (QKᵀ and PV, every head and layer) counted from the block plan.'
      : 'Theoretical: attention FLOPs (QKᵀ and PV, every head and layer) counted from the block plan, full attention\'s over this one\'s.',
    '',
    `| context | mode | block | hosts | encode ms |${measured ? ' full / this (measured) |' : ''} attention FLOPs full / this | attention GFLOP | decode tok/s |`,
    `|---|---|---|---|---|${measured ? '---|' : ''}---|---|---|`,
  ];
  for (const row of report.rows) {
    const s = row.stats;
    lines.push(
      `| ${s.tokens} | ${s.attention} | ${s.blockSize} | ${s.hosts} | ${s.encodeMs.toFixed(0)} |${measured ? ` ${times(row.measuredRatio)} |` : ''} ${times(row.flopsRatio)} | ` +
        `${gflop(row.attentionFlops)} | ${row.decodeTokensPerSecond === undefined ? '—' : row.decodeTokensPerSecond.toFixed(1)} |`,
    );
  }
  if (report.kernels.length > 0) {
    lines.push(
      '',
      '### Attention kernels alone (one layer): full / star measured against the FLOPs ratio',
      '',
      '| context | block | full ms | star ms | full / star (measured) | attention FLOPs full / star | measured / FLOPs ratio |',
      '|---|---|---|---|---|---|---|',
    );
    for (const k of report.kernels) {
      lines.push(
        `| ${k.tokens} | ${k.blockSize} | ${k.fullMs.toFixed(1)} | ${k.starMs.toFixed(1)} | ${times(k.measuredRatio)} | ${times(k.flopsRatio)} | ${((100 * k.measuredRatio) / k.flopsRatio).toFixed(0)}% |`,
      );
    }
  }
  return lines.join('\n') + '\n';
}
