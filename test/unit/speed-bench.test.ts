import { describe, expect, it } from 'vitest';
import { attentionFlops, planBlocks, type AttentionLayout } from '../../src/star/block-planner.ts';
import {
  benchOptions,
  benchPlan,
  blockSizeFor,
  describeSpeedEvent,
  flopsRatio,
  formatSpeedMarkdown,
  maxWarmUpTokens,
  runSpeedBench,
  type MeasureContext,
  type SpeedConfig,
  type SpeedEvent,
  type SpeedPlan,
  type SpeedSubject,
} from '../../src/bench/speed-bench.ts';
import type { EncodeStats } from '../../src/star/reader-api.ts';

// 4·headDim·heads·layers FLOPs per query–key pair: 4·8·2·3.
const layout: AttentionLayout = { heads: 2, kvHeads: 1, headDim: 8, layers: 3 };
const perPair = 192;

describe('attentionFlops', () => {
  it('counts full attention as the causal triangle, QKᵀ and PV at 2 FLOPs per multiply-add', () => {
    // 12 tokens: 1 + 2 + … + 12 = 78 pairs.
    expect(attentionFlops(planBlocks(12), 'full', layout)).toBe(78 * perPair);
    expect(attentionFlops(planBlocks(1), 'full', { heads: 1, headDim: 1, layers: 1 })).toBe(4);
  });

  it('counts star as block 0 causal plus each later block over [anchor; block]', () => {
    // b = 4: block 0 has 10 pairs; blocks 1 and 2 each 4·4 anchor pairs + 10 causal ones.
    const plan = planBlocks(12, { blockSize: 4 });
    expect(attentionFlops(plan, 'star', layout)).toBe((10 + 26 + 26) * perPair);
    expect(flopsRatio(plan, 'star')).toBeCloseTo(78 / 62, 12);
    // A shorter last block (2 tokens): 2·4 anchor pairs + 3 causal ones.
    expect(attentionFlops(planBlocks(10, { blockSize: 4 }), 'star', layout)).toBe((10 + 26 + 11) * perPair);
    // A smaller anchor: 2 anchor keys for each later block.
    expect(attentionFlops(planBlocks(12, { blockSize: 4, anchorSize: 2 }), 'star', layout)).toBe((10 + 18 + 18) * perPair);
    // Hosts share the blocks, not the work.
    expect(attentionFlops(planBlocks(12, { blockSize: 4, hosts: 3 }), 'star', layout)).toBe(62 * perPair);
  });

  it('gives ratio 1 when b ≥ n (one block) and when the context is exactly two blocks', () => {
    for (const blockSize of [100, 128, 4096]) expect(flopsRatio(planBlocks(100, { blockSize }), 'star')).toBe(1);
    expect(flopsRatio(planBlocks(256, { blockSize: 128 }), 'star')).toBe(1);
    expect(flopsRatio(planBlocks(512, { blockSize: 128 }), 'full')).toBe(1);
    // 512·513/2 against 128·129/2 + 3·(128·128 + 128·129/2).
    expect(flopsRatio(planBlocks(512, { blockSize: 128 }), 'star')).toBeCloseTo(131328 / 82176, 12);
  });
});

