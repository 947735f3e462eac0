// The models the app offers, and how a Hub repo id becomes the URL base the engine downloads from.
import type { ModelSource, ReaderOptions } from '../star/reader-api.ts';

export interface RecommendedModel {
  repo: string;
  name: string;
  /** Parameter count as the Hub reports it (safetensors metadata). */
  parameters: number;
  /**
   * What the browser downloads: for the bf16 safetensors, parameters × 2 bytes (approximate); for a
   * 4-bit build, its weight files' sizes as the Hub lists them.
   */
  downloadBytes: number;
  /** How the checkpoint stores its weights: bf16, or 4-bit GPTQ/AWQ (kept 4-bit on the GPU). */
  weights: 'bf16' | 'q4';
  /** max_position_embeddings from the model's config.json. */
  contextWindow: number;
  note?: string;
}

const bf16 = (parameters: number) => parameters * 2;

function model(repo: string, name: string, parameters: number, contextWindow: number, note?: string): RecommendedModel {
  return { repo, name, parameters, downloadBytes: bf16(parameters), weights: 'bf16', contextWindow, note };
}

/** A pre-quantized 4-bit build: `parameters` of the model it was made from, `downloadBytes` its files'. */
function model4bit(repo: string, name: string, parameters: number, downloadBytes: number, contextWindow: number, note: string): RecommendedModel {
  return { repo, name, parameters, downloadBytes, weights: 'q4', contextWindow, note };
}

export const recommendedModels: RecommendedModel[] = [
  model('Qwen/Qwen2.5-0.5B-Instruct', 'Qwen2.5-0.5B-Instruct', 494_032_768, 32_768),
  model('Qwen/Qwen2.5-1.5B-Instruct', 'Qwen2.5-1.5B-Instruct', 1_543_714_304, 32_768),
  model('Qwen/Qwen3-0.6B', 'Qwen3-0.6B', 751_632_384, 40_960),
  model('Qwen/Qwen3-1.7B', 'Qwen3-1.7B', 2_031_739_904, 40_960),
  model(
    'unsloth/Llama-3.2-1B-Instruct',
    'Llama-3.2-1B-Instruct',
    1_235_814_400,
    131_072,
    'Ungated copy of meta-llama/Llama-3.2-1B-Instruct (that repo needs a Hub login the browser does not have).',
  ),
  model(
    'unsloth/Llama-3.2-3B-Instruct',
    'Llama-3.2-3B-Instruct',
    3_212_749_824,
    131_072,
    'Ungated copy of meta-llama/Llama-3.2-3B-Instruct.',
  ),
  model('HuggingFaceTB/SmolLM2-1.7B-Instruct', 'SmolLM2-1.7B-Instruct', 1_711_376_384, 8_192),
  model('HuggingFaceTB/SmolLM2-360M-Instruct', 'SmolLM2-360M-Instruct', 361_821_120, 8_192),
  // Families added with phi3, smollm3, gemma2 and gemma3_text. Parameter counts were not read from the
  // Hub here (no access from this project's machines); they are the published sizes.
  model('microsoft/Phi-3.5-mini-instruct', 'Phi-3.5-mini-instruct', 3_821_079_552, 131_072, 'LongRoPE: 128K tokens.'),
  model('microsoft/Phi-4-mini-instruct', 'Phi-4-mini-instruct', 3_836_021_760, 131_072, 'LongRoPE: 128K tokens.'),
  model('HuggingFaceTB/SmolLM3-3B', 'SmolLM3-3B', 3_075_098_624, 65_536, 'Every 4th layer without rotary embedding (NoPE).'),
  model('unsloth/gemma-3-1b-it', 'Gemma-3-1B-it', 999_885_952, 32_768, 'Ungated copy of google/gemma-3-1b-it; local (sliding-window) and global layers.'),
  model('unsloth/gemma-2-2b-it', 'Gemma-2-2B-it', 2_614_341_888, 8_192, 'Ungated copy of google/gemma-2-2b-it; soft-capped attention and logits.'),
  // 4-bit builds (GPTQ/AWQ int4, recognised from config.json's quantization_config). Repository names
  // and file sizes as the Hub lists them (model.safetensors, or the sum of the shards).
  model4bit('Qwen/Qwen2.5-1.5B-Instruct-GPTQ-Int4', 'Qwen2.5-1.5B-Instruct (4-bit GPTQ)', 1_543_714_304, 1_150_000_000, 32_768, "Qwen's own GPTQ int4 build."),
  model4bit('Qwen/Qwen2.5-3B-Instruct-GPTQ-Int4', 'Qwen2.5-3B-Instruct (4-bit GPTQ)', 3_085_938_688, 2_070_000_000, 32_768, "Qwen's own GPTQ int4 build."),
  model4bit(
    'joshmiller656/Llama3.2-3B-Instruct-AWQ-INT4',
    'Llama-3.2-3B-Instruct (4-bit AWQ)',
    3_212_749_824,
    3_040_000_000,
    131_072,
    'A community AWQ int4 build of meta-llama/Llama-3.2-3B-Instruct (ungated).',
  ),
  model4bit(
    'hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4',
    'Llama-3.1-8B-Instruct (4-bit AWQ)',
    8_030_261_248,
    5_730_000_000,
    131_072,
    "Hugging Face's AWQ int4 build of meta-llama/Llama-3.1-8B-Instruct (ungated).",
  ),
];

