import { describe, expect, it } from 'vitest';
import { ropeInverseFrequencies, type RopeScaling } from '../../src/model/rope-frequencies.ts';

// Expected values: transformers' modeling_rope_utils formulas run by torch 1.13 (CPU, float32), stored as
// the f32 bit patterns of inv_freq, 8 per line. torch's vectorized pow is not always correctly rounded,
// so a value may differ by 1 ulp; every other step must match bit for bit.

const llama3 = (factor: number, originalMaxPositionEmbeddings: number): RopeScaling => ({
  type: 'llama3',
  factor,
  lowFreqFactor: 1,
  highFreqFactor: 4,
  originalMaxPositionEmbeddings,
});

interface KnownCase {
  title: string;
  args: [headDim: number, theta: number, scaling: RopeScaling | undefined];
  attentionScaling: number;
  torchBits: string;
}

const known: KnownCase[] = [
  {
    title: 'Llama 3.1 8B: head_dim 128, theta 500000, llama3 factor 8, low 1, high 4, original 8192',
    args: [128, 500000, llama3(8, 8192)],
    attentionScaling: 1,
    torchBits:
      '3f8000003f508ac13f29e1c63f0a63843ee177bc3eb7ab7d3e959ee33e73c461' +
      '3e4693b03e21c3a03e03c6a03dd6b19c3daee4ad3d8e78983d681e673d3d1684' +
      '3d1a08c83cfaf53f3ccc6f493ca689393c87a9c33c5d06ec3c340d6d3c12ac7f' +
      '3beef74f3bc2aa763b9e94023b812e353b5277203b0dfd063ab3d11d3a60979e' +
      '3a0995d239a3f108393b2dd238c8688638a3418d3884fdbf3858ac8138308199' +
      '380fc8f837ea426f37bed4f4379b7475377d45c3374e51f53728126b3708ea0f' +
      '36df10c436b5b687369406cb36712b803644761036200a6936025f3435d46808' +
      '35ad07a7358cf4003565a54d353b12c7351864a734f848c234ca41b034a4c2ff',
  },
  {
    title: 'Llama 3.2 1B-like: head_dim 64, llama3 factor 32, original 8192',
    args: [64, 500000, llama3(32, 8192)],
    attentionScaling: 1,
    torchBits:
      '3f8000003f29e1c63ee177bc3e959ee33e4693b03e03c6a03daee4ad3d681e67' +
      '3d1a08c83ccc6f493c87a9c33c340d6d3beef74f3b9e94023b5277203aa9279b' +
      '39e1362038cb98f737a3418d3758ac81370fc8f836bed4f4367d45c33628126b' +
      '35df10c4359406cb3544761035025f3434ad07a73465a54d341864a733ca41b0',
  },
  {
    title: 'tiny-llama3 (hf-golden): head_dim 16, original 256: band edges fall inside',
    args: [16, 500000, llama3(8, 256)],
    attentionScaling: 1,
    torchBits:
      '3f8000003e4693b03c2ca88b3a6ef74f39395d21380fc8f836df10c435ad07a7',
  },
  {
    title: 'Qwen2.5/Qwen3: head_dim 128, theta 1e6, no scaling',
    args: [128, 1_000_000, undefined],
    attentionScaling: 1,
    torchBits:
      '3f8000003f4e4bad3f263de03f05f6ef3ed7e89b3eadfcff3e8c35043e61f835' +
      '3e3618873e12bd913dec7fd63dbe94c63d99940d3d7785133d47763f3d20bc1d' +
      '3d0186e33cd0c1a83ca8398b3c8790083c5a7bf23c3010523c0de12d3be4aa46' +
      '3bb8449c3b947dae3b6f520e3b40dac53b1b690d3afa78f03ac9d75c3aa2a6f7' +
      '3a83126f3a533f283a2a3b443a092e0239dd172539b229fb398f927239676492' +
      '393a77533916432438f22ce238c327b5389d43a4387d75d4384c3fbe382497ab' +
      '3804a2b237d5c44137ac431d378ad0ed375fba4f37344a0e371148e336ea2732' +
      '36bcb0c136980e023675107036457bab361f23e436003dec35ceaf7935a68e4c',
  },
  {
    title: 'head_dim 80 (not a power of two), theta 10000',
    args: [80, 10_000, undefined],
    attentionScaling: 1,
    torchBits:
      '3f8000003f4b59183f21866b3f004dce3ecbd4b43ea1e89b3e809bcc3e4c509b' +
      '3e224b063e00e9fa3dcccccd3da2adad3d8138553d4d494b3d2310913d0186e3' +
      '3ccdc6133ca373ae3c81d5a03c4e432a3c23d70a3c02248c3bcec0893ba43aa3' +
      '3b8273a43b4f3e383b249e783b02c2f13acfbc323aa502843a83126f3a503a7a' +
      '3a2566d43a03621c39d0b90739a5cb603983b1fa395137e83926302839040204',
  },
  {
    title: 'linear, factor 3 (not a power of two: a real division)',
    args: [64, 10_000, { type: 'linear', factor: 3 }],
    attentionScaling: 1,
    torchBits:
      '3eaaaaab3e7ff6c13e3ff2233e0ff0673dd7e0cf3da1e2c23d72cb5f3d3611f4' +
      '3d0888893cccc5673c998e813c664d713c2cb3d93c0182353bc23c4c3b91a7f7' +
      '3b5a740d3b23d1203af5b0d03ab83df43a8a297b3a4f36bc3a1b637039e90cbd' +
      '39aec33f39830db339448d73391364c338dd0f2b38a5c56338789f19383a7098',
  },
  {
    title: 'yarn, factor 4, original 32768 (the Qwen2.5 long-context recipe)',
    args: [128, 1_000_000, { type: 'yarn', factor: 4, originalMaxPositionEmbeddings: 32768 }],
    attentionScaling: 1.138629436111989,
    torchBits:
      '3f8000003f4e4bad3f263de03f05f6ef3ed7e89b3eadfcff3e8c35043e61f835' +
      '3e3618873e12bd913dec7fd63dbe94c63d99940d3d7785133d47763f3d20bc1d' +
      '3d0186e33cd0c1a83ca8398b3c8790083c5a7bf23c3010523c0de12d3be4aa46' +
      '3bb023773b8763883b4fa5503b1ed2483af241df3ab82bc03a8b82073a527db8' +
      '3a1e0eb239ec196839af3d0239811c3e393c93be39083e3838c23e9a38881d0a' +
      '383a77533816432437f22ce237c327b5379d43a4377d75d4374c3fbe372497ab' +
      '3704a2b236d5c44136ac431d368ad0ed365fba4f36344a0e361148e335ea2732' +
      '35bcb0c135980e023575107035457bab351f23e435003dec34ceaf7934a68e4c',
  },
  {
    title: 'yarn with mscale / mscale_all_dim (DeepSeek style)',
    args: [64, 10_000, { type: 'yarn', factor: 40, originalMaxPositionEmbeddings: 4096, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 0.707 }],
    attentionScaling: 1.0857263992561355,
    torchBits:
      '3f8000003f3ff9113f0ff59a3ed7e89b3ea1e89b3e72d4233e3618873e088d77' +
      '3dcccccd3d99940d3d6655c23d1fc5ba3cdc321b3c968dc33c4bf2833c088d77' +
      '3bb439593b6970663b136a163ab3a2cd3a4f3e3739d99312393a7753380bd471' +
      '37d1b717379d43a3376bdcf03730df513704a2b336c6ecdd36952c42365fba4f',
  },
  {
    title: 'yarn, truncate false (fractional correction range)',
    args: [64, 150_000, { type: 'yarn', factor: 32, originalMaxPositionEmbeddings: 4096, truncate: false }],
    attentionScaling: 1.3465735902799727,
    torchBits:
      '3f8000003f3065353ef316a23ea77faa3e66d3fa3e1f0cfd3ddb2f9f3d970764' +
      '3d5021943d01ddd53c9e646f3c3dec943bdea8403b7cfe143b0938033a89f778' +
      '39ef543c390799b93820adc637dd6dfc37989328375242fa3710e12c36c7a82b' +
      '3689928c363d96473602a24535b4066835781728352af20034eb93eb34a252d3',
  },
];

