import { describe, expect, it } from 'vitest';
import { cleanPrediction, stringMatchAll, taskScore } from '../../src/eval/ruler/score.ts';

describe('RULER scoring', () => {
  it('cleans predictions as postprocess_pred does: strip, control characters to newlines, strip', () => {
    expect(cleanPrediction('  \t7194832\x00and\x1fmore\n ')).toBe('7194832\nand\nmore');
    expect(cleanPrediction('\x01\x02')).toBe('');
  });

  it('string_match_all: the fraction of references found, case-insensitive substrings', () => {
    expect(stringMatchAll(' The special magic number for calm-river is 7194832.', ['7194832'])).toBe(1);
    expect(stringMatchAll('BRAVE-OTTER and 12', ['brave-otter', '12', '13'])).toBeCloseTo(2 / 3, 12);
    expect(stringMatchAll('', ['x'])).toBe(0);
    expect(() => stringMatchAll('x', [])).toThrow();
  });

  it('a task scores the mean ×100 rounded to two decimals, like RULER on the same predictions', () => {
    // RULER: sum([sum([r.lower() in pred.lower() for r in ref]) / len(ref) for pred, ref in zip(preds, refs)]) / len(preds) * 100
    const samples = [
      { prediction: 'It is 4821993.', references: ['4821993'] },
      { prediction: 'I do not know', references: ['1234567'] },
      { prediction: 'ABC DEF', references: ['abc', 'def', 'ghi'] },
    ];
    expect(taskScore(samples)).toBe(55.56); // (1 + 0 + 2/3) / 3 = 0.5555…
    expect(taskScore([{ prediction: 'vars: AAAAA BBBBB', references: ['AAAAA', 'BBBBB', 'CCCCC', 'DDDDD', 'EEEEE'] }])).toBe(40);
    expect(() => taskScore([])).toThrow();
  });
});
