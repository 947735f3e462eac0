// One entry for every checkpoint kind a model can come as: a Hugging Face safetensors folder (float,
// or GPTQ/AWQ int4, recognised by config.json's quantization_config) or a GGUF file. What the host
// needs before loading: the config, the tensors (for loadWeights' `provider`), the formats the
// quantized matrices will have on the GPU (for planMemory's `tensorFormats`), and for GGUF the
// tokenizer and chat template (a Hub folder has them as files).
import type { WeightFormat } from '../../gpu/kernels/weight-format.ts';
import { parseModelConfig, type ModelConfig } from '../config.ts';
import type { ModelFiles } from '../source/model-files.ts';
import { expectedTensors } from '../weights.ts';
import { openGguf, type GgufModel } from './gguf.ts';
import { safetensorsProvider } from './safetensors-provider.ts';
import { WeightFormatError, type TensorProvider } from './stored-tensor.ts';

export interface Checkpoint {
  config: ModelConfig;
  provider: TensorProvider;
  tensorFormats: Map<string, WeightFormat>;
  tokenizer?: GgufModel['tokenizer'];
  chatTemplate?: string;
}

/** Whether a file name is a GGUF file's. */
export function isGgufFile(name: string): boolean {
  return /\.gguf$/i.test(name);
}

/** A GGUF file's URL as the base a openUrlSource reads and the file's name in it. */
export function splitFileUrl(url: string): { base: string; file: string } {
  const at = url.lastIndexOf('/') + 1;
  const file = decodeURIComponent(url.slice(at).split(/[?#]/)[0]);
  if (!file) throw new WeightFormatError(`${url} names a folder, not a file`);
  return { base: url.slice(0, at), file };
}

/** The model in `source`: the GGUF file `ggufFile` when given, else the Hub layout's config.json and safetensors. */
export async function openCheckpoint(source: ModelFiles, ggufFile?: string): Promise<Checkpoint> {
  if (ggufFile !== undefined) {
    const model = await openGguf(source, ggufFile);
    return { config: model.config, provider: model.provider, tensorFormats: model.tensorFormats, tokenizer: model.tokenizer, chatTemplate: model.chatTemplate };
  }
  const configJson = await source.readJson('config.json');
  if (configJson === undefined) throw new WeightFormatError(`${source.name} has no config.json (for a GGUF file, name the .gguf file)`);
  const config = parseModelConfig(configJson);
  const provider = await safetensorsProvider(source);
  const tensorFormats = new Map<string, WeightFormat>();
  for (const { name, type } of expectedTensors(config)) {
    const quantized = type === 'matrix' ? provider.get(name)?.quantized : undefined;
    if (quantized) tensorFormats.set(name, quantized);
  }
  return { config, provider, tensorFormats };
}
