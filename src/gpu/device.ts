// Getting a GPUDevice the same way in a tab, a Worker and Node, with the most the adapter allows.
import { gpuEntry, noWebGpuHelp } from '#gpu-entry';

/** What the adapter is and what we got from it, for logs, the UI and bug reports. */
export interface AdapterReport {
  description: string;
  vendor: string;
  architecture: string;
  isFallbackAdapter: boolean;
  /** Subgroup sizes the adapter may use (both 0 when it does not say). */
  subgroupSizes: { min: number; max: number };
  features: string[];
  limits: Record<string, number>;
}

export interface DeviceRequest {
  /** 'low-power' asks for an integrated GPU, 'high-performance' (the default) for a discrete one. */
  powerPreference?: GPUPowerPreference;
  /** Node only: the adapter whose name contains this (Dawn's `adapter=` option). */
  adapterName?: string;
  /** false: no subgroup operations even when the adapter has them (the kernels' workgroup-memory path). */
  subgroups?: boolean;
  /** Called when the device is lost (driver reset, DEVICE_HUNG, tab backgrounded too long). */
  onLost?: (info: GPUDeviceLostInfo) => void;
}

/** Features used when present; each kernel that needs one also has a path without it. */
const wantedFeatures: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

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
  const gpu = gpuEntry(request.adapterName);
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

  const requiredFeatures = wantedFeatures.filter((f) => adapter.features.has(f) && (f !== 'subgroups' || request.subgroups !== false));
  const requiredLimits: Record<string, number> = {};
  for (const name of wantedLimits) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });

  const onLost = request.onLost;
  if (onLost) void device.lost.then(onLost);

  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of wantedLimits) limits[name] = device.limits[name];
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  return {
    device,
    adapter: {
      description: description || 'unknown adapter',
      vendor: info.vendor,
      architecture: info.architecture,
      isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      subgroupSizes: { min: info.subgroupMinSize ?? 0, max: info.subgroupMaxSize ?? 0 },
      features: [...device.features].sort(),
      limits,
    },
  };
}
