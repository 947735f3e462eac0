// Model weights from a WeightSource to GPU buffers, tensor by tensor and in bounded chunks, so the
// model never sits whole in JS memory. Every expected tensor is checked (present, right shape, a float
// dtype) before anything is allocated; on any error, every buffer created so far is destroyed.
// Matrices become LinearWeights in the requested type (f32, or f16 on devices with shader-f16),
// split into row ranges when larger than one storage binding; norm weights are always f32.
import type { Gpu } from '../gpu/gpu.ts';
import type { LinearWeight } from '../gpu/kernels/linear.ts';
import { bytesPerElement, type Tensor } from '../gpu/tensor.ts';
import type { ModelConfig } from './config.ts';
import { f32ToF16Bits } from './dtype.ts';
import { layerNormNames, projectionSources, type StoredRows } from './families.ts';
import { floatDTypes, readTensorBytes, readTensorIndex, toFloat32, type FloatDType, type TensorInfo } from './safetensors.ts';
import type { WeightProgress, WeightSource } from './weight-source.ts';

export interface LayerWeights {
  inputNorm: Tensor;
  q: LinearWeight;
  k: LinearWeight;
  v: LinearWeight;
  o: LinearWeight;
  qNorm?: Tensor;
  kNorm?: Tensor;
  /** Gemma: the norm of attention's output, before the residual add. */
  attentionOutputNorm?: Tensor;
  /** The norm before the MLP (Hugging Face's post_attention_layernorm, Gemma's pre_feedforward_layernorm). */
  postAttentionNorm: Tensor;
  /** Gemma: the norm of the MLP's output, before the residual add. */
  mlpOutputNorm?: Tensor;
  gate: LinearWeight;
  up: LinearWeight;
  down: LinearWeight;
}

export interface ModelWeights {
  embedding: LinearWeight;
  layers: LayerWeights[];
  finalNorm: Tensor;
  /** The same object as `embedding` when the model ties them. */
  lmHead: LinearWeight;
  /** GPU bytes of all weight buffers. */
  bytes: number;
  destroy(): void;
}

export type WeightType = 'f32' | 'f16';

export interface LoadWeightsOptions {
  weightType?: WeightType;
  onProgress?: (progress: WeightProgress) => void;
  signal?: AbortSignal;
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
  /** Linear weights take the requested weight type; norm weights stay f32. */
  type: 'linear' | 'norm';
}

/** Hugging Face tensor names and shapes a model with this config has. */
export function expectedTensors(config: ModelConfig): Expected[] {
  const { hidden, heads, kvHeads, headDim, intermediate, vocab } = config;
  const linear = (name: string, shape: number[]): Expected => ({ name, shape, type: 'linear' });
  const norm = (name: string, size: number): Expected => ({ name, shape: [size], type: 'norm' });
  const list = [linear('model.embed_tokens.weight', [vocab, hidden])];
  // Stored tensors holding several projections (Phi-3's fused ones): the sum of their rows.
  const storedRows = (parts: StoredRows[]) => parts.reduce((rows, part) => rows + part.rows, 0);
  for (let i = 0; i < config.layers; i++) {
    const p = `model.layers.${i}.`;
    const sources = projectionSources(config, i);
    const norms = layerNormNames(config.family, i);
    const tensorsOf = (parts: StoredRows[]) => [...new Set(parts.map((part) => part.tensor))];
    list.push(norm(norms.input, hidden));
    for (const tensor of tensorsOf([sources.q, sources.k, sources.v])) {
      list.push(linear(tensor, [storedRows([sources.q, sources.k, sources.v].filter((part) => part.tensor === tensor)), hidden]));
    }
    list.push(linear(`${p}self_attn.o_proj.weight`, [hidden, heads * headDim]));
    if (config.attentionBias) {
      list.push(
        linear(`${p}self_attn.q_proj.bias`, [heads * headDim]),
        linear(`${p}self_attn.k_proj.bias`, [kvHeads * headDim]),
        linear(`${p}self_attn.v_proj.bias`, [kvHeads * headDim]),
      );
    }
    if (config.attentionOutputBias) list.push(linear(`${p}self_attn.o_proj.bias`, [hidden]));
    if (config.qkNorm) list.push(norm(`${p}self_attn.q_norm.weight`, headDim), norm(`${p}self_attn.k_norm.weight`, headDim));
    if (norms.attentionOutput) list.push(norm(norms.attentionOutput, hidden));
    list.push(norm(norms.mlpInput, hidden));
    for (const tensor of tensorsOf([sources.gate, sources.up])) {
      list.push(linear(tensor, [storedRows([sources.gate, sources.up].filter((part) => part.tensor === tensor)), hidden]));
    }
    list.push(linear(`${p}mlp.down_proj.weight`, [hidden, intermediate]));
    if (norms.mlpOutput) list.push(norm(norms.mlpOutput, hidden));
  }
  list.push(norm('model.norm.weight', hidden));
  if (!config.tieWordEmbeddings) list.push(linear('lm_head.weight', [vocab, hidden]));
  return list;
}