describe('bench plan', () => {
  it('block sizes: a divisor of the context (at least 128), a fixed size, or the planner’s (undefined)', () => {
    expect(blockSizeFor({ attention: 'star', hosts: 1, blockDivisor: 4 }, 4096)).toBe(1024);
    expect(blockSizeFor({ attention: 'star', hosts: 1, blockDivisor: 4 }, 300)).toBe(128);
    expect(blockSizeFor({ attention: 'star', hosts: 1, blockDivisor: 3 }, 1000)).toBe(334);
    expect(blockSizeFor({ attention: 'star', hosts: 2, blockSize: 512 }, 4096)).toBe(512);
    expect(blockSizeFor({ attention: 'star', hosts: 1 }, 4096)).toBeUndefined();
    expect(blockSizeFor({ attention: 'full', hosts: 1, blockSize: 512 }, 4096)).toBeUndefined();
  });

  it('full, then star for each divisor on each host count; quick per platform; bad lists refused', () => {
    const plan = benchPlan(benchOptions({ lengths: '1024, 4096', blockDivisors: '4,8', hosts: '1,2' }, 'node'));
    expect(plan.lengths).toEqual([1024, 4096]);
    expect(plan.configs).toEqual([
      { attention: 'full', hosts: 1 },
      { attention: 'star', hosts: 1, blockDivisor: 4 },
      { attention: 'star', hosts: 2, blockDivisor: 4 },
      { attention: 'star', hosts: 1, blockDivisor: 8 },
      { attention: 'star', hosts: 2, blockDivisor: 8 },
    ]);
    expect(plan).toMatchObject({ repeats: 1, decodeTokens: 8, warmUp: true, kernels: true });
    expect(benchOptions({ quick: true, lengths: '99999' }, 'node')).toMatchObject({ lengths: [1024, 2048], blockDivisors: [4] });
    expect(benchOptions({ quick: true }, 'browser').lengths).toEqual([256, 512]);
    expect(() => benchOptions({ lengths: '1024,abc' }, 'node')).toThrow(/"abc" is not a positive integer/);
    expect(() => benchOptions({ repeat: 0 }, 'node')).toThrow(/repeat must be an integer ≥ 1/);
  });

  it('--modes: star alone has no full row and no kernel rows (each is full against star); full alone no star', () => {
    const starOnly = benchPlan(benchOptions({ modes: 'star', lengths: '65536,131072', blockDivisors: '16,32' }, 'node'));
    expect(starOnly.configs).toEqual([
      { attention: 'star', hosts: 1, blockDivisor: 16 },
      { attention: 'star', hosts: 1, blockDivisor: 32 },
    ]);
    expect(starOnly.kernels).toBe(false);
    expect(starOnly.lengths).toEqual([65536, 131072]);
    // b = n/16 at 64K and 128K: 16 whole blocks each.
    expect(starOnly.lengths.map((n) => blockSizeFor(starOnly.configs[0], n))).toEqual([4096, 8192]);
    expect(benchPlan(benchOptions({ modes: ' Full ' }, 'node'))).toMatchObject({ configs: [{ attention: 'full', hosts: 1 }], kernels: false });
    expect(benchOptions({ modes: 'star,full,star' }, 'node').modes).toEqual(['full', 'star']);
    expect(benchOptions({}, 'node').modes).toEqual(['full', 'star']);
    expect(() => benchOptions({ modes: 'star,flash' }, 'node')).toThrow('"flash" is not an attention mode: use full, star or full,star');
    expect(() => benchOptions({ modes: '' }, 'node')).toThrow('"" is not an attention mode');
  });
});

/** Stats as the engine would report them; encodeMs comes from the test. */
function statsFor(tokens: number, config: SpeedConfig, encodeMs: number): EncodeStats {
  const plan = planBlocks(tokens, { blockSize: config.attention === 'full' ? tokens : blockSizeFor(config, tokens), hosts: config.hosts });
  return {
    tokens,
    blocks: plan.blocks.length,
    blockSize: plan.blockSize,
    hosts: config.hosts,
    attention: config.attention,
    encodeMs,
    tokensPerSecond: tokens / (encodeMs / 1000),
    kvBytesPerHost: [],
    attentionPairs: 0,
    fullAttentionPairs: 0,
    attentionFlops: 0,
    fullAttentionFlops: 0,
  };
}

interface Call {
  what: 'open' | 'encode' | 'decode' | 'close';
  context?: MeasureContext;
  configs?: readonly SpeedConfig[];
}

/** A subject whose encode times come from `encodeMs(length, config, call)`; every call is recorded. */
function fakeSubject(
  sessions: SpeedSubject['sessions'],
  encodeMs: (length: number, config: SpeedConfig, call: number) => number,
  options: { layout?: AttentionLayout; maxContextTokens?: number; decode?: (context: MeasureContext) => number | undefined; kernelMs?: (tokens: number, blockSize?: number) => number } = {},
) {
  const calls: Call[] = [];
  let encodes = 0;
  const subject: SpeedSubject = {
    sessions,
    async open(configs) {
      calls.push({ what: 'open', configs });
      return {
        layout: options.layout,
        adapter: 'fake adapter',
        maxContextTokens: options.maxContextTokens,
        async encode(length, context) {
          calls.push({ what: 'encode', context });
          return statsFor(length, context.config, encodeMs(length, context.config, encodes++));
        },
        decode: options.decode
          ? async (_tokens, context) => {
              calls.push({ what: 'decode', context });
              return options.decode!(context);
            }
          : undefined,
        async close() {
          calls.push({ what: 'close' });
        },
      };
    },
    // Each kernel's first run (which the loop must drop) is impossibly fast, its second slow.
    openKernelTimer: options.kernelMs
      ? async () => {
          const runs = new Map<string, number>();
          return {
            async time(tokens, blockSize) {
              const key = `${tokens}:${blockSize}`;
              const run = runs.get(key) ?? 0;
              runs.set(key, run + 1);
              return run === 0 ? 0.001 : options.kernelMs!(tokens, blockSize) + (run === 1 ? 1000 : 0);
            },
            close() {},
          };
        }
      : undefined,
  };
  return { subject, calls };
}

