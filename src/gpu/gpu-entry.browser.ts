// Browser (tab or Worker): WebGPU is navigator.gpu.

/**
 * The page's GPU object, or undefined when this browser has no WebGPU. A browser picks adapters by
 * power preference only, and offers experimental features (tensor cores) by its own flags.
 */
export function gpuEntry(_adapterName?: string, _tensorCores?: boolean): GPU | undefined {
  return typeof navigator !== 'undefined' && 'gpu' in navigator ? navigator.gpu : undefined;
}

export const noWebGpuHelp =
  'This browser has no WebGPU. Use Chrome or Edge 113+ (desktop) or 121+ (Android), Safari 26+, or ' +
  'Firefox 141+ on Windows. On Linux, Chrome needs --enable-unsafe-webgpu (chrome://flags/#enable-unsafe-webgpu) ' +
  'and a Vulkan driver. WebGPU also needs a secure context: https:// or http://localhost.';
