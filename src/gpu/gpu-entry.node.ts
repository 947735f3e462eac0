// Node: WebGPU comes from Dawn through the npm package `webgpu`.
import { create, globals } from 'webgpu';

const entries = new Map<string, GPU>();

/**
 * Dawn's options that expose the tensor cores: `allow_unsafe_apis` lets the adapter offer experimental
 * features (chromium-experimental-subgroup-matrix among them), and NVIDIA's Vulkan driver only gets
 * shader-f16 with `vulkan_enable_f16_on_nvidia`. Other drivers ignore the second.
 */
const tensorCoreToggles = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia'];

/**
 * Dawn's `enable-dawn-features` and `disable-dawn-features` options: the tensor cores' toggles, plus any
 * given in STAR_READER_DAWN_ENABLE / STAR_READER_DAWN_DISABLE (comma-separated Dawn toggle names), for
 * measuring what a toggle costs on a real GPU (e.g. skip_validation, disable_robustness,
 * timestamp_quantization) without changing code.
 */
function dawnToggles(tensorCores: boolean): string[] {
  const listed = (name: string) => (process.env[name] ?? '').split(',').filter(Boolean);
  const enable = [...(tensorCores ? tensorCoreToggles : []), ...listed('STAR_READER_DAWN_ENABLE')];
  const disable = listed('STAR_READER_DAWN_DISABLE');
  return [...(enable.length ? [`enable-dawn-features=${enable.join(',')}`] : []), ...(disable.length ? [`disable-dawn-features=${disable.join(',')}`] : [])];
}

/**
 * Dawn's GPU object; installs the WebGPU globals (GPUBufferUsage, …) once. `adapterName` picks one
 * adapter by (part of) its name — on a machine with several GPUs, one per host — through Dawn's
 * `adapter=` option. `tensorCores` creates it with the options above.
 */
export function gpuEntry(adapterName?: string, tensorCores = false): GPU {
  const options = [...(adapterName ? [`adapter=${adapterName}`] : []), ...dawnToggles(tensorCores)];
  const key = options.join(' ');
  let entry = entries.get(key);
  if (!entry) {
    Object.assign(globalThis, globals);
    // lavapipe (Mesa's CPU Vulkan driver) is found through VK_ICD_FILENAMES when no GPU driver is set.
    entry = create(options) as GPU;
    entries.set(key, entry);
  }
  return entry;
}

export const noWebGpuHelp =
  'No WebGPU adapter in Node. Dawn (npm package `webgpu`) needs a Vulkan driver: on a machine ' +
  'without a GPU install Mesa\'s lavapipe (Debian 12: `apt-get install -y libvulkan1 && apt-get install ' +
  '-y -t bookworm-backports mesa-vulkan-drivers`; Debian 12\'s own Mesa 22 is too old) and run with ' +
  'VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json.';
