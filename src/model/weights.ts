// Model weights from a model's files (ModelFiles) to GPU buffers, tensor by tensor and in bounded chunks, so the
// model never sits whole in JS memory. Every expected tensor is checked (present, right shape, a float
// dtype) before anything is allocated; on any error, every buffer created so far is destroyed.
// Matrices become LinearWeights in the requested format (src/gpu/kernels/weight-format.ts), split into
// row ranges when larger than one storage binding; norm weights and biases are always f32.
//   f32:       every matrix as f32.
//   bf16, f16: 16 bits a weight on every adapter: a bf16 or f16 tensor keeps its bytes as they are on
//              disk (whichever of the two was asked for: converting one to the other would round), an
//              f32 tensor is rounded to the requested one.
//   q8, q4:    group-quantized at load (src/model/formats/quantize.ts), groups of 32;
//   q4g128:    q4 in groups of 128 (4.25 bits a weight instead of 5; rows must be whole groups of 128).
// Pre-quantized tensors (GPTQ/AWQ layers, GGUF blocks) keep their own quantized format whatever was asked.
// A layer's q, k and v projections, and its gate and up projections, are stored as one matrix each
// (rows one after another, quantized rows with their own scales; biases likewise) when they share a
// format and the whole fits one binding: decoding reads each in one dispatch (see Projections).
// With cpuEmbedding, an untied model's input embedding stays in CPU memory in that same format
// (src/model/cpu-embedding.ts); a tied one's is the lm_head too, so it goes to the GPU all the same.
import type { Gpu } from '../gpu/gpu.ts';
import type { LinearWeight } from '../gpu/kernels/linear.ts';
import { isQuantized, quantGroupSize, weightBytes, type WeightFormat, type WeightPart } from '../gpu/kernels/weight-format.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelConfig } from './config.ts';
import { CpuEmbedding, type EmbeddingChunk } from './cpu-embedding.ts';
import { f32ToBf16Bits, f32ToF16Bits } from './dtype.ts';
import { layerNormNames, projectionSources, type ProjectionRows } from './families.ts';
import { quantize, QuantizationError, type PackedWeights } from './formats/quantize.ts';
import { safetensorsProvider } from './formats/safetensors-provider.ts';
import { WeightFormatError, type StoredRows, type StoredTensor, type TensorProvider } from './formats/stored-tensor.ts';
import { toFloat32, type FloatDType } from './safetensors.ts';
import type { WeightProgress } from './load-progress.ts';
import type { ModelFiles } from './source/model-files.ts';

/** A matrix as loadWeights stores it: every part a WeightPart (format, and scales when quantized). */
export interface LoadedLinear extends LinearWeight {
  parts: readonly WeightPart[];
}

/**
 * Projections that read the same input, stored one after another as one matrix (and their biases as
 * one vector) when they can be (fusable): a decoded token then reads them in one dispatch, and a
 * piece of many rows in one matrix product. `fused` holds them in the order of the separate form's keys.
 */
export type Projections<Name extends string> = { fused: LoadedLinear; rows: Record<Name, number> } | Record<Name, LoadedLinear>;

/** The matrices of `projections` by name: the fused one ('q+k+v'), or each apart. */
export function projectionMatrices<Name extends string>(projections: Projections<Name>): Array<[string, LoadedLinear]> {
  if ('fused' in projections) return [[Object.keys(projections.rows).join('+'), projections.fused as LoadedLinear]];
  return Object.entries(projections) as Array<[string, LoadedLinear]>;
}

/** Where projection `name` is: its matrix and the rows [first, first + rows) of it that are its own. */
export function projectionOf<Name extends string>(projections: Projections<Name>, name: Name): { weight: LoadedLinear; first: number; rows: number } {
  if (!('fused' in projections)) {
    const weight = (projections as Record<Name, LoadedLinear>)[name];
    return { weight, first: 0, rows: weight.outs };
  }
  const names = Object.keys(projections.rows) as Name[];
  const first = names.slice(0, names.indexOf(name)).reduce((sum, other) => sum + projections.rows[other], 0);
  return { weight: projections.fused, first, rows: projections.rows[name] };
}

