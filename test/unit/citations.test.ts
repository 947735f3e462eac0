import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTokenizer } from '../../src/model/tokenizer.ts';
import { answerCitations, mapDocumentTokens, type DocumentTokenMap } from '../../src/star/citations.ts';

const demo = (name: string) => JSON.parse(readFileSync(new URL(`../../public/models/demo/${name}`, import.meta.url), 'utf8')) as unknown;
const tokenizer = createTokenizer(demo('tokenizer.json'), demo('tokenizer_config.json'));

describe('mapDocumentTokens', () => {
  const document = 'The keeper wrote “Ships: 12” in the log, café and all.\n\nThe next night, none.';
  const context = `<|im_start|>system\nRead.<|im_end|>\n<|im_start|>user\n${document}\n\nQuestion:`;
  const ids = tokenizer.encode(context, { addSpecialTokens: false });

  it('gives each document token its characters, in order, covering the whole text', () => {
    const map = mapDocumentTokens(tokenizer, ids, document)!;
    expect(map.length).toBe(document.length);
    expect(map.starts[0]).toBe(0);
    expect(map.starts[map.starts.length - 1]).toBe(document.length);
    for (let i = 1; i < map.starts.length; i++) expect(map.starts[i]).toBeGreaterThanOrEqual(map.starts[i - 1]);
    // The template's prefix ("…user\n") is not the document: the first document token starts with "The".
    expect(tokenizer.decode(ids.slice(0, map.origin), { skipSpecialTokens: false })).toBe(context.slice(0, context.indexOf(document)));
    // Decoding the document's tokens up to any token gives the text up to its start (a token inside a
    // character's UTF-8 bytes starts where that character ends).
    let checked = 0;
    for (let i = 0; i < map.starts.length - 1; i++) {
      const text = tokenizer.decode(ids.slice(map.origin, map.origin + i), { skipSpecialTokens: false });
      if (text.endsWith('\ufffd')) continue;
      expect(text).toBe(document.slice(0, map.starts[i]));
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('is undefined when the context does not hold the document', () => {
    expect(mapDocumentTokens(tokenizer, ids, 'not in there')).toBeUndefined();
    expect(mapDocumentTokens(tokenizer, ids, '')).toBeUndefined();
  });
});

describe('answerCitations', () => {
  // 10 document tokens of 3 characters each from position 3; spans of 4 tokens from there: cell 0 is
  // the prefix [0, 3), cells 1–3 the document (the last one 2 tokens), cell 4 the question and answer.
  const map: DocumentTokenMap = { origin: 3, starts: Array.from({ length: 11 }, (_, i) => 3 * i), length: 30 };
  const grid = { keys: 4, origin: 3 };
  const rows = [
    [0.5, 0.1, 0.3, 0.0, 0.1],
    [0.3, 0.1, 0.1, 0.4, 0.1],
  ];
  const recorded = { grid, cells: 5, rows: 2, shares: Float32Array.from(rows.flat()), layers: [1, 3] };

  it('averages the rows, keeps the document spans as character ranges, ranks the passages', () => {
    const c = answerCitations(recorded, map, 2)!;
    const near = (x: number) => Math.round(x * 1e6) / 1e6;
    expect(c.spans.map((s) => [s.start, s.end, near(s.share)])).toEqual([
      [0, 12, 0.1],
      [12, 24, 0.2],
      [24, 30, 0.2],
    ]);
    expect(c.passages.map((s) => s.start)).toEqual([12, 24]); // equal shares: document order
    expect(near(c.documentShare)).toBe(0.5);
    expect(c.tokens).toBe(2);
    expect(c.layers).toBe(2);
  });

  it('none for an answer that decoded no token', () => {
    expect(answerCitations({ ...recorded, rows: 0, shares: new Float32Array(0) }, map, 3)).toBeUndefined();
  });
});
