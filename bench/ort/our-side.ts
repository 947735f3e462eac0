// Our side of both onnxruntime comparisons (bench/ort/attention.ts in Chromium, node-attention.ts in
// Node): a case's random q, K and V, uploaded once, and our attention_prefill over them with a tile
// candidate. ORT's side differs by package (onnxruntime-web or -node) and stays with each.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { attentionPrefill, type AttentionShape } from '../../src/gpu/kernels/attention.ts';
import { randomArray } from '../../test/support/random.ts';
import type { TileCandidate } from './report.ts';

export interface OurSide {
  /** q [tokens, heads·headDim], K and V [tokens, kvHeads·headDim]: ORT is fed the same numbers. */
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  qWidth: number;
  kvWidth: number;
  /** Our buffers (inputs and output), for the caller to destroy. */
  buffers: GPUBuffer[];
  /** Submits our causal prefill over all `tokens` with the candidate's tiles (undefined: the default). */
  ours: (tiles: TileCandidate) => void;
  /** Records the same prefill with any of the shape's tile overrides (bench/attention-tiles.ts). */
  record: (tiles: AttentionShape['tiles'], encoder: GPUCommandEncoder) => void;
  /** Our output O, [tokens, heads·headDim]. */
  o: GPUBuffer;
}

export function ourSide(gpu: Gpu, shape: AttentionShape, tokens: number, seed: number): OurSide {
  const qWidth = shape.heads * shape.headDim;
  const kvWidth = shape.kvHeads * shape.headDim;
  const q = randomArray(tokens * qWidth, seed);
  const k = randomArray(tokens * kvWidth, seed + 1);
  const v = randomArray(tokens * kvWidth, seed + 2);
  const [qBuffer, keys, values] = [q, k, v].map((data) => gpu.upload(data));
  const out = { o: gpu.buffer(q.byteLength), lse: gpu.buffer(tokens * shape.heads * 4) };
  const record = (tiles: AttentionShape['tiles'], encoder: GPUCommandEncoder) =>
    attentionPrefill(gpu, encoder, { ...shape, tiles }, { q: qBuffer, rows: tokens, firstPosition: 0 }, { keys, values, start: 0, length: tokens, firstPosition: 0 }, out);
  const ours = (tiles: TileCandidate) => gpu.run((encoder) => record(tiles && { prefill: tiles }, encoder));
  return { q, k, v, qWidth, kvWidth, buffers: [qBuffer, keys, values, out.o, out.lse], ours, record, o: out.o };
}
