// Star Attention's phase-1 plan: how the context is cut into blocks and which host encodes which.

export interface Block {
  index: number;
  /** Token range [start, end) of the context; also the block's position ids. */
  start: number;
  end: number;
}

export interface HostShare {
  host: number;
  /** Consecutive blocks, so a host's KV has consecutive positions. */
  blocks: Block[];
  start: number;
  end: number;
}

export interface BlockPlan {
  contextTokens: number;
  blockSize: number;
  anchorSize: number;
  blocks: Block[];
  hosts: HostShare[];
  /** The host that also keeps the query's and the answer's KV: the last one, as in the paper's code. */
  queryHost: number;
}

export interface PlanOptions {
  hosts?: number;
  blockSize?: number;
  anchorSize?: number;
}

/** Blocks are rounded up to a multiple of this: whole attention tiles, aligned KV rows. */
const blockGranule = 64;

/**
 * The default block size b for n context tokens on `hosts` hosts.
 *
 * Why: accuracy grows with b and speed falls with it (attention work ≈ 1.5·b·n vs n²/2 for full).
 * The paper loses 1–2 RULER points with b = n/4 and uses fixed 32K blocks at 128K+ on 8B models; the
 * measured single-GPU speedup over full attention at 16K–64K comes with 2K–8K blocks. So: up to 2048
 * tokens nothing is cut (b = n, exactly full attention); then b = n/4, kept within [2048, 8192]; and
 * never more than n/hosts, so every host has a block to encode (the paper's code uses n/hosts).
 */
export function defaultBlockSize(contextTokens: number, hosts = 1): number {
  const n = contextTokens;
  if (n <= 2048 && hosts === 1) return roundUp(Math.max(n, 1));
  let b = Math.min(8192, Math.max(2048, Math.ceil(n / 4)));
  if (hosts > 1) b = Math.min(b, Math.ceil(n / hosts));
  return roundUp(b);
}

function roundUp(b: number): number {
  return Math.ceil(b / blockGranule) * blockGranule;
}

export function planBlocks(contextTokens: number, options: PlanOptions = {}): BlockPlan {
  const n = contextTokens;
  const hostCount = options.hosts ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new Error(`A context needs at least one token, got ${n}`);
  if (!Number.isInteger(hostCount) || hostCount < 1) throw new Error(`hosts must be a positive integer, got ${hostCount}`);
  const blockSize = options.blockSize ?? defaultBlockSize(n, hostCount);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`blockSize must be a positive integer, got ${blockSize}`);
  const anchorSize = options.anchorSize ?? blockSize;
  if (!Number.isInteger(anchorSize) || anchorSize < 1 || anchorSize > blockSize) {
    throw new Error(`anchorSize must be an integer in 1..blockSize (${blockSize}), got ${anchorSize}`);
  }

  const blocks: Block[] = [];
  for (let start = 0, index = 0; start < n; start += blockSize, index++) {
    blocks.push({ index, start, end: Math.min(n, start + blockSize) });
  }
  if (blocks.length < hostCount) {
    throw new Error(
      `${hostCount} hosts need at least ${hostCount} blocks, but ${n} tokens in blocks of ${blockSize} make ${blocks.length}: ` +
        `use fewer hosts or a block size ≤ ${Math.ceil(n / hostCount)}`,
    );
  }
  return { contextTokens: n, blockSize, anchorSize, blocks, hosts: shareBlocks(blocks, hostCount), queryHost: hostCount - 1 };
}

/** Consecutive runs of blocks, balanced by tokens: host h takes the blocks whose start falls in its share. */
function shareBlocks(blocks: Block[], hostCount: number): HostShare[] {
  const n = blocks[blocks.length - 1].end;
  const shares: HostShare[] = [];
  let next = 0;
  for (let host = 0; host < hostCount; host++) {
    const hostsLeft = hostCount - host;
    const target = ((host + 1) * n) / hostCount;
    const mine: Block[] = [];
    // Take blocks while they bring this host closer to its share, leaving one block per later host.
    while (next < blocks.length - (hostsLeft - 1)) {
      const block = blocks[next];
      const end = block.end;
      if (mine.length > 0 && Math.abs(end - target) > Math.abs(mine[mine.length - 1].end - target)) break;
      mine.push(block);
      next++;
    }
    shares.push({ host, blocks: mine, start: mine[0].start, end: mine[mine.length - 1].end });
  }
  return shares;
}

/** Query–key pairs that attention computes in phase 1, per head and layer. */
export function attentionPairs(plan: BlockPlan, mode: 'star' | 'full'): number {
  const n = plan.contextTokens;
  if (mode === 'full') return (n * (n + 1)) / 2;
  let pairs = 0;
  for (const block of plan.blocks) {
    const len = block.end - block.start;
    pairs += (len * (len + 1)) / 2;
    if (block.index > 0) pairs += len * plan.anchorSize;
  }
  return pairs;
}

/** The sizes attention's cost depends on; a model's config has these fields. */
export interface AttentionLayout {
  heads: number;
  kvHeads: number;
  headDim: number;
  layers: number;
}

/**
 * Phase 1's attention FLOPs for `mode` over the plan's context: per query–key pair, QKᵀ and PV are
 * headDim multiply-adds each (2 FLOPs per multiply-add), for every query head and layer. Full attention
 * is the causal triangle; star is block 0 causal plus each later block over [anchor; block].
 */
export function attentionFlops(plan: BlockPlan, mode: 'star' | 'full', layout: Omit<AttentionLayout, 'kvHeads'>): number {
  return attentionPairs(plan, mode) * 2 * 2 * layout.headDim * layout.heads * layout.layers;
}
