// Safetensors files (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}, then raw
// little-endian tensor data; offsets count from the end of the header. Big models come as shards
// listed by model.safetensors.index.json ({weight_map: {name: file}}).
// Headers are validated in full before any tensor is read: a truncated download or a wrong file
// should fail here with a message saying what is wrong, not later as garbage logits.
import { bf16BitsToF32, f16BitsToF32 } from './dtype.ts';
import type { ModelFiles } from './source/model-files.ts';

/** Element sizes of every dtype the format defines; Star Reader reads the first three. */
const itemBytes = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  F8_E8M0: 1,
} as const;

export type SafetensorsDType = keyof typeof itemBytes;
export type FloatDType = 'F32' | 'F16' | 'BF16';
export const floatDTypes: readonly FloatDType[] = ['F32', 'F16', 'BF16'];

export interface TensorInfo {
  name: string;
  /** The file (relative to the model's source) holding the data. */
  file: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Absolute byte range in `file`. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** The format's own limit (safetensors MAX_HEADER_SIZE): anything larger is not a safetensors file. */
const maxHeaderBytes = 100_000_000;

export const singleFile = 'model.safetensors';
export const indexFile = 'model.safetensors.index.json';

/** Reads and validates the header of one safetensors file. */
export async function readSafetensorsHeader(source: ModelFiles, file: string): Promise<SafetensorsHeader> {
  const fail = (message: string) => new SafetensorsError(file, message);
  const fileBytes = await source.size(file);
  if (fileBytes < 8) throw fail(`${fileBytes} bytes is too short for a safetensors file (8-byte header length missing)`);
  const lengthBytes = await source.read(file, 0, 8);
  const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) {
    throw fail(`header length ${headerLength} is absurd (limit ${maxHeaderBytes} bytes): not a safetensors file`);
  }
  const length = Number(headerLength);
  if (8 + length > fileBytes) {
    throw fail(`header length ${length} runs past the end of the file (${fileBytes} bytes): truncated or not a safetensors file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(file, 8, length)));
  } catch (error) {
    throw fail(`header is not valid JSON (${(error as Error).message})`);
  }
  return parseHeader(json, file, 8 + length, fileBytes);
}

function parseHeader(json: unknown, file: string, dataStart: number, fileBytes: number): SafetensorsHeader {
  const fail = (message: string) => new SafetensorsError(file, message);
  if (!isRecord(json)) throw fail('header is not a JSON object');
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const dataBytes = fileBytes - dataStart;
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(entry, fail);
      continue;
    }
    const { dtype, shape, begin, end } = parseEntry(name, entry, fail);
    if (end > dataBytes) {
      throw fail(
        `tensor "${name}" data ends at byte ${dataStart + end}, past the end of the file (${fileBytes} bytes): the file is truncated`,
      );
    }
    tensors.set(name, { name, file, dtype, shape, begin: dataStart + begin, end: dataStart + end });
  }
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.begin < a.end) throw fail(`tensors "${a.name}" and "${b.name}" overlap in the file`);
  }
  return { tensors, metadata };
}

/** One tensor's entry, {dtype, shape, data_offsets: [begin, end]} with offsets relative to the data. */
function parseEntry(
  name: string,
  entry: unknown,
  fail: (message: string) => SafetensorsError,
): { dtype: SafetensorsDType; shape: number[]; begin: number; end: number } {
  if (!isRecord(entry)) throw fail(`tensor "${name}" is ${JSON.stringify(entry)}, not an object {dtype, shape, data_offsets}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  // Own keys only: "constructor" or "toString" are no dtypes.
  if (typeof dtype !== 'string' || !Object.hasOwn(itemBytes, dtype)) {
    throw fail(`tensor "${name}" has ${dtype === undefined ? 'no dtype' : `unknown dtype ${JSON.stringify(dtype)}`}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw fail(`tensor "${name}" has ${shape === undefined ? 'no shape' : `an invalid shape ${JSON.stringify(shape)}`}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
    throw fail(`tensor "${name}" has ${offsets === undefined ? 'no data_offsets' : `invalid data_offsets ${JSON.stringify(offsets)}`}`);
  }
  const [begin, end] = offsets as [number, number];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * itemBytes[dtype as SafetensorsDType];
  if (end - begin !== expected) {
    throw fail(
      `tensor "${name}" (${dtype} [${shape.join(', ')}]) should take ${expected} bytes but its data_offsets [${begin}, ${end}] span ${end - begin}`,
    );
  }
  return { dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end };
}

/** `__metadata__`: string keys to string values, as the format defines it. */
function parseMetadata(value: unknown, fail: (message: string) => SafetensorsError): Record<string, string> {
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw fail(`__metadata__ must map names to strings, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every tensor of a model: from model.safetensors.index.json and its shards when the source has the
 * index, else from model.safetensors.
 */
export async function readTensorIndex(source: ModelFiles): Promise<Map<string, TensorInfo>> {
  const index = await source.readJson(indexFile);
  if (index === undefined) return (await readSafetensorsHeader(source, singleFile)).tensors;

  const weightMap = (index as { weight_map?: unknown }).weight_map;
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new SafetensorsError(indexFile, 'has no "weight_map" object');
  }
  const map = weightMap as Record<string, unknown>;
  const files = [...new Set(Object.values(map))];
  const bad = files.find((f) => typeof f !== 'string' || f.includes('..'));
  if (bad !== undefined) throw new SafetensorsError(indexFile, `weight_map names an invalid file ${JSON.stringify(bad)}`);
  const tensors = new Map<string, TensorInfo>();
  for (const file of files as string[]) {
    for (const [name, info] of (await readSafetensorsHeader(source, file)).tensors) {
      if (map[name] === file) tensors.set(name, info);
    }
  }
  const absent = Object.keys(map).find((name) => !tensors.has(name));
  if (absent !== undefined) {
    throw new SafetensorsError(String(map[absent]), `has no tensor "${absent}" although ${indexFile} lists it there`);
  }
  return tensors;
}

/** Little-endian F32/F16/BF16 bytes as f32 values (F32 may share memory with `bytes`). */
export function toFloat32(bytes: Uint8Array, dtype: FloatDType): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  if (dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  const bits = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 2);
  return dtype === 'BF16' ? bf16BitsToF32(bits) : f16BitsToF32(bits);
}

/** Reads one tensor's raw bytes. */
export async function readTensorBytes(source: ModelFiles, info: TensorInfo, byteOffset = 0, length = info.end - info.begin - byteOffset): Promise<Uint8Array> {
  const bytes = await source.read(info.file, info.begin + byteOffset, length);
  if (bytes.byteLength !== length) {
    throw new SafetensorsError(info.file, `short read of tensor "${info.name}": got ${bytes.byteLength} of ${length} bytes (file changed or truncated?)`);
  }
  return bytes;
}