function checkTensors(index: Map<string, TensorInfo>, expected: Expected[], sourceName: string): Map<string, TensorInfo> {
  const found = new Map<string, TensorInfo>();
  for (const { name, shape } of expected) {
    const info = index.get(name);
    if (!info) {
      const hint = name === 'lm_head.weight' ? ' (config.json says tie_word_embeddings: false)' : '';
      throw new ModelWeightsError(`Tensor "${name}" is missing from ${sourceName}${hint}`);
    }
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new ModelWeightsError(
        `Tensor "${name}" in ${info.file} has shape [${info.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
    if (!(floatDTypes as readonly string[]).includes(info.dtype)) {
      throw new ModelWeightsError(
        `Tensor "${name}" in ${info.file} is ${info.dtype}, which is not supported (weights must be ${floatDTypes.join(', ')}; quantized checkpoints are not)`,
      );
    }
    found.set(name, info);
  }
  return found;
}

export async function loadWeights(gpu: Gpu, source: WeightSource, config: ModelConfig, options: LoadWeightsOptions = {}): Promise<ModelWeights> {
  const weightType = options.weightType ?? 'f32';
  if (weightType === 'f16' && !gpu.hasF16) {
    throw new ModelWeightsError('f16 weights need the shader-f16 feature, which this device lacks: use f32 weights');
  }
  const expected = expectedTensors(config);
  const tensors = checkTensors(await readTensorIndex(source), expected, source.name);
  const bytesTotal = expected.reduce((sum, e) => sum + tensors.get(e.name)!.end - tensors.get(e.name)!.begin, 0);

  const created: GPUBuffer[] = [];
  const destroyAll = () => created.forEach((b) => b.destroy());
  let bytesDone = 0;
  let unflushed = 0;

  /**
   * One tensor, or rows [firstRow, firstRow + rows) of it, as GPU row ranges of `dtype`, each at most
   * one storage binding.
   */
  async function upload(name: string, dtype: WeightType, range?: { firstRow: number; rows: number }): Promise<Tensor[]> {
    const info = tensors.get(name)!;
    const [storedRows, ins] = info.shape.length === 2 ? info.shape : [1, info.shape[0]];
    const sourceRowBytes = (info.end - info.begin) / storedRows;
    const rangeFirst = range?.firstRow ?? 0;
    const rows = range?.rows ?? storedRows;
    const rowBytes = ins * bytesPerElement[dtype];
    const partRows = Math.min(rows, Math.floor(gpu.maxBindingBytes / rowBytes));
    if (partRows === 0) {
      throw new ModelWeightsError(`One row of "${name}" (${rowBytes} bytes) exceeds the device's largest storage binding (${gpu.maxBindingBytes} bytes)`);
    }
    // Whole rows per step, an even count so f16 writes stay 4-byte aligned.
    const stepRows = Math.max(2, Math.floor(chunkBytes / sourceRowBytes / 2) * 2);
    const parts: Tensor[] = [];
    for (let first = 0; first < rows; first += partRows) {
      const count = Math.min(partRows, rows - first);
      const shape = info.shape.length === 2 ? [count, ins] : [ins];
      const label = partRows < storedRows ? `${name} rows ${rangeFirst + first}–${rangeFirst + first + count - 1}` : name;
      const part = { buffer: await allocate(count * rowBytes, label), dtype, shape };
      parts.push(part);
      for (let row = first; row < first + count; row += stepRows) {
        options.signal?.throwIfAborted();
        const n = Math.min(stepRows, first + count - row);
        const bytes = await readTensorBytes(source, info, (rangeFirst + row) * sourceRowBytes, n * sourceRowBytes);
        gpu.write(part.buffer, convert(bytes, info.dtype as FloatDType, dtype, name), (row - first) * rowBytes);
        bytesDone += bytes.byteLength;
        unflushed += n * rowBytes;
        if (unflushed >= flushBytes) {
          await gpu.device.queue.onSubmittedWorkDone();
          unflushed = 0;
        }
        options.onProgress?.({ bytesDone, bytesTotal, tensor: name });
      }
    }
    return parts;
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

  const norm = async (name: string) => (await upload(name, 'f32'))[0];
  const linear = async (name: string, bias?: string): Promise<LinearWeight> => {
    const parts = await upload(`${name}.weight`, weightType);
    const [outs, ins] = tensors.get(`${name}.weight`)!.shape;
    return { parts, outs, ins, bias: bias === undefined ? undefined : (await upload(bias, 'f32'))[0] };
  };
  /** A projection without bias from its stored rows (a whole tensor, or its rows in a fused one). */
  const projection = async ({ tensor, firstRow, rows }: StoredRows): Promise<LinearWeight> => {
    const parts = await upload(tensor, weightType, { firstRow, rows });
    return { parts, outs: rows, ins: tensors.get(tensor)!.shape[1], bias: undefined };
  };
  const optionalNorm = async (name: string | undefined) => (name === undefined ? undefined : await norm(name));

  try {
    const embedding = await linear('model.embed_tokens');
    const layers: LayerWeights[] = [];
    for (let i = 0; i < config.layers; i++) {
      const p = `model.layers.${i}.`;
      const sources = projectionSources(config, i);
      const norms = layerNormNames(config.family, i);
      // q/k/v biases exist only for unfused projections (config.ts refuses a fused qkv bias).
      const withBias = (proj: string, has: boolean) => linear(`${p}self_attn.${proj}`, has ? `${p}self_attn.${proj}.bias` : undefined);
      const qkv = async (proj: 'q' | 'k' | 'v') => (config.attentionBias ? withBias(`${proj}_proj`, true) : projection(sources[proj]));
      layers.push({
        inputNorm: await norm(norms.input),
        q: await qkv('q'),
        k: await qkv('k'),
        v: await qkv('v'),
        o: await withBias('o_proj', config.attentionOutputBias),
        qNorm: config.qkNorm ? await norm(`${p}self_attn.q_norm.weight`) : undefined,
        kNorm: config.qkNorm ? await norm(`${p}self_attn.k_norm.weight`) : undefined,
        attentionOutputNorm: await optionalNorm(norms.attentionOutput),
        postAttentionNorm: await norm(norms.mlpInput),
        gate: await projection(sources.gate),
        up: await projection(sources.up),
        mlpOutputNorm: await optionalNorm(norms.mlpOutput),
        down: await linear(`${p}mlp.down_proj`),
      });
    }
    const finalNorm = await norm('model.norm.weight');
    const lmHead = config.tieWordEmbeddings ? embedding : await linear('lm_head');
    await gpu.finish();
    return { embedding, layers, finalNorm, lmHead, bytes: sum(created), destroy: destroyAll };
  } catch (error) {
    destroyAll();
    throw error;
  }
}

function sum(buffers: GPUBuffer[]): number {
  return buffers.reduce((total, b) => total + b.size, 0);
}

function convert(bytes: Uint8Array, from: FloatDType, to: WeightType, name: string): Float32Array | Uint16Array {
  if (to === 'f32') return toFloat32(bytes, from);
  if (from === 'F16') return new Uint16Array(bytes.slice().buffer);
  const values = toFloat32(bytes, from);
  const half = f32ToF16Bits(values);
  for (let i = 0; i < half.length; i++) {
    if ((half[i] & 0x7fff) === 0x7c00 && Number.isFinite(values[i])) {
      throw new ModelWeightsError(`Tensor "${name}" has values beyond f16's range (${values[i]}): load it with f32 weights`);
    }
  }
  return half;
}
