// Citations from split-KV decoding: after lse_merge, the share of one (row, head)'s attention that a
// split received is exp(s_split − s), s_split its partial log-sum-exp and s the merged one (the merge's
// own weights, so the shares of all splits sum to 1). When the splits tile a fixed grid of positions
// (attention_decode.wgsl's split_shift), a cell's share is the sum of its splits': the attention mass
// of a span of the document. Adds weight · Σ_heads Σ_splits share to the accumulator cell (token row,
// grid cell): the caller picks weight = 1 / (heads · layers cited), so each token row's cells sum to 1
// over all layers. Splits may be smaller than cells (per_cell of them to a cell) so that decoding keeps
// enough workgroups on a short cache.
//
// One invocation per (cell, row): each writes its own accumulator cell, so no atomics are needed.

//#struct Params

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> lse_parts: array<f32>; // [count, rows, heads]
@group(0) @binding(2) var<storage, read> lse: array<f32>;       // [rows, heads], merged
@group(0) @binding(3) var<storage, read_write> shares: array<f32>; // [table_rows, cells]
// [0]: the position of query row 0. Read here rather than passed, so that the parameters are the same
// for every decoded token (their commands are replayed, see shaders/attention_decode.wgsl).
@group(0) @binding(4) var<storage, read> positions: array<u32>;

//#include empty_lse

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let local_cell = id.x;
  let row = id.y;
  let first_slot = max(local_cell * p.per_cell, p.sub_offset) - p.sub_offset;
  let end_slot = min((local_cell + 1u) * p.per_cell - p.sub_offset, p.slots);
  if (first_slot >= end_slot || row >= p.rows) { return; }
  let table_row = positions[0] + row - p.first_position;
  let cell = p.first_cell + local_cell;
  if (table_row >= p.table_rows || cell >= p.cells) { return; }
  var sum = 0.0;
  for (var h = 0u; h < p.heads; h++) {
    let merged = lse[row * p.heads + h];
    // A row that saw no key gave nothing; nor did a split that saw none.
    if (merged <= EMPTY_LSE) { continue; }
    for (var slot = first_slot; slot < end_slot; slot++) {
      let part = lse_parts[((p.slot_base + slot) * p.rows + row) * p.heads + h];
      if (part > EMPTY_LSE) { sum += exp(part - merged); }
    }
  }
  let at = table_row * p.cells + cell;
  shares[at] = shares[at] + p.weight * sum;
}
