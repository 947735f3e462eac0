// RoPE inverse frequencies exactly as transformers' ROPE_INIT_FUNCTIONS (modeling_rope_utils.py)
// compute them. torch does this arithmetic on float32 tensors, so every tensor operation below is
// rounded to float32 with f32() where torch rounds, and Python scalars (float64) are rounded to f32
// where torch converts them to the tensor's type. torch's CPU pow may differ from the correctly
// rounded one by 1 ulp; everything else here is bit-identical.

export interface RopeScaling {
  type: 'default' | 'linear' | 'llama3' | 'dynamic' | 'yarn' | 'longrope';
  factor?: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositionEmbeddings?: number;
  // yarn:
  betaFast?: number;
  betaSlow?: number;
  attentionFactor?: number;
  mscale?: number;
  mscaleAllDim?: number;
  /** yarn: round the correction range outward to whole dimensions (transformers' default: true). */
  truncate?: boolean;
  // longrope (Phi-3.5, Phi-4-mini): per-frequency divisors for contexts up to and past the original length.
  shortFactor?: number[];
  longFactor?: number[];
}

export interface RopeFrequencies {
  /** f32 [rotaryDim / 2]: angle of dimension pair j at position p is f32(p · invFreq[j]). */
  invFreq: Float32Array;
  /** cos and sin are multiplied by this (yarn's attention factor; 1 otherwise). */
  attentionScaling: number;
}

const f32 = Math.fround;

/**
 * @param conversationLength the most positions the conversation (document, questions and answers) may
 *   reach: LongRoPE takes its long factors when it exceeds the original context. transformers switches
 *   factors per forward call by that call's highest position; Star Attention would then rotate a block
 *   encoded as [anchor ; block i] differently from the full context (block 0 alone may be short), and
 *   a conversation that grows past the original length would mix keys rotated both ways in one cache.
 *   So the factors are chosen once for the whole document, from the length it may reach.
 */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling?: RopeScaling,
  partialRotaryFactor = 1,
  conversationLength = Infinity,
): RopeFrequencies {
  const dim = Math.trunc(headDim * partialRotaryFactor); // Python's int(head_dim * partial_rotary_factor)
  switch (scaling?.type ?? 'default') {
    case 'default':
    case 'dynamic': // dynamic NTK only changes the frequencies for sequences past max_position_embeddings
      return { invFreq: defaultInverseFrequencies(dim, theta), attentionScaling: 1 };
    case 'linear':
      return { invFreq: linearInverseFrequencies(dim, theta, required(scaling, 'factor')), attentionScaling: 1 };
    case 'llama3':
      return { invFreq: llama3InverseFrequencies(dim, theta, scaling as RopeScaling), attentionScaling: 1 };
    case 'yarn':
      return yarnFrequencies(dim, theta, scaling as RopeScaling);
    case 'longrope':
      return longropeFrequencies(dim, theta, scaling as RopeScaling, conversationLength);
  }
}

function required(scaling: RopeScaling | undefined, key: keyof RopeScaling): number {
  const value = scaling?.[key];
  if (typeof value !== 'number') throw new Error(`rope scaling "${scaling?.type}" needs ${key}`);
  return value;
}

/** base ** (arange(0, dim, 2).float() / dim), the float32 tensor every rope type starts from. */
function positionFrequencies(dim: number, theta: number): Float32Array {
  const out = new Float32Array(dim / 2);
  for (let i = 0; i < out.length; i++) out[i] = f32(Math.pow(f32(theta), f32((2 * i) / dim)));
  return out;
}

/** 1.0 / t: torch's Tensor.__rtruediv__ is t.reciprocal() * 1.0. */
function reciprocal(t: Float32Array): Float32Array {
  return t.map((v) => f32(1 / v));
}

function defaultInverseFrequencies(dim: number, theta: number): Float32Array {
  return reciprocal(positionFrequencies(dim, theta));
}

function linearInverseFrequencies(dim: number, theta: number, factor: number): Float32Array {
  return defaultInverseFrequencies(dim, theta).map((v) => f32(v / f32(factor)));
}

