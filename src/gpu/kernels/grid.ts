// One-dimensional grids of workgroups larger than the per-dimension limit (65535 by default) are
// folded into y; shaders unfold them with flat_workgroup() from shaders/grid.wgsl.
import type { Gpu } from '../gpu.ts';

/**
 * Workgroup counts [x, y] covering `groups` workgroups. x·y may exceed `groups` by less than one
 * row of x: the extra workgroups find flat_workgroup() ≥ groups and do nothing.
 */
export function foldedGrid(gpu: Gpu, groups: number): [number, number] {
  const max = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}
