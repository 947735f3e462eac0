// q8 and q4 weights through the whole engine: dequantized inside the matmul and embedding kernels,
// the engine must compute what the CPU reference model computes with the same dequantized matrices
// (the formats' own cost against f32 is measured in test/unit/format-accuracy.test.ts).
import { describe, expect, it } from 'vitest';
import { dequantize, quantize } from '../../src/model/formats/quantize.ts';
import { expectedTensors } from '../../src/model/weights.ts';
import { ReferenceModel } from '../reference/model.ts';
import { fixtureConfig, fixtureWeights, loadGolden, type FixtureModel } from '../support/fixtures.ts';
import { fixtureQueryLogits } from '../support/engine-logits.ts';
import { maxAbsDiff } from '../support/random.ts';

/** The reference model's query logits with every matrix replaced by its quantized-then-dequantized values, Star Attention b=128. */
async function referenceQueryLogits(model: FixtureModel, format: 'q8' | 'q4'): Promise<Float32Array> {
  const [config, weights, golden] = await Promise.all([fixtureConfig(model), fixtureWeights(model), loadGolden(model)]);
  const matrices = new Set(expectedTensors(config).filter((t) => t.type === 'matrix').map((t) => t.name));
  const quantized = new Map([...weights].map(([name, w]) => [name, matrices.has(name) ? dequantize(quantize(format, w)) : w]));
  const reference = new ReferenceModel(config, quantized, { ropeDType: golden.ropeDType });
  const cache = reference.starPrefill(golden.contextIds, 128);
  const n = golden.contextIds.length;
  const rows = Array.from(golden.queryIds, (_, i) => i);
  const logits = reference.forward(cache, golden.queryIds, rows.map((i) => n + i), rows);
  const out = new Float32Array(logits.length * logits[0].length);
  logits.forEach((row, i) => out.set(row, i * row.length));
  return out;
}

describe('quantized weights through the engine', () => {
  it.each([['tiny-qwen2', 'q8'], ['tiny-llama3', 'q4']] as const)('%s in %s: the reference model\'s logits for the same dequantized matrices', async (model, format) => {
    const [got, want] = await Promise.all([fixtureQueryLogits(model, format).then((r) => r.logits), referenceQueryLogits(model, format)]);
    expect(got.length).toBe(want.length);
    console.log(`${model} ${format}: max |engine − reference| ${maxAbsDiff(got, want).toExponential(2)}`);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-3);
  });
});
