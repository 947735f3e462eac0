// The stats shown under an answer: the reader's, with the decode rate measured from the stream where
// the reader reports none (a stopped answer).
import { describe, expect, it } from 'vitest';
import { statsAsStreamed } from '../../src/ui/session.ts';
import type { AnswerStats } from '../../src/star/reader-api.ts';

const stopped: AnswerStats = { promptTokens: 20, generatedTokens: 75, queryMs: 300, decodeTokensPerSecond: 0, stoppedBy: 'abort' };

describe('statsAsStreamed', () => {
  it('measures a stopped answer’s rate from its tokens after the first, over the time they streamed', () => {
    const stats = statsAsStreamed(stopped, { pieces: 75, started: 1000, first: 1300, last: 1300 + 74 * 40 });
    expect(stats).toEqual({ ...stopped, decodeTokensPerSecond: 25 });
  });

  it('keeps the reader’s own rate, and says nothing where nothing can be measured', () => {
    const done = { ...stopped, decodeTokensPerSecond: 12.5, stoppedBy: 'eos' as const };
    expect(statsAsStreamed(done, { pieces: 75, started: 0, first: 1, last: 2 })).toBe(done);
    const one = { ...stopped, generatedTokens: 1 };
    expect(statsAsStreamed(one, { pieces: 1, started: 0, first: 5, last: 5 })).toBe(one);
  });
});
