// Getting a GPUDevice the same way in a tab, a Worker and Node, with the most the adapter allows.
import { gpuEntry, noWebGpuHelp } from '#gpu-entry';

/** What the adapter is and what we got from it, for logs, the UI and bug reports. */
export interface AdapterReport {
  description: string;
  vendor: string;
  architecture: string;
  isFallbackAdapter: boolean;
  /**
   * The adapter is a CPU rasterizer (lavapipe/llvmpipe, SwiftShader, or the browser's fallback):
   * kernels there skip what only helps a GPU's memory system, such as unrolled loads, whose cost is
   * longer shader compiles.
   */
  runsOnCpu: boolean;
  /** Subgroup sizes the adapter may use (both 0 when it does not say). */
  subgroupSizes: { min: number; max: number };
  features: string[];
  limits: Record<string, number>;
  /** Tensor-core shapes the device was given (chromium-experimental-subgroup-matrix); empty without. */
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
}

/**
 * One shape the adapter's subgroup matrices (tensor cores) multiply: left M×K times right K×N into an
 * M×N result, of the named WGSL component types.
 */
export interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The feature behind WGSL's `enable chromium_experimental_subgroup_matrix;`. */
export const subgroupMatrixFeature = 'chromium-experimental-subgroup-matrix' as GPUFeatureName;

export interface DeviceRequest {
  /** 'low-power' asks for an integrated GPU, 'high-performance' (the default) for a discrete one. */
  powerPreference?: GPUPowerPreference;
  /** Node only: the adapter whose name contains this (Dawn's `adapter=` option). */
  adapterName?: string;
  /** false: no subgroup operations even when the adapter has them (the kernels' workgroup-memory path). */
  subgroups?: boolean;
  /**
   * false: no tensor cores (subgroup matrices) even where the adapter has them. Otherwise they are
   * asked for (in Node through Dawn's unsafe-API option, see gpu-entry.node.ts) with shader-f16, and
   * linear layers with 16-bit weights use them, rounding activations to f16.
   */
  tensorCores?: boolean;
  /** Called when the device is lost (driver reset, DEVICE_HUNG, tab backgrounded too long). */
  onLost?: (info: GPUDeviceLostInfo) => void;
}

/** Features used when present; each kernel that needs one also has a path without it. */
const wantedFeatures: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query', subgroupMatrixFeature];

/** Limits asked at the adapter's maximum: big KV caches and weight tensors need them. */
const wantedLimits = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

export class NoWebGpuError extends Error {
  constructor(detail: string) {
    super(`${detail} ${noWebGpuHelp}`);
    this.name = 'NoWebGpuError';
  }
}

export async function requestDevice(
  request: DeviceRequest = {},
): Promise<{ device: GPUDevice; adapter: AdapterReport }> {
  const tensorCores = request.tensorCores !== false;
  const gpu = gpuEntry(request.adapterName, tensorCores);
  if (!gpu) throw new NoWebGpuError('WebGPU is not available.');
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: request.powerPreference ?? 'high-performance' });
  } catch (error) {
    // Dawn refuses an unknown adapter name with the list of the adapters it has.
    if (!request.adapterName) throw error;
    throw new Error(`No WebGPU adapter named like "${request.adapterName}". ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!adapter) {
    if (request.adapterName) throw new Error(`No WebGPU adapter named like "${request.adapterName}"`);
    throw new NoWebGpuError('WebGPU found no adapter.');
  }

  const refused = new Set<GPUFeatureName>([
    ...(request.subgroups === false ? (['subgroups'] as const) : []),
    ...(tensorCores ? [] : [subgroupMatrixFeature]),
  ]);
  const requiredFeatures = wantedFeatures.filter((f) => adapter.features.has(f) && !refused.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const name of wantedLimits) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });

  const onLost = request.onLost;
  if (onLost) void device.lost.then(onLost);

  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of wantedLimits) limits[name] = device.limits[name];
  const isFallbackAdapter = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  return {
    device,
    adapter: {
      description: description || 'unknown adapter',
      vendor: info.vendor,
      architecture: info.architecture,
      isFallbackAdapter,
      runsOnCpu: isFallbackAdapter || /llvmpipe|lavapipe|swiftshader|\bsoftware\b/i.test(`${description} ${info.architecture}`),
      subgroupSizes: { min: info.subgroupMinSize ?? 0, max: info.subgroupMaxSize ?? 0 },
      features: [...device.features].sort(),
      limits,
      subgroupMatrixConfigs: device.features.has(subgroupMatrixFeature) ? subgroupMatrixConfigsOf(info) : [],
    },
  };
}

/**
 * The adapter's subgroup-matrix shapes: Dawn (npm webgpu 0.6.2) and Chromium list them as
 * GPUAdapterInfo.subgroupMatrixConfigs, which @webgpu/types does not declare yet.
 */
function subgroupMatrixConfigsOf(info: GPUAdapterInfo): SubgroupMatrixConfig[] {
  const configs = (info as { subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig> }).subgroupMatrixConfigs ?? [];
  return [...configs].map(({ componentType, resultComponentType, M, N, K }) => ({
    componentType,
    resultComponentType,
    M: Number(M),
    N: Number(N),
    K: Number(K),
  }));
}