export interface LayerWeights {
  inputNorm: Tensor;
  /** [Wq; Wk; Wv], or q, k and v apart (projections in different formats, or too large for one binding). */
  qkv: Projections<'q' | 'k' | 'v'>;
  o: LoadedLinear;
  qNorm?: Tensor;
  kNorm?: Tensor;
  /** Gemma: the norm of attention's output, before the residual add. */
  attentionOutputNorm?: Tensor;
  /** The norm before the MLP (Hugging Face's post_attention_layernorm, Gemma's pre_feedforward_layernorm). */
  postAttentionNorm: Tensor;
  /** Gemma: the norm of the MLP's output, before the residual add. */
  mlpOutputNorm?: Tensor;
  /** [Wgate; Wup], or gate and up apart. */
  gateUp: Projections<'gate' | 'up'>;
  down: LoadedLinear;
}

export interface ModelWeights {
  /** The input embedding: a GPU table, or rows gathered on the CPU (LoadWeightsOptions.cpuEmbedding, untied models). */
  embedding: LoadedLinear | CpuEmbedding;
  layers: LayerWeights[];
  finalNorm: Tensor;
  /** The same object as `embedding` when the model ties them. */
  lmHead: LoadedLinear;
  /** GPU bytes of all weight buffers (a CpuEmbedding's are its own `bytes`). */
  bytes: number;
  destroy(): void;
}

/** The weight format asked for (see the top of this file for what each does with each checkpoint). */
export type WeightType = 'f32' | 'bf16' | 'f16' | 'q8' | 'q4' | 'q4g128';

export const weightTypes: readonly WeightType[] = ['f32', 'bf16', 'f16', 'q8', 'q4', 'q4g128'];

/** A weight type as a user writes it (the CLI's --weight-type, a setting); throws saying the choices. */
export function parseWeightType(text: string): WeightType {
  const type = text.trim().toLowerCase();
  if (!(weightTypes as readonly string[]).includes(type)) {
    throw new ModelWeightsError(`Weight type must be one of ${weightTypes.join(', ')}, got "${text}"`);
  }
  return type as WeightType;
}

export interface LoadWeightsOptions {
  weightType?: WeightType;
  onProgress?: (progress: WeightProgress) => void;
  signal?: AbortSignal;
  /** Where the tensors come from; default: the source's safetensors (GPTQ/AWQ recognised by config.json). */
  provider?: TensorProvider;
  /**
   * Keep the input embedding in CPU memory and gather each piece's rows there (src/model/cpu-embedding.ts):
   * saves vocab × hidden weights of GPU memory on a model with an untied lm_head; ignored for a tied
   * one, whose lm_head needs the table on the GPU anyway. Ids then must come from the CPU
   * (ForwardRequest.tokens cannot be used).
   */
  cpuEmbedding?: boolean;
  /**
   * false: every projection its own matrix, none fused (Projections), as loaded before fusion existed:
   * for tests and benchmarks that compare the two. Default true.
   */
  fuseProjections?: boolean;
}

/** Whether loadWeights keeps this model's input embedding on the CPU when asked to. */
export function embeddingOnCpu(config: Pick<ModelConfig, 'tieWordEmbeddings'>, cpuEmbedding: boolean | undefined): boolean {
  return cpuEmbedding === true && !config.tieWordEmbeddings;
}

export class ModelWeightsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelWeightsError';
  }
}

/** Source bytes converted and written per step: bounds JS memory while loading. */
const chunkBytes = 16 << 20;
/** Written bytes between waits for the queue, so staging copies of writes do not pile up. */
const flushBytes = 256 << 20;

interface Expected {
  name: string;
  shape: number[];
  /** Matrices take the requested weight type; vectors (norm weights, biases) stay f32. */
  type: 'matrix' | 'vector';
}

