// Plain-TypeScript reference for the linear kernel: y[r, o] = sum_i x[r, i] * w[o, i] + bias[o].
export function linearRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  rows: number,
  outs: number,
  ins: number,
): Float32Array {
  const y = new Float32Array(rows * outs);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outs; o++) {
      let acc = bias ? bias[o] : 0;
      for (let i = 0; i < ins; i++) acc += x[r * ins + i] * w[o * ins + i];
      y[r * outs + o] = acc;
    }
  }
  return y;
}
