// Plain-TypeScript reference for the embedding lookup: rows of `table` [vocab, hidden], zeros for ids ≥ vocab.
export function embedRef(table: Float32Array, ids: Uint32Array, hidden: number): Float32Array {
  const vocab = table.length / hidden;
  const out = new Float32Array(ids.length * hidden);
  ids.forEach((id, row) => {
    if (id < vocab) out.set(table.subarray(id * hidden, (id + 1) * hidden), row * hidden);
  });
  return out;
}