/** Hugging Face tensor names and shapes a model with this config has. */
export function expectedTensors(config: ModelConfig): Expected[] {
  const { hidden, heads, kvHeads, headDim, intermediate, vocab } = config;
  const linear = (name: string, shape: number[]): Expected => ({ name, shape, type: 'matrix' });
  const norm = (name: string, size: number): Expected => ({ name, shape: [size], type: 'vector' });
  const list = [linear('model.embed_tokens.weight', [vocab, hidden])];
  // Stored tensors holding several projections (Phi-3's fused ones): the sum of their rows.
  const storedRows = (parts: ProjectionRows[]) => parts.reduce((rows, part) => rows + part.rows, 0);
  const tensorsOf = (parts: ProjectionRows[]) => [...new Set(parts.map((part) => part.tensor))];
  const projections = (parts: ProjectionRows[]) =>
    tensorsOf(parts).map((tensor) => linear(tensor, [storedRows(parts.filter((part) => part.tensor === tensor)), hidden]));
  for (let i = 0; i < config.layers; i++) {
    const p = `model.layers.${i}.`;
    const sources = projectionSources(config, i);
    const norms = layerNormNames(config.family, i);
    list.push(norm(norms.input, hidden), ...projections([sources.q, sources.k, sources.v]), linear(`${p}self_attn.o_proj.weight`, [hidden, heads * headDim]));
    if (config.attentionBias) {
      list.push(
        norm(`${p}self_attn.q_proj.bias`, heads * headDim),
        norm(`${p}self_attn.k_proj.bias`, kvHeads * headDim),
        norm(`${p}self_attn.v_proj.bias`, kvHeads * headDim),
      );
    }
    if (config.attentionOutputBias) list.push(norm(`${p}self_attn.o_proj.bias`, hidden));
    if (config.qkNorm) list.push(norm(`${p}self_attn.q_norm.weight`, headDim), norm(`${p}self_attn.k_norm.weight`, headDim));
    if (norms.attentionOutput) list.push(norm(norms.attentionOutput, hidden));
    list.push(norm(norms.mlpInput, hidden), ...projections([sources.gate, sources.up]), linear(`${p}mlp.down_proj.weight`, [hidden, intermediate]));
    if (norms.mlpOutput) list.push(norm(norms.mlpOutput, hidden));
  }
  list.push(norm('model.norm.weight', hidden));
  if (!config.tieWordEmbeddings) list.push(linear('lm_head.weight', [vocab, hidden]));
  return list;
}

/** Every expected tensor from the provider, present and of the shape config.json implies. */
function checkTensors(provider: TensorProvider, expected: Expected[], sourceName: string): Map<string, StoredTensor> {
  const found = new Map<string, StoredTensor>();
  for (const { name, shape, type } of expected) {
    const stored = provider.get(name);
    if (!stored) {
      const hint = name === 'lm_head.weight' ? ' (config.json says tie_word_embeddings: false)' : '';
      throw new ModelWeightsError(`Tensor "${name}" is missing from ${sourceName}${hint}`);
    }
    if (stored.shape.length !== shape.length || stored.shape.some((d, i) => d !== shape[i])) {
      throw new ModelWeightsError(`Tensor "${name}" in ${stored.file} has shape [${stored.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`);
    }
    if (type === 'vector' && stored.quantized) throw new ModelWeightsError(`Tensor "${name}" in ${stored.file} is quantized, but norm weights and biases must be float`);
    found.set(name, stored);
  }
  return found;
}

/** The GPU format of a matrix stored as `stored` when `weightType` is asked for. */
export function matrixFormat(stored: Pick<StoredTensor, 'quantized' | 'floatDType'>, weightType: WeightType): WeightFormat {
  if (stored.quantized) return stored.quantized;
  if (weightType === 'bf16' || weightType === 'f16') {
    if (stored.floatDType === 'BF16') return 'bf16';
    if (stored.floatDType === 'F16') return 'f16';
  }
  return weightType;
}

/** Checks a matrix's rows suit its GPU format: whole 4-element reads, and whole groups when quantized. */
function checkRows(name: string, ins: number, format: WeightFormat): void {
  if (ins % 4 !== 0) {
    throw new ModelWeightsError(`Tensor "${name}" has rows of ${ins} elements: weight matrices need a multiple of 4 (the kernels read 4 at a time)`);
  }
  if (isQuantized(format) && ins % quantGroupSize(format) !== 0) {
    const instead = format === 'q4g128' && ins % quantGroupSize('q4') === 0 ? 'q4' : 'bf16 or f16';
    throw new ModelWeightsError(
      `Tensor "${name}" has rows of ${ins} elements, not whole groups of ${quantGroupSize(format)}: it cannot be stored as ${format} (use ${instead} weights)`,
    );
  }
}

