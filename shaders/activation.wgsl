// The MLP's gate activations, chosen by ACTIVATION (override constant, GateActivation in
// src/gpu/kernels/elementwise.ts):
//   0  silu(g) = g · sigmoid(g)                                  (Hugging Face "silu": Llama, Qwen, Phi-3)
//   1  gelu_tanh(g) = 0.5 · g · (1 + tanh(√(2/π) · (g + 0.044715 g³)))  ("gelu_pytorch_tanh": Gemma)
// Included by the gating kernel and by matvec, which gates its output when decoding.

//#include tanh

override ACTIVATION: u32 = 0u;

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
