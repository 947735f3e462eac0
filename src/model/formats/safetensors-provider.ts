// The tensors of a Hugging Face safetensors checkpoint (one file or shards) behind TensorProvider:
// float tensors as they are, and the linear layers of a GPTQ/AWQ checkpoint (config.json's
// quantization_config) unpacked into q4.
import { floatDTypes, readTensorIndex, type TensorInfo } from '../safetensors.ts';
import type { ModelFiles } from '../source/model-files.ts';
import { int4Tensor, parseInt4Config } from './gptq.ts';
import { floatTensor, WeightFormatError, type StoredTensor, type TensorProvider } from './stored-tensor.ts';

export async function safetensorsProvider(source: ModelFiles): Promise<TensorProvider> {
  const int4 = parseInt4Config(await source.readJson('config.json'));
  const tensors = await readTensorIndex(source);
  const describe = (info: TensorInfo) => `Tensor "${info.name}" in ${info.file}`;
  return {
    description: int4 ? `${int4.method.toUpperCase()} int4 safetensors` : 'safetensors',
    get(name): StoredTensor | undefined {
      const prefix = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : undefined;
      if (prefix !== undefined && tensors.has(`${prefix}.qweight`)) {
        if (!int4) throw new WeightFormatError(`Tensor "${prefix}.qweight" is quantized but config.json has no quantization_config saying how (GPTQ or AWQ)`);
        return int4Tensor(source, prefix, tensors, int4);
      }
      const info = tensors.get(name);
      if (!info) return undefined;
      if (!(floatDTypes as readonly string[]).includes(info.dtype)) {
        throw new WeightFormatError(`${describe(info)} is ${info.dtype}, which is not supported (weights must be ${floatDTypes.join(', ')}, or GPTQ/AWQ int4 layers)`);
      }
      return floatTensor(source, info);
    },
  };
}
