// The index of this workgroup in a one-dimensional grid folded into x and y by foldedGrid()
// (src/gpu/kernels/grid.ts). Uniform across the workgroup, so an early return on it may precede barriers.
fn flat_workgroup(group: vec3u, groups: vec3u) -> u32 {
  return group.y * groups.x + group.x;
}
