// A host without a GPU for testing the engine and the reader's bookkeeping: its "KV cache" is the list
// of token ids fed to it, and its "model" answers with a scripted reply that names the KV row where
// the answer starts, so an answer given on a KV that drifted from the conversation reads differently.
// It checks on every feed that the engine's position is the KV's length.
import { readFileSync } from 'node:fs';
import type { HostFactory, HostHandle } from '../../src/star/star-engine.ts';
import type { EncodeJob, EncodeResult, HostInfo } from '../../src/star/host.ts';
import { parseModelConfig, type ModelConfig } from '../../src/model/config.ts';
import { createTokenizer, type TextTokenizer } from '../../src/model/tokenizer.ts';
import type { ModelSource } from '../../src/model/source/model-source.ts';

const demoDirectory = new URL('../../public/models/demo/', import.meta.url);
const demoFile = (name: string) => readFileSync(new URL(name, demoDirectory), 'utf8');

/** The demo model's text files (no weights: scripted hosts need none), optionally edited. */
export function demoTextFiles(edit: { tokenizerConfig?: (config: Record<string, unknown>) => void } = {}): Map<string, string> {
  const tokenizerConfig = JSON.parse(demoFile('tokenizer_config.json')) as Record<string, unknown>;
  edit.tokenizerConfig?.(tokenizerConfig);
  return new Map([
    ['config.json', demoFile('config.json')],
    ['generation_config.json', demoFile('generation_config.json')],
    ['tokenizer.json', demoFile('tokenizer.json')],
    ['tokenizer_config.json', JSON.stringify(tokenizerConfig)],
  ]);
}

export function filesLocation(files: ReadonlyMap<string, string>): ModelSource {
  return { kind: 'files', files: new Map([...files].map(([name, text]) => [name, new File([text], name)])) };
}

export function tokenizerOf(files: ReadonlyMap<string, string>): TextTokenizer {
  return createTokenizer(JSON.parse(files.get('tokenizer.json')!), JSON.parse(files.get('tokenizer_config.json')!));
}

export function configOf(files: ReadonlyMap<string, string>): ModelConfig {
  return parseModelConfig(JSON.parse(files.get('config.json')!));
}

export interface ScriptedModel {
  /** The reply's text for an answer that starts at KV row `start`; it ends with the first eos id. */
  reply(start: number): string;
  eosTokenId: number;
}

/** What a test can do to a scripted host: read its KV, count calls, make its next calls fail. */
export class ScriptedHost implements HostHandle {
  /** Token ids in the KV, row by row. */
  readonly kv: number[] = [];
  /** Every call that reached this host, in order. */
  readonly calls: string[] = [];
  /** Thrown by the next feed, once. */
  failNextFeed: Error | undefined;
  /** Thrown by every truncate while set (a lost device cannot cut its KV). */
  failTruncate: Error | undefined;
  private answerStart = 0;

  constructor(
    private readonly index: number,
    private readonly config: ModelConfig,
    private readonly tokenizer: TextTokenizer,
    private readonly model: ScriptedModel,
    /** The prefill piece rows it reports (a host's Transformer's maxRows: its scratch). */
    private readonly pieceRows = 512,
  ) {}

  info(): HostInfo {
    const limits = { maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31 };
    const adapter = { description: 'scripted', vendor: '', architecture: '', isFallbackAdapter: false, runsOnCpu: false, subgroupSizes: { min: 0, max: 0 }, subgroupMatrixConfigs: [], features: [], limits };
    return { index: this.index, adapter, config: this.config, weightBytes: 0, pieceRows: this.pieceRows };
  }

  async encode(job: EncodeJob): Promise<EncodeResult> {
    this.calls.push('encode');
    this.kv.length = 0;
    this.kv.push(...job.ids);
    return { tokens: job.ids.length, ms: 0, kvBytes: job.ids.length };
  }

  async partialAttention(): Promise<{ o: Float32Array; lse: Float32Array }> {
    throw new Error('scripted hosts run one host only');
  }

  async feed(ids: readonly number[], firstPosition: number): Promise<Float32Array> {
    const logits = new Float32Array(this.config.vocab);
    logits[this.feedAndReply(ids, firstPosition)] = 1;
    return logits;
  }

  async beginAnswer(): Promise<void> {}

  async readCitations(): Promise<undefined> {
    return undefined;
  }

  async step(ids: readonly number[], firstPosition: number): Promise<number> {
    return this.feedAndReply(ids, firstPosition);
  }

  async endAnswer(): Promise<void> {}

  /** Appends `ids` to the KV and returns the scripted reply's next id. */
  private feedAndReply(ids: readonly number[], firstPosition: number): number {
    this.calls.push('feed');
    const failure = this.failNextFeed;
    this.failNextFeed = undefined;
    if (failure) throw failure;
    if (firstPosition !== this.kv.length) {
      throw new Error(`position drift: fed at position ${firstPosition} but the KV holds ${this.kv.length} rows`);
    }
    this.kv.push(...ids);
    if (ids.length > 1) this.answerStart = this.kv.length;
    const reply = this.tokenizer.encode(this.model.reply(this.answerStart), { addSpecialTokens: false });
    return reply[this.kv.length - this.answerStart] ?? this.model.eosTokenId;
  }

  kvLength(): number {
    return this.kv.length;
  }

  truncate(rows: number): void {
    this.calls.push('truncate');
    if (this.failTruncate) throw this.failTruncate;
    this.kv.length = rows;
  }

  kvBytes(): number {
    return this.kv.length;
  }

  async saveShard(): Promise<never> {
    throw new Error('scripted hosts keep no shards');
  }

  async loadShard(): Promise<never> {
    throw new Error('scripted hosts keep no shards');
  }

  finishLoad(): void {}

  dispose(): void {}
}

/** A host factory that opens scripted hosts and keeps them for the test to inspect. */
export function scriptedHosts(files: ReadonlyMap<string, string>, model: ScriptedModel, pieceRows?: number): { open: HostFactory; hosts: ScriptedHost[] } {
  const hosts: ScriptedHost[] = [];
  const open: HostFactory = async (index) => {
    const host = new ScriptedHost(index, configOf(files), tokenizerOf(files), model, pieceRows);
    hosts.push(host);
    return host;
  };
  return { open, hosts };
}
