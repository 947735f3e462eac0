// Node only: in Chromium (SwiftShader) the four engines take two minutes; the kernel itself is tested there (attention-citations.test.ts).
// Citations through the engine (the golden tiny-qwen2 fixture): recording them changes no decoded id;
// every decoded row's shares, over all cells of all hosts, sum to 1; on two hosts the other host's
// spans (phase 2's remote partials) get their shares too.
import { describe, expect, it } from 'vitest';
import { StarEngine } from '../../src/star/star-engine.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import { fixtureLocation, loadGolden } from '../support/fixtures.ts';
import { gridCell } from '../../src/gpu/kernels/attention.ts';
import type { CitationRequest, CitationShares } from '../../src/model/transformer.ts';

const model = 'tiny-qwen2';
const sampling = { temperature: 0 };

async function decode(hosts: number, cite: boolean): Promise<{ ids: number[]; recorded?: CitationShares; request: CitationRequest }> {
  const golden = await loadGolden(model);
  const where = fixtureLocation(model);
  const engine = await StarEngine.create({
    model: { kind: 'directory', path: where },
    ropeDType: golden.ropeDType,
    hosts,
    conversationRoom: 64,
    openHost: openLocalHost,
  });
  try {
    const context = golden.contextIds.length;
    await engine.encode(Array.from(golden.contextIds), { attention: 'star', blockSize: 256 });
    const query = Array.from(golden.queryIds);
    const request: CitationRequest = { origin: 5, firstPosition: context + query.length, rows: 6, spanTokens: 32 };
    await engine.beginAnswer({ sampling, vocab: engine.info.config.vocab, seen: query }, cite ? request : undefined);
    const ids: number[] = [];
    try {
      let next = await engine.step(query);
      while (ids.length < 5) {
        ids.push(next);
        next = await engine.step([next]);
      }
      return { ids, recorded: cite ? await engine.readCitations(ids.length) : undefined, request };
    } finally {
      await engine.endAnswer();
    }
  } finally {
    await engine.dispose();
  }
}

describe('citations through the engine', () => {
  for (const hosts of [1, 2]) {
    it(`${hosts} host${hosts > 1 ? 's' : ''}: same ids, shares of each row sum to 1`, async () => {
      const plain = await decode(hosts, false);
      const cited = await decode(hosts, true);
      expect(cited.ids).toEqual(plain.ids);
      const { recorded, request } = cited;
      // Two blocks at least: on two hosts, the first lies on the other host.
      expect(request.firstPosition).toBeGreaterThan(256);
      expect(recorded).toBeDefined();
      const { cells, rows, shares, grid } = recorded!;
      expect(rows).toBe(5);
      expect(grid).toEqual({ keys: 32, origin: 5 });
      // Cells cover the document, the query and the answer: one past the last decoded position.
      expect(cells).toBe(gridCell(grid, request.firstPosition + request.rows) + 1);
      for (let r = 0; r < rows; r++) {
        const row = shares.subarray(r * cells, (r + 1) * cells);
        expect(row.every((x) => x >= 0)).toBe(true);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
        // The first block (positions 0…255) lies on host 0, a remote host when there are two.
        const firstBlock = row.subarray(0, gridCell(grid, 255) + 1).reduce((a, b) => a + b, 0);
        expect(firstBlock).toBeGreaterThan(0);
      }
      expect(recorded!.layers.length).toBeGreaterThan(0);
    });
  }
});
