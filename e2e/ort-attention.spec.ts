// The ORT comparison's premise: the ONNX model written by bench/ort/onnx-model.ts is the attention we
// mean (first on ORT's CPU backend in Node), and bench/ort/attention.html's agreement check in Debian's
// Chromium: onnxruntime-web's WebGPU GroupQueryAttention and our attention_prefill give the output of
// the double-precision reference on small shapes of both head layouts (Qwen2.5-0.5B's, a head-dim-128
// Llama's), so the benchmark compares equal work. Also what the page does when ORT's subgroup path is
// wrong (SwiftShader): retried without subgroups, the failure kept in the report.
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-web';
import { groupQueryAttentionModel } from '../bench/ort/onnx-model.ts';
import { agreementTolerance, disagreement, layouts, type OrtAttentionReport } from '../bench/ort/report.ts';
import { attentionRef, causalMask } from '../test/reference/attention.ts';
import { maxAbsDiff, randomArray } from '../test/support/random.ts';
import { suite } from './support/harness.ts';

const t = suite('ort attention');

t.test('the encoded GroupQueryAttention model is causal GQA attention (ORT on the CPU, in Node)', async () => {
  ort.env.wasm.numThreads = 1;
  const { heads, kvHeads, headDim } = layouts.qwen;
  const shape = { heads, kvHeads, headDim, scale: 0.3 };
  const tokens = 21;
  const q = randomArray(tokens * heads * headDim, 1);
  const k = randomArray(tokens * kvHeads * headDim, 2);
  const v = randomArray(tokens * kvHeads * headDim, 3);
  const session = await ort.InferenceSession.create(groupQueryAttentionModel(shape));
  const { output } = await session.run({
    query: new ort.Tensor('float32', q, [1, tokens, heads * headDim]),
    key: new ort.Tensor('float32', k, [1, tokens, kvHeads * headDim]),
    value: new ort.Tensor('float32', v, [1, tokens, kvHeads * headDim]),
    seqlens_k: new ort.Tensor('int32', Int32Array.of(tokens - 1), [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(tokens), []),
  });
  await session.release();
  const positions = Array.from({ length: tokens }, (_, i) => i);
  const want = attentionRef(shape, q, tokens, k, v, tokens, causalMask(positions, positions)).o;
  assert.deepEqual(output.dims, [1, tokens, heads * headDim]);
  const diff = maxAbsDiff(output.data as Float32Array, want);
  assert.ok(diff <= 1e-5, `ORT's CPU output differs from the reference by ${diff}`);
});

t.test('onnxruntime-web GroupQueryAttention and attention_prefill agree with the reference', async ({ page, url }) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const report = await new Promise<OrtAttentionReport>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('the page did not report within 90 s')), 90_000);
    void page.exposeFunction('reportBenchResult', (json: string) => resolve(JSON.parse(json) as OrtAttentionReport));
    void page.exposeFunction('reportBenchError', (message: string) => reject(new Error(message)));
    page.goto(url('bench/ort/attention.html?check=1&layouts=qwen,llama')).catch(reject);
  }).finally(() => clearTimeout(timer));

  assert.match(report.ortVersion, /^\d+\.\d+\.\d+/);
  assert.deepEqual(
    report.agreement.map((r) => [r.layout, r.tokens]),
    [
      ['Qwen2.5-0.5B (14/2 heads, dim 64)', 37],
      ['Llama 3 8B (32/8 heads, dim 128)', 35],
    ],
  );
  assert.equal(disagreement(report), undefined);
  for (const row of report.agreement) {
    assert.ok(row.oursVsReference <= 2e-6, `ours vs reference ${row.oursVsReference}`);
    assert.ok(row.ortVsReference <= agreementTolerance && row.oursVsOrt <= agreementTolerance, JSON.stringify(row));
  }
  // A failed check with subgroups is kept in the report and ORT is run again without them.
  for (const failure of report.subgroupFailures) {
    assert.ok(failure.ortSubgroups && failure.ortVsReference > agreementTolerance, JSON.stringify(failure));
    assert.equal(report.ort[failure.layout].subgroups, false);
  }
  for (const [layout, side] of Object.entries(report.ort)) assert.ok(side.programs.length > 0, `ORT compiled no shader for ${layout}`);
});

await t.run();
