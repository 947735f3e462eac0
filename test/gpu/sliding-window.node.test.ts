// Node only (a writable folder for variant configs): the engine against the CPU reference model where
// transformers' fixtures cannot say — sliding windows smaller than the sequence, in both phases and on
// 1 and 2 hosts (the Star Attention anchor windowed by true positions, the rule in transformer.ts's
// attendStarBlocks), and Gemma 2's recipe (attention and final-logit soft-capping), built from
// tiny-gemma3's weights with a gemma2 config. The reference implements the same rules independently.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig } from '../../src/model/config.ts';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { scoreGreedy } from '../../src/star/greedy-score.ts';
import { ReferenceModel, type GenerateResult } from '../reference/model.ts';
import { fixtureLocation, fixtureWeights, loadGolden } from '../support/fixtures.ts';
import { maxAbsDiff } from '../support/random.ts';

const tolerance = 1e-3;
const contextLength = 400;
const generated = 4;
const blockSize = 128;
const temp = await mkdtemp(join(tmpdir(), 'star-reader-windows-'));
afterAll(() => rm(temp, { recursive: true, force: true }));

/** tiny-gemma3's weights under a changed config.json. */
async function variant(name: string, changes: Record<string, unknown>): Promise<{ dir: string; json: Record<string, unknown> }> {
  const source = fixtureLocation('tiny-gemma3');
  const dir = join(temp, name);
  await mkdir(dir);
  const json = { ...JSON.parse(await readFile(join(source, 'config.json'), 'utf8')), ...changes };
  await writeFile(join(dir, 'config.json'), JSON.stringify(json));
  await copyFile(join(source, 'model.safetensors'), join(dir, 'model.safetensors'));
  return { dir, json };
}

function rows(logits: Float32Array[]): Float32Array {
  const out = new Float32Array(logits.length * logits[0].length);
  logits.forEach((row, i) => out.set(row, i * row.length));
  return out;
}

interface Variant {
  name: string;
  what: string;
  changes: Record<string, unknown>;
  /** The same model without what is tested (so that the test can fail). */
  without: Record<string, unknown>;
  /** KV cache chunks of this many bytes (tiny-gemma3: 128 bytes a token per layer). */
  maxKvChunkBytes?: number;
}

const variants: Variant[] = [
  {
    name: 'gemma3-window-100',
    what: 'Gemma 3, sliding layers with a window of 100 (blocks of 128: blocks ≥ 2 see no anchor key at those layers)',
    changes: { sliding_window: 100 },
    without: { sliding_window: 4096 },
  },
  {
    name: 'gemma2-softcap',
    what: 'Gemma 2: attention scores capped at 2, final logits at 5, window 100 on layers 0 and 2; KV in 64-token chunks (windows cut across chunks, blocks in pieces)',
    maxKvChunkBytes: 64 * 128,
    changes: {
      model_type: 'gemma2',
      architectures: ['Gemma2ForCausalLM'],
      attn_logit_softcapping: 2,
      final_logit_softcapping: 5,
      sliding_window: 100,
      layer_types: ['sliding_attention', 'full_attention', 'sliding_attention'],
    },
    without: { model_type: 'gemma2', attn_logit_softcapping: null, final_logit_softcapping: null, sliding_window: 100 },
  },
];

for (const v of variants) {
  describe(v.what, () => {
    let engine: StarEngine;
    let reference: ReferenceModel;
    let context: number[];
    let query: number[];

    beforeAll(async () => {
      const { dir, json } = await variant(v.name, v.changes);
      const golden = await loadGolden('tiny-gemma3');
      context = Array.from(golden.contextIds.subarray(0, contextLength));
      query = Array.from(golden.queryIds);
      reference = new ReferenceModel(parseModelConfig(json), await fixtureWeights('tiny-gemma3'));
      engine = await StarEngine.create({
        model: { kind: 'directory', path: dir },
        hosts: 2,
        kvType: 'f32',
        conversationRoom: 32,
        maxKvChunkBytes: v.maxKvChunkBytes,
        openHost: openLocalHost,
      });
    });
    afterAll(async () => engine?.dispose());

    const expectMatches = async (want: GenerateResult, label: string) => {
      const got = await scoreGreedy(engine, query, generated);
      const diff = maxAbsDiff(got.logits, rows(want.logits));
      console.log(`${v.name} ${label}: max |logit diff| vs the CPU reference ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(tolerance);
      expect(Array.from(got.ids)).toEqual(want.tokens);
    };

    it('full attention, then the query and greedy tokens (decode windowed too)', async () => {
      const cache = reference.newCache();
      reference.forward(cache, context, context.map((_, i) => i));
      const want = reference.generate(cache, query, generated);
      await engine.encode(context, { attention: 'full' });
      await expectMatches(want, 'full');
      // The variant changes the result: a test that ignored it would fail.
      const plain = new ReferenceModel(parseModelConfig({ ...(await variant(`${v.name}-plain`, v.without)).json }), await fixtureWeights('tiny-gemma3'));
      const plainCache = plain.newCache();
      plain.forward(plainCache, context, context.map((_, i) => i));
      expect(maxAbsDiff(rows(plain.generate(plainCache, query, generated).logits), rows(want.logits))).toBeGreaterThan(0.05);
    });

    for (const hosts of [1, 2]) {
      it(`Star Attention b=${blockSize} on ${hosts} host(s)`, async () => {
        const want = reference.generate(reference.starPrefill(context, blockSize), query, generated);
        const stats = await engine.encode(context, { attention: 'star', blockSize, hosts });
        expect(stats.blocks).toBe(Math.ceil(contextLength / blockSize));
        await expectMatches(want, `star b=${blockSize} hosts=${hosts}`);
      });
    }
  });
}
