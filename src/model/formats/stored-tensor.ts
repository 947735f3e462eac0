// A weight tensor as a checkpoint stores it, behind one interface for every container (safetensors,
// GPTQ/AWQ safetensors, GGUF): its logical shape in Hugging Face's layout ([outs, ins] or [n]) and a
// way to read a range of its rows, either as float bytes (converted by the loader to the requested
// GPU format) or already in a quantized GPU layout (kept as it is).
import type { QuantizedFormat } from '../../gpu/kernels/weight-format.ts';
import { readTensorBytes, type FloatDType, type TensorInfo } from '../safetensors.ts';
import type { ModelFiles } from '../source/model-files.ts';
import type { PackedWeights } from './quantize.ts';

export type StoredRows = { kind: 'float'; dtype: FloatDType; bytes: Uint8Array } | { kind: 'packed'; packed: PackedWeights };

export interface StoredTensor {
  readonly name: string;
  /** Where it is, for messages. */
  readonly file: string;
  /** Hugging Face's shape: [outs, ins] for a matrix, [n] for a vector. */
  readonly shape: readonly number[];
  /** Bytes of the file behind it (progress counts these). */
  readonly fileBytes: number;
  /** The GPU format a pre-quantized tensor must keep; undefined for float tensors. */
  readonly quantized?: QuantizedFormat;
  /** Fewest rows one read should take (whole file blocks, or the whole tensor when rows are not contiguous on disk). */
  readonly minReadRows: number;
  /** The float dtype on disk (the 16-bit formats keep it), undefined when quantized. */
  readonly floatDType?: FloatDType;
  read(firstRow: number, rows: number): Promise<StoredRows>;
}

/** The tensors of one checkpoint by Hugging Face name, and what kind of checkpoint it is. */
export interface TensorProvider {
  /** "safetensors", "GPTQ int4 safetensors", "GGUF Q4_K_M", …: for messages and the UI. */
  readonly description: string;
  get(name: string): StoredTensor | undefined;
}

export class WeightFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightFormatError';
  }
}

/** A plain F32/F16/BF16 safetensors tensor: rows are contiguous on disk. */
export function floatTensor(source: ModelFiles, info: TensorInfo): StoredTensor {
  const dtype = info.dtype as FloatDType;
  const rows = info.shape.length === 2 ? info.shape[0] : 1;
  const rowBytes = (info.end - info.begin) / rows;
  return {
    name: info.name,
    file: info.file,
    shape: info.shape,
    fileBytes: info.end - info.begin,
    minReadRows: 2,
    floatDType: dtype,
    async read(firstRow, count) {
      return { kind: 'float', dtype, bytes: await readTensorBytes(source, info, firstRow * rowBytes, count * rowBytes) };
    },
  };
}
