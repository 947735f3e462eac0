// One layer's attention alone, for the speed benchmark (speed-bench.ts): full attention's causal prefill
// against Star Attention's block 0 plus the block-anchor kernel over the rest, same shapes and data, on a
// GPUDevice of its own. Runs in Node and in a browser page.
import { Gpu } from '../gpu/gpu.ts';
import { attentionBlockAnchor, attentionPrefill, type AttentionShape } from '../gpu/kernels/attention.ts';
import { uniformStream } from '../model/synthetic-weights.ts';
import type { AttentionLayout } from '../star/block-planner.ts';
import type { KernelTimer } from './speed-bench.ts';

export async function openAttentionTimer(layout: AttentionLayout): Promise<KernelTimer> {
  const gpu = await Gpu.create();
  const shape: AttentionShape = { heads: layout.heads, kvHeads: layout.kvHeads, headDim: layout.headDim, scale: 1 / Math.sqrt(layout.headDim) };
  const qWidth = shape.heads * shape.headDim;
  const kvWidth = shape.kvHeads * shape.headDim;
  // Buffers for the last context length asked for: every block size at one length reuses them.
  let held: { tokens: number; buffers: Record<'q' | 'keys' | 'values' | 'o' | 'lse', GPUBuffer> } | undefined;
  const buffersFor = (tokens: number) => {
    if (held?.tokens !== tokens) {
      if (held) for (const b of Object.values(held.buffers)) b.destroy();
      const buffers = {
        q: gpu.upload(uniformStream(1)(tokens * qWidth, 0.5)),
        keys: gpu.upload(uniformStream(2)(tokens * kvWidth, 0.5)),
        values: gpu.upload(uniformStream(3)(tokens * kvWidth, 0.5)),
        o: gpu.buffer(tokens * qWidth * 4),
        lse: gpu.buffer(tokens * shape.heads * 4),
      };
      held = { tokens, buffers };
    }
    return held.buffers;
  };

  return {
    async time(tokens, blockSize = tokens) {
      const { q, keys, values, o, lse } = buffersFor(tokens);
      const b = Math.min(blockSize, tokens);
      await gpu.finish();
      const started = performance.now();
      gpu.run((encoder) => {
        attentionPrefill(gpu, encoder, shape, { q, rows: b, firstPosition: 0 }, { keys, values, start: 0, length: b, firstPosition: 0 }, { o, lse });
        if (b < tokens) {
          // The later blocks' queries are read from the start of q (QueryRows has no offset): the work
          // depends on positions and counts, not on the values.
          attentionBlockAnchor(
            gpu,
            encoder,
            shape,
            { q, rows: tokens - b, firstPosition: b },
            { keys, values, start: 0, length: b, firstPosition: 0 },
            { keys, values, start: b, length: tokens - b, firstPosition: b },
            b,
            { o, lse },
          );
        }
      });
      await gpu.finish();
      return performance.now() - started;
    },
    close() {
      if (held) for (const b of Object.values(held.buffers)) b.destroy();
      gpu.destroy();
    },
  };
}
