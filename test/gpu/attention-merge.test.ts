import { describe, expect, it } from 'vitest';
import { attentionPrefill, lseMerge, type AttentionOutput, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import { attentionRef, causalMask, lseDiff } from '../reference/attention.ts';
import { maxAbsDiff } from '../support/random.ts';
import { testGpu } from '../support/gpu.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import {
  attentionOutput,
  attentionShape,
  concatKv,
  kvFrom,
  readOutput,
  testKv,
  testQuery,
  type TestKv,
  type TestQuery,
  tolerance,
} from './attention-fixture.ts';

/** Prefill of `query` over each span into consecutive slots of one partials buffer pair. */
function partialsOver(gpu: Gpu, shape: AttentionShape, query: TestQuery, spans: readonly TestKv[]): AttentionOutput {
  const partials = attentionOutput(gpu, shape, query.query.rows, spans.length);
  gpu.run((enc) => spans.forEach((kv, slot) => attentionPrefill(gpu, enc, shape, query.query, kv.span, partials, { count: 1, keys: kv.span.length, slot })));
  return partials;
}

describe('lseMerge (exact log-sum-exp merge of partial attention)', () => {
  const shape = attentionShape(6, 2, 64);
  const rows = 40;

  it('prefill per span + merge equals prefill over the whole sequence', async () => {
    const gpu = await testGpu();
    const query = testQuery(gpu, shape, rows, 300, 1, 4);
    // The same 300 keys, whole and cut in three spans of separate buffers (two at start > 0).
    const whole = testKv(gpu, shape, 300, 0, 2);
    const cuts = [0, 100, 180, 300];
    const width = shape.kvHeads * shape.headDim;
    const spans = cuts.slice(1).map((end, i) => {
      const [begin, start] = [cuts[i], 3 * i];
      const slice = (a: Float32Array) => a.slice(begin * width, end * width);
      return kvFrom(gpu, shape, slice(whole.k), slice(whole.v), begin, { start });
    });
    expect(maxAbsDiff(concatKv(spans).k, whole.k)).toBe(0);

    const partials = partialsOver(gpu, shape, query, spans);
    const merged = attentionOutput(gpu, shape, rows);
    const direct = attentionOutput(gpu, shape, rows);
    gpu.run((enc) => {
      lseMerge(gpu, enc, shape, partials, spans.length, rows, merged);
      attentionPrefill(gpu, enc, shape, query.query, whole.span, direct);
    });
    const got = await readOutput(gpu, merged, shape, rows);
    const want = await readOutput(gpu, direct, shape, rows);
    expect(maxAbsDiff(got.o, want.o)).toBeLessThan(tolerance.o);
    expect(lseDiff(got.lse, want.lse)).toBeLessThan(tolerance.lse);
    const ref = attentionRef(shape, query.q, rows, whole.k, whole.v, 300, causalMask(query.positions, whole.positions));
    expect(maxAbsDiff(got.o, ref.o)).toBeLessThan(tolerance.o);
    expect(lseDiff(got.lse, ref.lse)).toBeLessThan(tolerance.lse);
  });

  it('a partial whose rows are all masked (LSE −inf) changes nothing; all masked gives O = 0', async () => {
    const gpu = await testGpu();
    const query = testQuery(gpu, shape, rows, 50, 3, 2);
    const seen = testKv(gpu, shape, 51, 0, 4);
    const unseen = testKv(gpu, shape, 30, 1000, 5); // every key after every query
    const alone = partialsOver(gpu, shape, query, [seen]);
    const withEmpty = partialsOver(gpu, shape, query, [unseen, seen, unseen]);
    const onlyEmpty = partialsOver(gpu, shape, query, [unseen, unseen]);
    const outs = [attentionOutput(gpu, shape, rows), attentionOutput(gpu, shape, rows), attentionOutput(gpu, shape, rows)];
    gpu.run((enc) => {
      lseMerge(gpu, enc, shape, alone, 1, rows, outs[0]);
      lseMerge(gpu, enc, shape, withEmpty, 3, rows, outs[1]);
      lseMerge(gpu, enc, shape, onlyEmpty, 2, rows, outs[2]);
    });
    const [one, merged, empty] = await Promise.all(outs.map((out) => readOutput(gpu, out, shape, rows)));
    const emptyPartial = await readOutput(gpu, { o: withEmpty.o, lse: withEmpty.lse }, shape, rows);
    expect(emptyPartial.lse.every((x) => x <= -1e38)).toBe(true);
    expect(emptyPartial.o.every((x) => x === 0)).toBe(true);

    const ref = attentionRef(shape, query.q, rows, seen.k, seen.v, 51, causalMask(query.positions, seen.positions));
    expect(maxAbsDiff(one.o, ref.o)).toBeLessThan(tolerance.o);
    expect(maxAbsDiff(merged.o, one.o)).toBeLessThan(1e-7);
    expect(maxAbsDiff(merged.lse, one.lse)).toBeLessThan(1e-7);
    expect(empty.o.every((x) => x === 0)).toBe(true);
    expect(empty.lse.every((x) => x <= -1e38)).toBe(true);
  });

  it('merges partials with very different LSEs without overflow', async () => {
    const gpu = await testGpu();
    const small = attentionShape(2, 1, 16);
    const r = 3;
    // Two partials per (row, head) with LSEs ±200 apart: exp of either alone over/underflows f32.
    const lses = [150, -60, 88.5, 300, 300, -1, -200, 0, 95, 95.5, -3e38, 12];
    const count = 2;
    const o = new Float32Array(count * r * 2 * 16).map((_, i) => Math.sin(i));
    const partials = { o: gpu.upload(o), lse: gpu.upload(new Float32Array(lses)) };
    const out = attentionOutput(gpu, small, r);
    gpu.run((enc) => lseMerge(gpu, enc, small, partials, count, r, out));
    const got = await readOutput(gpu, out, small, r);
    const pairs = r * 2;
    const wantO = new Float32Array(pairs * 16);
    const wantLse = new Float32Array(pairs);
    for (let pr = 0; pr < pairs; pr++) {
      const s = [lses[pr], lses[pairs + pr]];
      const m = Math.max(...s);
      const w = s.map((x) => Math.exp(x - m));
      const sum = w[0] + w[1];
      wantLse[pr] = m + Math.log(sum);
      for (let d = 0; d < 16; d++) wantO[pr * 16 + d] = (w[0] * o[pr * 16 + d] + w[1] * o[(pairs + pr) * 16 + d]) / sum;
    }
    expect(maxAbsDiff(got.o, wantO)).toBeLessThan(1e-6);
    expect(maxAbsDiff(got.lse, wantLse)).toBeLessThan(1e-4);
  });

  // Each lane of the merge walks its partials AHEAD at a time with a running max: LSEs that rise along
  // the walk rescale it at every step, empty partials weigh 0, and counts past and short of one round
  // of lanes leave some lanes few partials and some none.
  it.each([
    [300, 64],
    [37, 80],
    [70, 128],
    [5, 62],
  ])('merges %i partials of head dim %i with a running max per lane', async (count, headDim) => {
    const gpu = await testGpu();
    const small = attentionShape(2, 1, headDim);
    const r = 2;
    const pairs = r * 2;
    const lses = new Float32Array(count * pairs).map((_, i) => {
      const part = Math.floor(i / pairs);
      if (part % 7 === 3) return -3.4e38;
      return part * 0.5 + 40 * Math.sin(i * 1.7);
    });
    const o = new Float32Array(count * pairs * headDim).map((_, i) => Math.cos(i * 0.37));
    const partials = { o: gpu.upload(o), lse: gpu.upload(lses) };
    const out = attentionOutput(gpu, small, r);
    gpu.run((enc) => lseMerge(gpu, enc, small, partials, count, r, out));
    const got = await readOutput(gpu, out, small, r);
    const wantO = new Float32Array(pairs * headDim);
    const wantLse = new Float32Array(pairs);
    for (let pr = 0; pr < pairs; pr++) {
      const s = Array.from({ length: count }, (_, i) => lses[i * pairs + pr]);
      const m = Math.max(...s);
      const w = s.map((x) => (x <= -3e38 ? 0 : Math.exp(x - m)));
      const sum = w.reduce((a, b) => a + b, 0);
      wantLse[pr] = m + Math.log(sum);
      for (let d = 0; d < headDim; d++) {
        let acc = 0;
        for (let i = 0; i < count; i++) acc += w[i] * o[(i * pairs + pr) * headDim + d];
        wantO[pr * headDim + d] = acc / sum;
      }
    }
    expect(maxAbsDiff(got.o, wantO)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got.lse, wantLse)).toBeLessThan(1e-4);
  });
});
