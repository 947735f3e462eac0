import { describe, expect, it } from 'vitest';
import { attentionPairs, defaultBlockSize, planBlocks } from '../../src/star/block-planner.ts';

describe('planBlocks', () => {
  it('cuts the context into blocks of b, the last one shorter', () => {
    const plan = planBlocks(1000, { blockSize: 128 });
    expect(plan.blocks.length).toBe(8);
    expect(plan.blocks[7]).toEqual({ index: 7, start: 896, end: 1000 });
    expect(plan.anchorSize).toBe(128);
    expect(plan.hosts).toHaveLength(1);
    expect(plan.queryHost).toBe(0);
  });

  it('b ≥ n is one block: full attention', () => {
    const plan = planBlocks(1000, { blockSize: 4096 });
    expect(plan.blocks).toEqual([{ index: 0, start: 0, end: 1000 }]);
    expect(attentionPairs(plan, 'star')).toBe(attentionPairs(plan, 'full'));
  });

  it('spreads consecutive blocks over hosts, balanced by tokens, the last host keeps the query', () => {
    for (const hosts of [2, 3, 4]) {
      const plan = planBlocks(1000, { blockSize: 128, hosts });
      expect(plan.hosts).toHaveLength(hosts);
      expect(plan.queryHost).toBe(hosts - 1);
      const all = plan.hosts.flatMap((h) => h.blocks.map((b) => b.index));
      expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      for (const h of plan.hosts) expect(h.blocks.length).toBeGreaterThan(0);
      const sizes = plan.hosts.map((h) => h.end - h.start);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(256);
    }
  });

  it('refuses more hosts than blocks, and bad sizes, with the numbers', () => {
    expect(() => planBlocks(300, { blockSize: 128, hosts: 4 })).toThrow(/4 hosts need at least 4 blocks.*≤ 75/);
    expect(() => planBlocks(300, { blockSize: 128, anchorSize: 200 })).toThrow(/anchorSize/);
    expect(() => planBlocks(0)).toThrow(/at least one token/);
  });

  it('counts attention pairs: star ≈ b²/2 + (n−b)·1.5·b', () => {
    const plan = planBlocks(64 * 1024, { blockSize: 2048 });
    const star = attentionPairs(plan, 'star');
    const full = attentionPairs(plan, 'full');
    expect(full / star).toBeGreaterThan(10.8);
    expect(full / star).toBeLessThan(11);
  });
});

describe('defaultBlockSize', () => {
  it('keeps short contexts whole and cuts long ones into 2K–8K blocks', () => {
    expect(defaultBlockSize(1000)).toBe(1024);
    expect(defaultBlockSize(16 * 1024)).toBe(4096);
    expect(defaultBlockSize(128 * 1024)).toBe(8192);
    expect(defaultBlockSize(5000)).toBe(2048);
    expect(defaultBlockSize(16 * 1024, 8)).toBe(2048);
  });
});