/** A model the app can load, with what the UI shows about it before the engine has read it. */
export interface ModelChoice {
  /** Stable key: `hub:owner/name`, `demo`, `folder:name`, or anything an embedder picks. */
  key: string;
  label: string;
  source: ModelSource;
  downloadBytes?: number;
  /** How the checkpoint stores its weights, where known before download. */
  weights?: RecommendedModel['weights'];
  contextWindow?: number;
}

/**
 * How the app places a model's weights on the GPU, from how its checkpoint stores them: bf16 as on disk
 * (16 bits a weight, the same numbers), a 4-bit build in groups of 128 with its input embedding kept
 * in CPU memory (what lets Llama-3.1-8B's build and a 32K-token cache fit in 8 GiB;
 * bench/results/memory-formats.md). Unknown checkpoints (a folder, the demo) load as the engine's default.
 */
export function weightOptions(choice: Pick<ModelChoice, 'weights'>): Pick<ReaderOptions, 'weightType' | 'cpuEmbedding'> {
  if (choice.weights === 'bf16') return { weightType: 'bf16' };
  if (choice.weights === 'q4') return { weightType: 'q4g128', cpuEmbedding: true };
  return {};
}

const repoPattern = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** "owner/name", or a huggingface.co link to the repo (any page of it), to "owner/name"; undefined if neither. */
export function parseHubRepo(input: string): string | undefined {
  const text = input.trim();
  const link = /^https?:\/\/(?:www\.)?huggingface\.co\/([^/?#]+\/[^/?#]+)/.exec(text);
  const repo = link ? link[1] : text;
  return repoPattern.test(repo) && !repo.includes('..') ? repo : undefined;
}

export function hubBase(repo: string): string {
  return `https://huggingface.co/${repo}/resolve/main/`;
}

export function hubSource(repo: string): ModelChoice {
  const known = recommendedModels.find((m) => m.repo === repo);
  return {
    key: `hub:${repo}`,
    label: known?.name ?? repo,
    source: { kind: 'url', base: hubBase(repo) },
    downloadBytes: known?.downloadBytes,
    weights: known?.weights,
    contextWindow: known?.contextWindow,
  };
}

export const demoModelLabel = 'Embedded demo model';
export const demoModelWarning = 'demo: not trained, it answers by quoting the document — for trying the flow and the speedup';
/** Said beside the demo's answers, so that a quote is not taken for an answer. */
export const demoModelAnswers =
  'Demo model, not trained: it answers by quoting your document, without understanding it. Load a real model for real answers.';

const demoBase = (pageBase: string) => new URL('models/demo/', pageBase).href;

/** The demo model's files ship with the app under public/models/demo/; `pageBase` is the app's base URL. */
export function demoSource(pageBase: string): ModelChoice {
  return { key: 'demo', label: demoModelLabel, source: { kind: 'url', base: demoBase(pageBase) } };
}

/** A model's URL base as people know it: a Hub repo id, the demo model, or the URL itself. */
export function urlModelLabel(base: string, pageBase: string): string {
  const repo = /^https:\/\/huggingface\.co\/([^/]+\/[^/]+)\/resolve\/main\/$/.exec(base)?.[1];
  if (repo) return repo;
  return base === demoBase(pageBase) ? demoModelLabel : base;
}
