// Weight reads for kernels that take a weight matrix at binding 2 (linear, matvec, embed): f32 storage.
// Every weight format has a file with these two functions over the same element indices (row-major
// [outs, ins]), and a pipeline swaps this include for the format's (src/gpu/kernels/weight-format.ts).
// weight4 needs e to be a multiple of 4; the loader only stores matrices whose rows are.

@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;

fn weight4(e: u32) -> vec4<f32> { return w[e / 4u]; }

fn weight1(e: u32) -> f32 { return w[e / 4u][e % 4u]; }

// A chunk: 32 consecutive elements of a row (e a multiple of 32), for shaders/matvec.wgsl, in every
// format 16-byte loads and one scale load at most. weight_chunk issues the loads (the caller issues
// those of several rows before it uses any); chunk_vec4 gives elements 4i..4i+3 of the chunk, the
// same numbers weight4 gives.
alias WeightChunk = array<vec4<f32>, 8>;

fn weight_chunk(e: u32) -> WeightChunk {
  let at = e / 4u;
  return WeightChunk(w[at], w[at + 1u], w[at + 2u], w[at + 3u], w[at + 4u], w[at + 5u], w[at + 6u], w[at + 7u]);
}

fn chunk_vec4(c: WeightChunk, i: u32) -> vec4<f32> { return c[i]; }
