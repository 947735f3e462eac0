// The MLP's gating: out[i] = act(gate[i]) * up[i], with act chosen by ACTIVATION:
//   0  silu(g) = g · sigmoid(g)                                  (Hugging Face "silu": Llama, Qwen, Phi-3)
//   1  gelu_tanh(g) = 0.5 · g · (1 + tanh(√(2/π) · (g + 0.044715 g³)))  ("gelu_pytorch_tanh": Gemma)
// Two entry points: main writes a separate `out`; in_place overwrites `gate` (WebGPU forbids binding
// one buffer as both a read-only and a writable input of the same dispatch).

//#include grid
//#include tanh

override ACTIVATION: u32 = 0u;

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// main:
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
// in_place (binding 2 is `up` again):
@group(0) @binding(1) var<storage, read_write> gate_inout: array<f32>;

// exp of a non-positive number only: no overflow to infinity for large |g|.
fn sigmoid(g: f32) -> f32 {
  let e = exp(-abs(g));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), g >= 0.0);
}

const SQRT_2_OVER_PI = 0.7978845608028654f;

fn activation(g: f32) -> f32 {
  if (ACTIVATION == 1u) {
    return 0.5 * g * (1.0 + stable_tanh(SQRT_2_OVER_PI * (g + 0.044715 * g * g * g)));
  }
  return g * sigmoid(g);
}

fn element(group: vec3u, groups: vec3u, thread: u32) -> u32 {
  return flat_workgroup(group, groups) * 256u + thread;
}

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) {
    out[i] = activation(gate[i]) * up[i];
  }
}

@compute @workgroup_size(256)
fn in_place(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) thread: u32,
) {
  let i = element(group, groups, thread);
  if (i < p.count) {
    gate_inout[i] = activation(gate_inout[i]) * up[i];
  }
}
