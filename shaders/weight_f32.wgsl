// Weight reads for kernels that take a weight matrix at binding 2 (linear, matvec, embed): f32 storage.
// Every weight format has a file with these two functions over the same element indices (row-major
// [outs, ins]), and a pipeline swaps this include for the format's (src/gpu/kernels/weight-format.ts).
// weight4 needs e to be a multiple of 4; the loader only stores matrices whose rows are.

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;

fn weight4(e: u32) -> vec4<f32> { return w[e / 4u]; }

fn weight1(e: u32) -> f32 { return w[e / 4u][e % 4u]; }