const full: SpeedConfig = { attention: 'full', hosts: 1 };
const star: SpeedConfig = { attention: 'star', hosts: 1, blockDivisor: 4 };
const star2: SpeedConfig = { attention: 'star', hosts: 2, blockDivisor: 4 };
const plan = (p: Partial<SpeedPlan>): SpeedPlan => ({ lengths: [1024], configs: [full, star], repeats: 1, warmUp: false, decodeTokens: 0, kernels: false, ...p });

describe('runSpeedBench', () => {
  it('takes each ratio against full attention at the same length in the same run', async () => {
    // Full: n ms; star: n/2 ms at 1024, n/4 at 2048.
    const { subject } = fakeSubject('shared', (n, c) => (c.attention === 'full' ? n : n / (n === 1024 ? 2 : 4)), { layout });
    const { rows } = await runSpeedBench(subject, plan({ lengths: [2048, 1024] }));
    expect(rows.map((r) => [r.length, r.config.attention, r.measuredRatio])).toEqual([
      [1024, 'full', 1],
      [1024, 'star', 2],
      [2048, 'full', 1],
      [2048, 'star', 4],
    ]);
    const star2048 = rows[3];
    expect(star2048.stats.blockSize).toBe(512);
    expect(star2048.flopsRatio).toBeCloseTo(flopsRatio(planBlocks(2048, { blockSize: 512 }), 'star'), 12);
    expect(star2048.attentionFlops).toBe(attentionFlops(planBlocks(2048, { blockSize: 512 }), 'star', layout));
    expect(star2048.fullAttentionFlops).toBe(attentionFlops(planBlocks(2048), 'full', layout));
    expect(rows[0].flopsRatio).toBe(1);
  });

  it('keeps the fastest of the repeats', async () => {
    const times = [30, 10, 20, 50, 40, 45];
    const { subject, calls } = fakeSubject('shared', (_n, _c, call) => times[call]);
    const { rows } = await runSpeedBench(subject, plan({ repeats: 3 }));
    expect(calls.filter((c) => c.what === 'encode')).toHaveLength(6);
    expect(rows.map((r) => r.stats.encodeMs)).toEqual([10, 40]);
    expect(rows[1].measuredRatio).toBe(10 / 40);
  });

  it('measures full first and interleaves configurations length by length on a shared session, after an untimed warm-up', async () => {
    const { subject, calls } = fakeSubject('shared', () => 1, { decode: () => 7 });
    const events: SpeedEvent[] = [];
    const { rows } = await runSpeedBench(subject, plan({ lengths: [512, 256], configs: [star, full], warmUp: true, decodeTokens: 4 }), {
      onEvent: (e) => events.push(e),
    });
    const trace = calls.map((c) => (c.context ? `${c.what} ${c.context.config.attention} ${c.context.length}${c.context.warmUp ? ' warm-up' : ''}` : c.what));
    expect(trace).toEqual([
      'open',
      'encode full 256 warm-up',
      'decode full 256 warm-up',
      'encode star 256 warm-up',
      'decode star 256 warm-up',
      'encode full 256',
      'decode full 256',
      'encode star 256',
      'decode star 256',
      'encode full 512',
      'decode full 512',
      'encode star 512',
      'decode star 512',
      'close',
    ]);
    expect(calls[0].configs).toEqual([full, star]);
    expect(rows.every((r) => r.decodeTokensPerSecond === 7)).toBe(true);
    expect(events.map((e) => e.type)).toEqual(['row', 'decoded', 'row', 'decoded', 'row', 'decoded', 'row', 'decoded']);
    expect(events[0].type === 'row' && events[0].row.decodeTokensPerSecond).toBeUndefined();
  });

  it(`warms up at the shortest length, or at ${maxWarmUpTokens} tokens when the shortest is longer`, async () => {
    for (const [lengths, warmUp] of [[[2048, 65536], 2048], [[131072, 65536], maxWarmUpTokens]]) {
      const { subject, calls } = fakeSubject('shared', () => 1);
      await runSpeedBench(subject, plan({ lengths: lengths as number[], configs: [star], warmUp: true }));
      const encodes = calls.filter((c) => c.what === 'encode').map((c) => [c.context!.length, c.context!.warmUp]);
      expect(encodes).toEqual([[warmUp, true], ...[...(lengths as number[])].sort((a, b) => a - b).map((n) => [n, false])]);
    }
  });

  it('opens one session per configuration in turn when the subject asks, and keeps decodes it skips out of the rows', async () => {
    const { subject, calls } = fakeSubject('per-config', (n, c) => (c.attention === 'full' ? n : n / 2), {
      decode: (context) => (context.length === 2048 && context.config.hosts === 1 ? 5 : undefined),
    });
    const { rows } = await runSpeedBench(subject, plan({ lengths: [1024, 2048], configs: [full, star, star2], warmUp: true, decodeTokens: 3 }));
    expect(calls.filter((c) => c.what === 'open').map((c) => c.configs)).toEqual([[full], [star], [star2]]);
    expect(calls.filter((c) => c.what === 'close')).toHaveLength(3);
    expect(calls.filter((c) => c.what === 'encode' && c.context!.warmUp).map((c) => c.context!.length)).toEqual([1024, 1024, 1024]);
    expect(rows.map((r) => [r.config.hosts, r.config.attention, r.length, r.measuredRatio, r.decodeTokensPerSecond])).toEqual([
      [1, 'full', 1024, 1, undefined],
      [1, 'full', 2048, 1, 5],
      [1, 'star', 1024, 2, undefined],
      [1, 'star', 2048, 2, 5],
      [2, 'star', 1024, 2, undefined],
      [2, 'star', 2048, 2, undefined],
    ]);
  });

  it('times the kernels without their first (compiling) run, for each distinct block size shorter than the context', async () => {
    const { subject } = fakeSubject('shared', () => 1, { layout, kernelMs: (n, b) => (b === undefined ? n : b) });
    const { kernels } = await runSpeedBench(
      subject,
      plan({ lengths: [256, 2048], configs: [full, star, star2, { attention: 'star', hosts: 1, blockSize: 4096 }], repeats: 2, kernels: true }),
    );
    // At 256 the divisor gives b = 128; at 2048, 512; b = 4096 is the whole context: full attention.
    expect(kernels).toEqual([
      { tokens: 256, blockSize: 128, fullMs: 256, starMs: 128, measuredRatio: 2, flopsRatio: 1 },
      { tokens: 2048, blockSize: 512, fullMs: 2048, starMs: 512, measuredRatio: 4, flopsRatio: flopsRatio(planBlocks(2048, { blockSize: 512 }), 'star') },
    ]);
  });

  it('refuses a length past the model\'s window before anything is encoded, and closes the session', async () => {
    const { subject, calls } = fakeSubject('shared', () => 1, { maxContextTokens: 131071 });
    await expect(runSpeedBench(subject, plan({ lengths: [65536, 131072], configs: [star], warmUp: true }))).rejects.toThrow(
      "Context length 131072 is past the model's longest context, 131071 tokens (max_position_embeddings less one position for the question)",
    );
    expect(calls.map((c) => c.what)).toEqual(['open', 'close']);
    const fits = fakeSubject('shared', () => 1, { maxContextTokens: 131072 });
    await runSpeedBench(fits.subject, plan({ lengths: [131072], configs: [star] }));
    expect(fits.calls.filter((c) => c.what === 'encode')).toHaveLength(1);
  });

  it('closes the session when an encode fails, and stops when aborted', async () => {
    const { subject, calls } = fakeSubject('per-config', () => {
      throw new Error('out of memory');
    });
    await expect(runSpeedBench(subject, plan({}))).rejects.toThrow('out of memory');
    expect(calls.map((c) => c.what)).toEqual(['open', 'encode', 'close']);

    const controller = new AbortController();
    const ok = fakeSubject('per-config', () => 1);
    const run = runSpeedBench(ok.subject, plan({}), {
      signal: controller.signal,
      onEvent: () => controller.abort(new DOMException('stop', 'AbortError')),
    });
    await expect(run).rejects.toThrow('stop');
    expect(ok.calls.filter((c) => c.what === 'open')).toHaveLength(1);
  });
});

