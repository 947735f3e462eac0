// `star-reader generate`: ask a model about a document from the terminal, one question (--prompt) or
// a conversation (--chat, one question per line on standard input). The answer streams to stdout;
// phase-1 and answer stats go to stderr.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { asUsage, parseOptions, UsageError, type OptionSpec } from './args.ts';
import { createReader } from '../star/reader.ts';
import { openLocalHost } from '../star/local-host.ts';
import type { Reader } from '../star/reader-api.ts';
import { megabytes, progressLine, tokens } from './progress.ts';
import { folderDocumentStore } from '../star/document-store.node.ts';
import { openOrEncode } from './kv-cache.ts';
import { parseWeightType, type WeightType } from '../model/weights.ts';
import { defaultKvType, parseKvType } from '../model/kv-cache.ts';
import type { KvType } from '../gpu/kernels/kv-store.ts';

export const generateOptions = {
  model: { type: 'string', required: true, help: 'model directory in Hub layout, with tokenizer.json' },
  prompt: { type: 'string', help: 'the question (or text) to answer' },
  chat: { type: 'boolean', help: 'a conversation: one question per line on standard input, follow-ups keep the context' },
  document: { type: 'string', help: 'a text file the questions are about (default: none)' },
  attention: { type: 'string', default: 'star', help: 'star or full' },
  'block-size': { type: 'number', help: 'Star Attention block size (default: chosen from the document length)' },
  hosts: { type: 'number', default: 1, help: 'Star Attention hosts, each with its own GPU device' },
  'max-tokens': { type: 'number', default: 256, help: 'most tokens per answer' },
  temperature: { type: 'number', help: 'sampling temperature (0: greedy; default: the model’s generation_config)' },
  'top-k': { type: 'number', help: 'sample among the k most likely tokens' },
  'top-p': { type: 'number', help: 'sample within this probability mass' },
  seed: { type: 'number', help: 'random seed for sampling' },
  'weight-type': {
    type: 'string',
    default: 'f32',
    help: 'weights on the GPU: f32, bf16, f16 (16-bit files kept as they are), q8, q4 (groups of 32) or q4g128 (groups of 128: 4.25 bits a weight)',
  },
  'cpu-embedding': { type: 'boolean', help: 'keep the input embedding in CPU memory (models whose lm_head is not tied to it: less GPU memory)' },
  'kv-cache-type': { type: 'string', default: defaultKvType, help: 'element type of the KV cache on the GPU: f16 (half the memory) or f32 (exact)' },
  'kv-cache': { type: 'string', help: 'a folder keeping the encoded document: reopened from there if it holds it, else saved there after reading' },
} satisfies OptionSpec;

export async function generate(argv: readonly string[]): Promise<void> {
  const o = parseOptions(argv, generateOptions);
  if (!o.chat && o.prompt === undefined) throw new UsageError('Give --prompt "…" or --chat');
  if (o.attention !== 'star' && o.attention !== 'full') throw new UsageError(`--attention must be star or full, got "${o.attention}"`);
  const weightType: WeightType = asUsage(() => parseWeightType(o['weight-type']));
  const kvType: KvType = asUsage(() => parseKvType(o['kv-cache-type']));
  const document = o.document ? await readFile(resolve(o.document), 'utf8') : '';
  const loading = progressLine('loading the model', megabytes);
  const store = o['kv-cache'] === undefined ? undefined : folderDocumentStore(o['kv-cache']);
  const reader = await createReader({
    model: { kind: 'directory', path: resolve(o.model) },
    hosts: o.hosts,
    weightType,
    cpuEmbedding: o['cpu-embedding'],
    kvType,
    openHost: openLocalHost,
    onLoadProgress: (p) => p.type === 'place' && loading.update(p.bytesDone, p.bytesTotal), // a folder on disk: nothing downloads
    documentStore: store,
  });
  loading.end();
  try {
    const choices = { attention: o.attention, blockSize: o['block-size'] } as const;
    if (store) console.error(await openOrEncode(reader, store, { path: o.document ?? 'no document', text: document }, choices));
    else {
      const reading = progressLine('reading the document', tokens);
      const stats = await reader.loadDocument(document, { ...choices, onProgress: (p) => reading.update(p.tokensDone, p.tokensTotal) });
      reading.end();
      console.error(`[read ${stats.tokens} tokens in ${stats.encodeMs.toFixed(0)} ms: ${stats.attention} attention, ${stats.blocks} block(s), ${stats.hosts} host(s)]`);
    }
    // Only the options given: an undefined temperature would override the model's generation_config.
    const given = { temperature: o.temperature, topK: o['top-k'], topP: o['top-p'], seed: o.seed };
    const sampling = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined));
    if (o.prompt !== undefined) await answer(reader, o.prompt, o['max-tokens'], sampling);
    if (o.chat) {
      const lines = createInterface({ input: process.stdin, terminal: false });
      if (process.stdin.isTTY) process.stderr.write('> ');
      for await (const line of lines) {
        if (line.trim()) await answer(reader, line, o['max-tokens'], sampling);
        if (process.stdin.isTTY) process.stderr.write('> ');
      }
    }
  } finally {
    await reader.dispose();
  }
}

async function answer(reader: Reader, question: string, maxTokens: number, sampling: Record<string, number | undefined>): Promise<void> {
  const stream = reader.ask(question, { maxTokens, sampling });
  for await (const piece of stream) process.stdout.write(piece);
  const s = stream.stats!; // the loop ran to the end
  process.stdout.write('\n');
  console.error(`[${s.generatedTokens} tokens, query ${s.queryMs.toFixed(0)} ms, ${s.decodeTokensPerSecond.toFixed(1)} tokens/s, stopped by ${s.stoppedBy}]`);
}
