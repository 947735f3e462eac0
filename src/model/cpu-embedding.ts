// The input embedding kept in CPU memory (LoadWeightsOptions.cpuEmbedding). A forward pass reads only
// its rows' embeddings, so an untied model's table (Llama-3.1-8B's: 128256 × 4096 weights, 0.28 GB in
// q4g128, 1.05 GB in bf16) need not take GPU memory: each piece's rows are widened to f32 here and
// written to the piece's hidden buffer instead of being looked up by the embed kernel. The table stays
// in its GPU format (the bytes loadWeights would have uploaded), widened by the formats' reference
// conversions, which give exactly what the WGSL gives (test/gpu/weight-formats.test.ts), so the logits
// are the same bit for bit. A tied model's lm_head is the embedding matrix: its table stays on the GPU.
import type { WeightFormat } from '../gpu/kernels/weight-format.ts';
import { bf16BitsToF32, f16BitsToF32 } from './dtype.ts';
import { dequantize, type PackedWeights } from './formats/quantize.ts';

/** Rows [firstRow, firstRow + rows) of the table in its GPU format, as loadWeights converted them. */
export interface EmbeddingChunk {
  firstRow: number;
  rows: number;
  values: Float32Array | Uint16Array | PackedWeights;
}

export class CpuEmbedding {
  readonly kind = 'cpu';

  /** `chunks` cover rows 0…outs − 1 in order, every one but the last of `chunks[0].rows` rows. */
  constructor(
    /** Vocabulary rows. */
    readonly outs: number,
    /** Hidden size: elements a row. */
    readonly ins: number,
    readonly format: WeightFormat,
    private readonly chunks: readonly EmbeddingChunk[],
  ) {
    const covered = chunks.reduce((rows, chunk, i) => (chunk.firstRow === rows && (i === chunks.length - 1 || chunk.rows === chunks[0].rows) ? rows + chunk.rows : NaN), 0);
    if (covered !== outs) throw new Error(`CpuEmbedding: the chunks do not cover rows 0…${outs - 1} in equal steps`);
  }

  /** CPU bytes the table takes. */
  get bytes(): number {
    return this.chunks.reduce((sum, { values }) => sum + ('data' in values ? values.data.byteLength + values.scales.byteLength : values.byteLength), 0);
  }

  /** Rows ids[i] of the table as f32, [ids.length, ins]; ids ≥ outs give zero rows, as the embed kernel gives. */
  gather(ids: ArrayLike<number>): Float32Array {
    const { ins } = this;
    const out = new Float32Array(ids.length * ins);
    const step = this.chunks[0].rows;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id >= this.outs) continue;
      const chunk = this.chunks[Math.floor(id / step)];
      out.set(this.row(chunk.values, (id - chunk.firstRow) * ins), i * ins);
    }
    return out;
  }

  /** The row whose first element is element `first` of a chunk, as f32. */
  private row(values: EmbeddingChunk['values'], first: number): Float32Array {
    if ('data' in values) return dequantize(values, first, this.ins);
    if (values instanceof Float32Array) return values.subarray(first, first + this.ins);
    const bits = values.subarray(first, first + this.ins);
    return this.format === 'bf16' ? bf16BitsToF32(bits) : f16BitsToF32(bits);
  }
}