export async function loadWeights(gpu: Gpu, source: ModelFiles, config: ModelConfig, options: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const weightType = options.weightType ?? 'f32';
  if (!weightTypes.includes(weightType)) throw new ModelWeightsError(`Unknown weight type "${weightType}" (one of ${weightTypes.join(', ')})`);
  const expected = expectedTensors(config);
  const tensors = await asWeightsError(async () => checkTensors(options.provider ?? (await safetensorsProvider(source)), expected, source.name));
  const bytesTotal = [...tensors.values()].reduce((sum, t) => sum + t.fileBytes, 0);

  const created: GPUBuffer[] = [];
  const destroyAll = () => created.forEach((b) => b.destroy());
  let bytesDone = 0;
  let unflushed = 0;

  /**
   * One tensor, or its rows [range.firstRow, range.firstRow + range.rows), as GPU row ranges in
   * `format`, each at most one storage binding; or, with `into`, written into that one part from its
   * element `into.element` on (a fused matrix or vector: the caller has checked it fits).
   */
  async function upload(name: string, format: WeightFormat, range?: { firstRow: number; rows: number }, into?: { part: WeightPart; element: number }): Promise<WeightPart[]> {
    const stored = tensors.get(name)!;
    const [storedRows, ins] = stored.shape.length === 2 ? stored.shape : [1, stored.shape[0]];
    const rangeFirst = range?.firstRow ?? 0;
    const rows = range?.rows ?? storedRows;
    if (stored.shape.length === 2) checkRows(name, ins, format);
    const rowBytes = weightBytes(format, ins).data;
    const partRows = into ? rows : Math.min(rows, Math.floor(gpu.maxBindingBytes / rowBytes));
    if (partRows === 0) {
      throw new ModelWeightsError(`One row of "${name}" (${rowBytes} bytes) exceeds the device's largest storage binding (${gpu.maxBindingBytes} bytes)`);
    }
    const sourceRowBytes = stored.fileBytes / storedRows;
    const stepRows = readStepRows(stored, storedRows);
    const parts: WeightPart[] = [];
    for (let first = 0; first < rows; first += partRows) {
      const count = Math.min(partRows, rows - first);
      const part = into?.part ?? (await allocatePart(name, format, stored.shape.length === 2 ? [count, ins] : [ins], partRows < storedRows ? [rangeFirst + first, count] : undefined));
      const { buffer, scales } = part;
      parts.push(part);
      for (let row = first; row < first + count; row += stepRows) {
        options.signal?.throwIfAborted();
        const n = Math.min(stepRows, first + count - row);
        const read = await stored.read(rangeFirst + row, n);
        const local = (into?.element ?? 0) + (row - first) * ins;
        const converted = convert(read, format, name);
        if (converted instanceof Float32Array || converted instanceof Uint16Array) {
          gpu.write(buffer, converted, weightBytes(format, local).data);
        } else {
          gpu.write(buffer, converted.data, weightBytes(format, local).data);
          gpu.write(scales!, converted.scales, weightBytes(format, local).scales);
        }
        bytesDone += n * sourceRowBytes;
        unflushed += weightBytes(format, n * ins).data;
        if (unflushed >= flushBytes) {
          await gpu.device.queue.onSubmittedWorkDone();
          unflushed = 0;
        }
        options.onProgress?.({ bytesDone, bytesTotal, tensor: name });
      }
    }
    return parts;
  }

  /** A part of `shape` in `format` (rows: which rows of the tensor it holds, when not all). */
  async function allocatePart(name: string, format: WeightFormat, shape: number[], rows?: [number, number]): Promise<WeightPart> {
    const label = rows ? `${name} rows ${rows[0]}–${rows[0] + rows[1] - 1}` : name;
    const sizes = weightBytes(format, shape.reduce((a, b) => a * b, 1));
    const buffer = await allocate(sizes.data, label);
    const scales = isQuantized(format) ? await allocate(sizes.scales, `${label} scales`) : undefined;
    return { buffer, scales, format, dtype: isQuantized(format) ? 'u32' : format, shape };
  }

  /** A matrix kept in CPU memory in its GPU format, read and converted in the same steps as upload's. */
  async function keepOnCpu(name: string, format: WeightFormat): Promise<CpuEmbedding> {
    const stored = tensors.get(name)!;
    const [rows, ins] = stored.shape;
    checkRows(name, ins, format);
    const stepRows = readStepRows(stored, rows);
    const chunks: EmbeddingChunk[] = [];
    for (let first = 0; first < rows; first += stepRows) {
      options.signal?.throwIfAborted();
      const n = Math.min(stepRows, rows - first);
      chunks.push({ firstRow: first, rows: n, values: convert(await stored.read(first, n), format, name) });
      bytesDone += (n * stored.fileBytes) / rows;
      options.onProgress?.({ bytesDone, bytesTotal, tensor: name });
    }
    return new CpuEmbedding(rows, ins, format, chunks);
  }

  async function allocate(bytes: number, label: string): Promise<GPUBuffer> {
    gpu.device.pushErrorScope('out-of-memory');
    const buffer = gpu.buffer(bytes, label);
    created.push(buffer);
    if (await gpu.device.popErrorScope()) {
      throw new ModelWeightsError(`Out of GPU memory allocating ${label} (${bytes} bytes) after ${sum(created) - buffer.size} bytes of weights`);
    }
    return buffer;
  }

  const vector = async (name: string): Promise<Tensor> => (await upload(name, 'f32'))[0];
  const linear = async (name: string, bias?: string): Promise<LoadedLinear> => {
    const weight = tensors.get(`${name}.weight`)!;
    const parts = await upload(`${name}.weight`, matrixFormat(weight, weightType));
    const [outs, ins] = weight.shape;
    return { parts, outs, ins, bias: bias === undefined ? undefined : await vector(bias) };
  };
  /** A projection without bias from its stored rows (a whole tensor, or its rows in a fused one). */
  const projection = async ({ tensor, firstRow, rows }: ProjectionRows): Promise<LoadedLinear> => {
    const stored = tensors.get(tensor)!;
    const parts = await upload(tensor, matrixFormat(stored, weightType), { firstRow, rows });
    return { parts, outs: rows, ins: stored.shape[1], bias: undefined };
  };
  const optionalVector = async (name: string | undefined) => (name === undefined ? undefined : await vector(name));
  /**
   * Projections of one input (stored rows, and their bias vectors if any) as one matrix [W₀; W₁; …]
   * and one bias when fusableRows allows, else each its own (projection, or linear with its bias).
   */
  async function projections<Name extends string>(
    sources: Record<Name, ProjectionRows>,
    biases: Record<Name, string> | undefined,
  ): Promise<Projections<Name>> {
    const names = Object.keys(sources) as Name[];
    const list = names.map((name) => sources[name]);
    const format = matrixFormat(tensors.get(list[0].tensor)!, weightType);
    const ins = tensors.get(list[0].tensor)!.shape[1];
    const sameFormat = list.every(({ tensor }) => matrixFormat(tensors.get(tensor)!, weightType) === format);
    if (options.fuseProjections === false || !sameFormat || !fusableRows(format, list.map((source) => source.rows), ins, gpu.maxBindingBytes)) {
      const apart = async (name: Name) => {
        if (!biases) return projection(sources[name]);
        return { ...(await projection(sources[name])), bias: await vector(biases[name]) };
      };
      const separate = {} as Record<Name, LoadedLinear>;
      for (const name of names) separate[name] = await apart(name);
      return separate;
    }
    const outs = list.reduce((sum, source) => sum + source.rows, 0);
    const label = `${list[0].tensor.replace(/\.[^.]*\.weight$/, '')} ${names.join('+')}`;
    const part = await allocatePart(label, format, [outs, ins]);
    let row = 0;
    for (const source of list) {
      await upload(source.tensor, format, source, { part, element: row * ins });
      row += source.rows;
    }
    let bias: Tensor | undefined;
    if (biases) {
      const vectorPart = await allocatePart(`${label} bias`, 'f32', [outs]);
      let element = 0;
      for (const name of names) {
        await upload(biases[name], 'f32', undefined, { part: vectorPart, element });
        element += sources[name].rows;
      }
      bias = vectorPart;
    }
    const rows = Object.fromEntries(names.map((name) => [name, sources[name].rows])) as Record<Name, number>;
    return { fused: { parts: [part], outs, ins, bias }, rows };
  }

  try {
    const embedding = embeddingOnCpu(config, options.cpuEmbedding)
      ? await keepOnCpu('model.embed_tokens.weight', matrixFormat(tensors.get('model.embed_tokens.weight')!, weightType))
      : await linear('model.embed_tokens');
    const layers: LayerWeights[] = [];
    for (let i = 0; i < config.layers; i++) {
      const p = `model.layers.${i}.`;
      const sources = projectionSources(config, i);
      const norms = layerNormNames(config.family, i);
      const withBias = (proj: string, has: boolean) => linear(`${p}self_attn.${proj}`, has ? `${p}self_attn.${proj}.bias` : undefined);
      // q/k/v biases exist only for unfused projections (config.ts refuses a fused qkv bias).
      const biases = config.attentionBias ? { q: `${p}self_attn.q_proj.bias`, k: `${p}self_attn.k_proj.bias`, v: `${p}self_attn.v_proj.bias` } : undefined;
      layers.push({
        inputNorm: await vector(norms.input),
        qkv: await projections({ q: sources.q, k: sources.k, v: sources.v }, biases),
        o: await withBias('o_proj', config.attentionOutputBias),
        qNorm: config.qkNorm ? await vector(`${p}self_attn.q_norm.weight`) : undefined,
        kNorm: config.qkNorm ? await vector(`${p}self_attn.k_norm.weight`) : undefined,
        attentionOutputNorm: await optionalVector(norms.attentionOutput),
        postAttentionNorm: await vector(norms.mlpInput),
        gateUp: await projections({ gate: sources.gate, up: sources.up }, undefined),
        mlpOutputNorm: await optionalVector(norms.mlpOutput),
        down: await linear(`${p}mlp.down_proj`),
      });
    }
    const finalNorm = await vector('model.norm.weight');
    // A tied model's table is always on the GPU (embeddingOnCpu).
    const lmHead = config.tieWordEmbeddings && !(embedding instanceof CpuEmbedding) ? embedding : await linear('lm_head');
    await gpu.finish();
    return { embedding, layers, finalNorm, lmHead, bytes: sum(created), destroy: destroyAll };
  } catch (error) {
    destroyAll();
    throw weightsError(error);
  }
}