describe('formatSpeedMarkdown', () => {
  it('puts the theoretical FLOPs ratio and GFLOP beside the measured ratio', async () => {
    const { subject } = fakeSubject('shared', (_n, c) => (c.attention === 'full' ? 3000 : 2000), { layout, kernelMs: (n, b) => b ?? n });
    const p = plan({ lengths: [2048], kernels: true, repeats: 2 });
    const result = await runSpeedBench(subject, p);
    const markdown = formatSpeedMarkdown({ ...result, date: '2026-01-02T03:04:05Z', adapter: 'fake adapter', model: 'm', platform: 'node', plan: p });
    expect(markdown).toMatch(/^Measured 2026-01-02 on fake adapter \(node\); model: m, 3 layers\./);
    expect(markdown).toContain('| context | mode | block | hosts | encode ms | full / this (measured) | attention FLOPs full / this | attention GFLOP | decode tok/s |');
    const ratio = flopsRatio(planBlocks(2048, { blockSize: 512 }), 'star').toFixed(2);
    const gflop = (attentionFlops(planBlocks(2048, { blockSize: 512 }), 'star', layout) / 1e9).toFixed(2);
    expect(markdown).toContain(`| 2048 | star | 512 | 1 | 2000 | 1.50× | ${ratio}× | ${gflop} | — |`);
    const share = ((100 * 4) / flopsRatio(planBlocks(2048, { blockSize: 512 }), 'star')).toFixed(0);
    expect(markdown).toContain(`| 2048 | 512 | 2048.0 | 512.0 | 4.00× | ${ratio}× | ${share}% |`);
    expect(markdown).not.toContain('Device limits');
  });

  it('star alone: no measured column, no NaN or empty ratio, no kernel table; the device limits when known', async () => {
    const { subject } = fakeSubject('shared', () => 2000, { layout, kernelMs: (n, b) => b ?? n });
    const p = benchPlan(benchOptions({ modes: 'star', lengths: '2048', blockDivisors: '4', decode: 0 }, 'node'));
    const result = await runSpeedBench(subject, { ...p, warmUp: false });
    expect(result.rows.map((r) => [r.config.attention, r.measuredRatio])).toEqual([['star', undefined]]);
    expect(JSON.parse(JSON.stringify(result.rows[0]))).not.toHaveProperty('measuredRatio');
    const limits = { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 27, maxComputeWorkgroupsPerDimension: 65535 };
    const markdown = formatSpeedMarkdown({ ...result, limits, date: '2026-01-02T03:04:05Z', adapter: 'fake adapter', model: 'm', platform: 'node', plan: p });
    expect(markdown).toContain('Device limits: maxBufferSize 4294967296, maxStorageBufferBindingSize 134217728 bytes.');
    expect(markdown).toContain('### Phase 1 (whole model), Star Attention only (full attention not run)');
    expect(markdown).toContain('| context | mode | block | hosts | encode ms | attention FLOPs full / this | attention GFLOP | decode tok/s |');
    const ratio = flopsRatio(planBlocks(2048, { blockSize: 512 }), 'star').toFixed(2);
    const gflop = (attentionFlops(planBlocks(2048, { blockSize: 512 }), 'star', layout) / 1e9).toFixed(2);
    expect(markdown).toContain(`| 2048 | star | 512 | 1 | 2000 | ${ratio}× | ${gflop} | — |`);
    expect(markdown).not.toMatch(/NaN|full \/ this \(measured\)|Attention kernels alone/);
  });
});

describe('describeSpeedEvent', () => {
  it('leaves the measured ratio out of a row without full attention', () => {
    const row = (measuredRatio?: number) => ({ config: star, length: 2048, stats: statsFor(2048, star, 900), measuredRatio, flopsRatio: 1.6 });
    expect(describeSpeedEvent({ type: 'row', row: row() })).toBe('Star b=n/4 n=2048 b=512: 900 ms (FLOPs 1.60×)');
    expect(describeSpeedEvent({ type: 'row', row: row(2.5) })).toBe('Star b=n/4 n=2048 b=512: 900 ms, full / this 2.50× (FLOPs 1.60×)');
  });
});
