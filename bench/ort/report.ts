// What bench:ort measures and reports, and when it refuses to: the head layouts, the report's shape, the
// agreement rule and the markdown table, shared by the page (attention.ts), the runner (run.ts) and the
// e2e check (e2e/ort-attention.spec.ts), and by its Node counterpart (node-attention.ts).
import type { FlashTiles } from '../../src/gpu/kernels/attention.ts';

export interface HeadLayout {
  name: string;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** Sequence lengths of a full run. */
  lengths: number[];
}

// Llama's 2048 tokens alone would take about 20 minutes on SwiftShader, hence 1024 at most.
export const layouts: Record<'qwen' | 'llama', HeadLayout> = {
  qwen: { name: 'Qwen2.5-0.5B (14/2 heads, dim 64)', heads: 14, kvHeads: 2, headDim: 64, lengths: [256, 512, 1024, 2048] },
  llama: { name: 'Llama 3 8B (32/8 heads, dim 128)', heads: 32, kvHeads: 8, headDim: 128, lengths: [256, 512, 1024] },
};

export interface AgreementRow {
  layout: string;
  tokens: number;
  ortSubgroups: boolean;
  oursVsReference: number;
  ortVsReference: number;
  oursVsOrt: number;
}

export interface TimingRow {
  layout: string;
  tokens: number;
  /** Our kernel's tiles, rows/lanes/keys or `default`. */
  tiles: string;
  oursMs: number;
  ortMs: number;
  /** oursMs / ortMs: below 1 means ours is faster. */
  ratio: number;
  /** Between the two outputs at this length. */
  maxAbsDiff: number;
}

export interface OrtAttentionReport {
  ortVersion: string;
  adapter: string;
  subgroupSizes: { min: number; max: number } | undefined;
  /** Our kernel's tile candidates (rows/lanes/keys or `default`), timed in the same rounds against the same ORT runs. */
  tiles: string[];
  /** Per layout: whether ORT's device had subgroups, and the shader modules ORT compiled for the operator. */
  ort: Record<string, { subgroups: boolean; programs: string[] }>;
  repeat: number;
  /** Checks that passed; the timings are for these settings. */
  agreement: AgreementRow[];
  /** Checks ORT failed with subgroups, before it was run again without them. */
  subgroupFailures: AgreementRow[];
  timings: TimingRow[];
}

/** Tiles of our kernel to time side by side: undefined is its defaults. */
export type TileCandidate = FlashTiles | undefined;

export const tilesLabel = (tiles: TileCandidate): string => (tiles ? `${tiles.rows}/${tiles.lanes}/${tiles.keys}` : 'default');

/** `default,64/1/16,…`: our kernel's tiles as rows/lanes/keys (see FlashTiles) or `default`, comma-separated. */
export function parseTileCandidates(list: string | undefined): TileCandidate[] {
  return (list?.split(',') ?? ['default']).map((text): TileCandidate => {
    if (text === 'default') return undefined;
    const [rows, lanes, keys] = text.split('/').map(Number);
    if (!(rows > 0 && lanes > 0 && keys > 0)) throw new Error(`tiles "${text}" are not rows/lanes/keys`);
    return { rows, lanes, keys };
  });
}

/** Largest difference accepted between the two outputs and against the reference: beyond it the comparison means nothing. */
export const agreementTolerance = 1e-4;

export function agrees(row: AgreementRow): boolean {
  return Math.max(row.oursVsReference, row.ortVsReference, row.oursVsOrt) <= agreementTolerance;
}

/** Why the report cannot be trusted, or undefined when every output agrees within the tolerance. */
export function disagreement(report: Pick<OrtAttentionReport, 'agreement' | 'timings'>): string | undefined {
  const bad = [...report.agreement.filter((r) => !agrees(r)), ...report.timings.filter((r) => !(r.maxAbsDiff <= agreementTolerance))];
  return bad.length ? `outputs differ by more than ${agreementTolerance}: ${JSON.stringify(bad)}` : undefined;
}

const e = (x: number) => x.toExponential(1);

export function formatMarkdown(report: OrtAttentionReport & { browser: string; date: string }): string {
  const subgroups = report.subgroupSizes ? `${report.subgroupSizes.min}–${report.subgroupSizes.max} lanes` : 'size not reported';
  const lines = [
    `Measured ${report.date.slice(0, 10)} in ${report.browser}; onnxruntime-web ${report.ortVersion}, WebGPU EP, f32 ` +
      `com.microsoft GroupQueryAttention (causal prompt, no past), inputs already in GPU buffers. Fastest of ${report.repeat} runs ` +
      `after a warm-up, each round running every tile candidate of ours (rows/lanes/keys; default: its defaults) then ORT's, ` +
      `each from submission to onSubmittedWorkDone.`,
    '',
    '| layout | tokens | our tiles | ours ms | ORT ms | ours / ORT | max abs diff |',
    '|---|---|---|---|---|---|---|',
    ...report.timings.map(
      (r) => `| ${r.layout} | ${r.tokens} | ${r.tiles} | ${r.oursMs.toFixed(1)} | ${r.ortMs.toFixed(1)} | ${r.ratio.toFixed(2)} | ${e(r.maxAbsDiff)} |`,
    ),
    '',
    'Agreement first (max abs diff of the output; reference: double precision on the CPU):',
    ...report.agreement.map(
      (r) => `- ${r.layout}, ${r.tokens} tokens: ours ${e(r.oursVsReference)}, ORT ${e(r.ortVsReference)}, ours vs ORT ${e(r.oursVsOrt)} (ORT ${r.ortSubgroups ? 'with' : 'without'} subgroups)`,
    ),
    ...report.subgroupFailures.map(
      (r) =>
        `- ORT with subgroups (adapter subgroups: ${subgroups}) was wrong on ${r.layout}, ${r.tokens} tokens: ${e(r.ortVsReference)} from the reference; ` +
        'from then on ORT ran on a device without subgroups (its workgroup-memory FlashAttention).',
    ),
    '',
    `ORT's shader programs: ${Object.entries(report.ort)
      .map(([layout, o]) => `${layout}: ${o.programs.join(', ') || 'none recorded'}${o.subgroups ? '' : ' (no subgroups)'}`)
      .join('; ')}.`,
  ];
  return lines.join('\n') + '\n';
}