/**
 * Whether matrices of `rows` rows each (rows of `ins` elements in `format`) can be stored one after
 * another as one part: each starts on a whole 4-byte word of data and of scales (no q8 scale word
 * shared by two of them), and the whole fits one storage binding.
 */
export function fusableRows(format: WeightFormat, rows: readonly number[], ins: number, maxBindingBytes: number): boolean {
  let before = 0;
  for (const count of rows) {
    if (!startsOnWords(format, before * ins)) return false;
    before += count;
  }
  const total = weightBytes(format, before * ins);
  return total.data <= maxBindingBytes && total.scales <= maxBindingBytes;
}

/** Whether `elements` elements of `format` fill whole words of data and of scales (weight-format.ts's packing). */
function startsOnWords(format: WeightFormat, elements: number): boolean {
  const perWord = { f32: 1, f16: 2, bf16: 2, q8: 4, q4: 8, q4g128: 8 }[format];
  if (elements % perWord !== 0) return false;
  if (!isQuantized(format)) return true;
  const groups = elements / quantGroupSize(format);
  const groupsPerScaleWord = format === 'q8' ? 2 : 1; // q8: two f16 scales a word; q4: scale and zero
  return Number.isInteger(groups) && groups % groupsPerScaleWord === 0;
}

/** Rows read per step: whole rows, an even count so 16-bit values and q8 scales stay 4-byte aligned, and whole file blocks. */
function readStepRows(stored: StoredTensor, storedRows: number): number {
  return Math.max(stored.minReadRows, Math.floor(chunkBytes / (stored.fileBytes / storedRows) / 2) * 2);
}

