// What the command line writes to the terminal: Dawn's limit warnings filtered out of stderr (and
// nothing else), and the progress bar's line.
import { describe, expect, it } from 'vitest';
import { StderrFilter } from '../../src/cli/quiet-dawn.ts';
import { formatProgress, terminalColumns } from '../../src/cli/progress.ts';

const warning = (name: string) => `Warning: ${name} artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n`;

describe('StderrFilter', () => {
  it("drops Dawn's two limit warnings and keeps every other line", () => {
    const filter = new StderrFilter();
    const out =
      filter.push(warning('maxDynamicUniformBuffersPerPipelineLayout')) +
      filter.push(`[read 44 tokens]\n${warning('maxDynamicStorageBuffersPerPipelineLayout')}Warning: something else\n`) +
      filter.flush();
    expect(out).toBe('[read 44 tokens]\nWarning: something else\n');
  });

  it('passes a warning split across chunks only if it turns out to be another one', () => {
    const filter = new StderrFilter();
    const line = warning('maxDynamicStorageBuffersPerPipelineLayout');
    expect(filter.push(line.slice(0, 20))).toBe('');
    expect(filter.push(line.slice(20))).toBe('');
    expect(filter.push('Warn')).toBe('');
    expect(filter.push('ing: the GPU is slow\n')).toBe('Warning: the GPU is slow\n');
  });

  it('passes progress bars (no newline) through at once', () => {
    const filter = new StderrFilter();
    expect(filter.push('\rloading [##--] 50%')).toBe('\rloading [##--] 50%');
    expect(filter.push('\rloading [####] 100%')).toBe('\rloading [####] 100%');
    expect(filter.flush()).toBe('');
  });
});

describe('progress bar', () => {
  it('fits the terminal and says how far', () => {
    const line = formatProgress('reading the document', 1500, 6000, 60, (n) => `${n} tokens`);
    expect(line).toBe('reading the document [###-------]  25% 1500 tokens of 6000 tokens'.slice(0, 59));
    expect(line.length).toBeLessThan(60);
    expect(formatProgress('loading', 5, 5, 80, String)).toMatch(/^loading \[#+\] 100% 5 of 5$/);
  });

  it('is drawn only for a terminal, or for the child of one', () => {
    expect(terminalColumns({ isTTY: true, columns: 100 }, {})).toBe(100);
    expect(terminalColumns({ isTTY: false }, {})).toBeUndefined();
    expect(terminalColumns({ isTTY: false }, { STAR_READER_STDERR_TERMINAL: '120' })).toBe(120);
  });
});