function bitsOf(hex: string): Uint32Array {
  return Uint32Array.from({ length: hex.length / 8 }, (_, i) => parseInt(hex.slice(8 * i, 8 * i + 8), 16));
}

/** Largest distance in units in the last place between two arrays of positive f32 values. */
function maxUlps(a: Uint32Array, b: Uint32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('ropeInverseFrequencies matches transformers (torch float32)', () => {
  for (const c of known) {
    it(c.title, () => {
      const { invFreq, attentionScaling } = ropeInverseFrequencies(...c.args);
      const want = bitsOf(c.torchBits);
      expect(invFreq.length).toBe(want.length);
      expect(maxUlps(new Uint32Array(invFreq.buffer), want)).toBeLessThanOrEqual(1);
      expect(attentionScaling).toBe(c.attentionScaling);
    });
  }

  it('llama3: the three bands of tiny-llama3 (unchanged, blended, divided by the factor)', () => {
    const plain = ropeInverseFrequencies(16, 500000).invFreq;
    const scaled = ropeInverseFrequencies(16, 500000, llama3(8, 256)).invFreq;
    // wavelength 2π/inv < 64 (high band) keeps the frequency; > 256 (low band) divides it by 8.
    expect(scaled[0]).toBe(plain[0]);
    expect(scaled[7]).toBe(Math.fround(plain[7] / 8));
    const blended = [...scaled].filter((v, i) => v !== plain[i] && v !== Math.fround(plain[i] / 8));
    expect(blended.length).toBeGreaterThan(0);
  });

  it('dynamic is the default frequencies at initialization', () => {
    const dynamic = ropeInverseFrequencies(64, 10000, { type: 'dynamic', factor: 2 });
    expect(dynamic).toEqual(ropeInverseFrequencies(64, 10000));
  });

  it('partial rotary factor: frequencies of the rotated part only', () => {
    const partial = ropeInverseFrequencies(128, 10000, undefined, 0.5).invFreq;
    expect(partial).toEqual(ropeInverseFrequencies(64, 10000).invFreq);
  });

  it('a scaling without its required fields is refused', () => {
    expect(() => ropeInverseFrequencies(64, 10000, { type: 'linear' })).toThrow(/factor/);
    expect(() => ropeInverseFrequencies(64, 10000, { type: 'llama3', factor: 8 })).toThrow(/lowFreqFactor/);
    expect(() => ropeInverseFrequencies(64, 10000, { type: 'yarn', factor: 4 })).toThrow(/originalMaxPositionEmbeddings/);
  });
});