/** A checkpoint's format problems (unsupported dtype, packing, quantization) are the weights' errors. */
function weightsError(error: unknown): unknown {
  return error instanceof QuantizationError || error instanceof WeightFormatError ? new ModelWeightsError(error.message) : error;
}

async function asWeightsError<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw weightsError(error);
  }
}

function sum(buffers: GPUBuffer[]): number {
  return buffers.reduce((total, b) => total + b.size, 0);
}

/** Rows read from a checkpoint in the GPU format: f32 values, 16-bit bits, or packed quantized words. */
function convert(rows: StoredRows, format: WeightFormat, name: string): Float32Array | Uint16Array | PackedWeights {
  if (rows.kind === 'packed') {
    if (rows.packed.format !== format) throw new ModelWeightsError(`Tensor "${name}" is ${rows.packed.format} in the file but was to be stored as ${format}`);
    return rows.packed;
  }
  const { bytes, dtype } = rows;
  if ((format === 'bf16' && dtype === 'BF16') || (format === 'f16' && dtype === 'F16')) return new Uint16Array(bytes.slice().buffer);
  const values = toFloat32(bytes, dtype as FloatDType);
  if (format === 'f32') return values;
  if (format === 'bf16') return f32ToBf16Bits(values);
  if (format === 'f16') return toF16Checked(values, name);
  return quantize(format, values, `Tensor "${name}"`);
}

function toF16Checked(values: Float32Array, name: string): Uint16Array {
  const half = f32ToF16Bits(values);
  for (let i = 0; i < half.length; i++) {
    if ((half[i] & 0x7fff) === 0x7c00 && Number.isFinite(values[i])) {
      throw new ModelWeightsError(`Tensor "${name}" has values beyond f16's range (${values[i]}): load it with bf16 or f32 weights`);
    }
  }
  return half;
}
