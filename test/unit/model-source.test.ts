// The three ways model files arrive. The Cache API path of openUrlSource needs a browser: it is
// tested in test/gpu/weights.test.ts (browser project).
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTensorIndex } from '../../src/model/safetensors.ts';
import { openDirectorySource } from '../../src/model/source/directory-source.node.ts';
import { openFileSource, filesByRelativePath } from '../../src/model/source/file-source.ts';
import { openUrlSource } from '../../src/model/source/url-source.ts';
import { ModelSourceError, type ModelFiles } from '../../src/model/source/model-files.ts';
import { fixtureLocation } from '../support/fixtures.ts';

const dir = fixtureLocation('tiny-qwen2');
const modelBytes = await readFile(join(dir, 'model.safetensors'));
const configText = await readFile(join(dir, 'config.json'), 'utf8');

/** What every source must do with the tiny-qwen2 folder. */
async function behavesLikeTheFolder(source: ModelFiles): Promise<void> {
  expect(await source.readJson('config.json')).toEqual(JSON.parse(configText));
  expect(await source.readJson('model.safetensors.index.json')).toBeUndefined();
  expect(await source.size('model.safetensors')).toBe(modelBytes.length);
  expect(await source.read('model.safetensors', 1000, 300)).toEqual(new Uint8Array(modelBytes.subarray(1000, 1300)));
  expect(await source.read('model.safetensors', modelBytes.length - 10, 100)).toEqual(new Uint8Array(modelBytes.subarray(modelBytes.length - 10)));
  await expect(source.size('tokenizer.json')).rejects.toThrow(`No file "tokenizer.json" in ${source.name}`);
  await expect(source.size('tokenizer.json')).rejects.toBeInstanceOf(ModelSourceError);
  expect((await readTensorIndex(source)).size).toBe(26);
}

describe('openDirectorySource (Node)', () => {
  it('reads a model folder', async () => {
    await behavesLikeTheFolder(openDirectorySource(dir));
  });
});

describe('openFileSource (picked or dropped files)', () => {
  const files = new Map([
    ['config.json', new File([configText], 'config.json')],
    ['model.safetensors', new File([modelBytes], 'model.safetensors')],
  ]);

  it('reads File objects by relative path', async () => {
    await behavesLikeTheFolder(openFileSource(files, 'dropped files'));
  });

  it('keys a picked folder by path inside it', () => {
    const picked = (path: string) => Object.defineProperty(new File([], path.split('/').pop()!), 'webkitRelativePath', { value: path });
    const map = filesByRelativePath([picked('Qwen2.5-0.5B/config.json'), picked('Qwen2.5-0.5B/onnx/model.onnx'), new File([], 'loose.json')]);
    expect([...map.keys()]).toEqual(['config.json', 'onnx/model.onnx', 'loose.json']);
  });

  it('says when a JSON file is not JSON', async () => {
    const source = openFileSource(new Map([['config.json', new File(['{nope'], 'config.json')]]), 'dropped files');
    await expect(source.readJson('config.json')).rejects.toThrow(/^config\.json in dropped files is not valid JSON/);
  });
});

describe('openUrlSource without the Cache API (Range requests)', () => {
  let server: Server;
  let base = '';
  let honourRange = true;
  const requests: string[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const path = req.url!.replace(/^\/models\/tiny\//, '');
      requests.push(`${req.method} ${path} ${req.headers.range ?? ''}`.trim());
      if (path.startsWith('gated/')) return void res.writeHead(401).end();
      if (path === 'spa/config.json') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>');
      let body: Buffer;
      try {
        body = await readFile(join(dir, path));
      } catch {
        return void res.writeHead(404).end();
      }
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (range && honourRange) {
        const [start, end] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
        if (start >= body.length) return void res.writeHead(416).end();
        res.writeHead(206, { 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${body.length}` });
        return void res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end + 1));
      }
      res.writeHead(200, { 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}/models/tiny`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads with HEAD and Range requests', async () => {
    requests.length = 0;
    const source = openUrlSource(base);
    expect(source.name).toBe(`${base}/`);
    await behavesLikeTheFolder(source);
    expect(requests).toContain('GET model.safetensors bytes=1000-1299');
    expect(requests).toContain('HEAD model.safetensors');
  });

  it('copes with a server that ignores Range', async () => {
    honourRange = false;
    try {
      await behavesLikeTheFolder(openUrlSource(base));
    } finally {
      honourRange = true;
    }
  });

  it('names gated models and treats an HTML fallback page as a missing file', async () => {
    await expect(openUrlSource(`${base}/gated/`).readJson('config.json')).rejects.toThrow(
      `${base}/gated/config.json: HTTP 401 (a gated or private model needs access rights)`,
    );
    expect(await openUrlSource(`${base}/spa/`).readJson('config.json')).toBeUndefined();
  });
});