/** Llama 3.1: low frequencies slowed by `factor`, high ones kept, a smooth blend in between. */
function llama3InverseFrequencies(dim: number, theta: number, scaling: RopeScaling): Float32Array {
  const factor = f32(required(scaling, 'factor'));
  const lowFreqFactor = required(scaling, 'lowFreqFactor');
  const highFreqFactor = required(scaling, 'highFreqFactor');
  const oldContext = required(scaling, 'originalMaxPositionEmbeddings');
  const lowFreqWavelen = f32(oldContext / lowFreqFactor);
  const highFreqWavelen = f32(oldContext / highFreqFactor);
  const twoPi = f32(2 * Math.PI);

  return defaultInverseFrequencies(dim, theta).map((inv) => {
    const wavelen = f32(f32(1 / inv) * twoPi); // 2π / inv_freq = inv_freq.reciprocal() * 2π
    const scaled = wavelen > lowFreqWavelen ? f32(inv / factor) : inv;
    const isMedium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (!isMedium) return scaled;
    // smooth = (old_context / wavelen - low) / (high - low)
    const smooth = f32(f32(f32(f32(1 / wavelen) * f32(oldContext)) - f32(lowFreqFactor)) / f32(highFreqFactor - lowFreqFactor));
    // (1 - smooth) * inv / factor + smooth * inv
    return f32(f32(f32(f32(1 - smooth) * scaled) / factor) + f32(smooth * scaled));
  });
}

/** YaRN (transformers ≥ 4.51 semantics: correction range from original_max_position_embeddings). */
function yarnFrequencies(dim: number, theta: number, scaling: RopeScaling): RopeFrequencies {
  const factor = required(scaling, 'factor');
  const originalMax = required(scaling, 'originalMaxPositionEmbeddings');
  const { mscale, mscaleAllDim } = scaling;
  const attentionScaling =
    scaling.attentionFactor ??
    (mscale && mscaleAllDim ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim) : yarnMscale(factor));
  const betaFast = scaling.betaFast || 32; // Python's `or`: 0 and None both mean the default
  const betaSlow = scaling.betaSlow || 1;

  // Dimension (fractional) at which a frequency turns `rotations` times over the original context.
  const correctionDim = (rotations: number) =>
    (dim * Math.log(originalMax / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  let low = correctionDim(betaFast);
  let high = correctionDim(betaSlow);
  if (scaling.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, dim - 1);
  if (low === high) high += 0.001; // as transformers: avoids a division by zero

  const posFreqs = positionFrequencies(dim, theta);
  const invFreq = new Float32Array(dim / 2);
  const span = f32(high - low);
  for (let i = 0; i < invFreq.length; i++) {
    const extrapolation = f32(1 / posFreqs[i]);
    const interpolation = f32(1 / f32(f32(factor) * posFreqs[i]));
    const ramp = Math.min(Math.max(f32(f32(i - f32(low)) / span), 0), 1);
    const extrapolationFactor = f32(1 - ramp);
    invFreq[i] = f32(f32(interpolation * f32(1 - extrapolationFactor)) + f32(extrapolation * extrapolationFactor));
  }
  return { invFreq, attentionScaling };
}

/**
 * LongRoPE (transformers' _compute_longrope_parameters): inv_freq = 1 / (ext_factor · base^(2i/dim)),
 * the long factors past original_max_position_embeddings, and cos/sin scaled by
 * √(1 + ln(factor) / ln(original)) with factor = max_position_embeddings / original (unless given).
 */
function longropeFrequencies(dim: number, theta: number, scaling: RopeScaling, conversationLength: number): RopeFrequencies {
  const originalMax = required(scaling, 'originalMaxPositionEmbeddings');
  const factors = conversationLength > originalMax ? scaling.longFactor : scaling.shortFactor;
  if (!factors || factors.length !== dim / 2) {
    throw new Error(`longrope needs ${dim / 2} short and long factors (one per rotated dimension pair), got ${factors?.length ?? 'none'}`);
  }
  const factor = required(scaling, 'factor');
  const attentionScaling = scaling.attentionFactor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMax)));
  const posFreqs = positionFrequencies(dim, theta);
  const invFreq = posFreqs.map((p, i) => f32(1 / f32(f32(factors[i]) * p)));
  return { invFreq, attentionScaling };
}

function yarnMscale(scale: number, mscale = 1): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}
