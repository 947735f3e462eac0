// `node --import tsx bench/ort/workgroup-reads.ts` (VK_ICD_FILENAMES=…/lvp_icd.json for lavapipe): what one
// dot4 costs a lane on this adapter when its vec4 comes from workgroup memory at an index the whole
// subgroup shares (our flash tile's K and V reads: attention_prefill's 64/1/16 tile reads kv_tile that way
// for every dot4 and every FMA of P·V), at an index of its own (a gather), at an index of its own once per
// 8 dot4s, the other 7 vec4s fetched from neighbouring lanes by subgroupShuffle (onnxruntime's WebGPU
// FlashAttention), and from registers. 64 workgroups of 64 invocations, 16,384 dot4s each; fastest of 3
// after one untimed run. Written for bench/results/ort-node-lavapipe.md, where it explains why onnxruntime's
// attention ran 8–9× faster than ours on lavapipe: there every workgroup-memory read is done lane by lane.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
const gpu = create([]);
const a = await gpu.requestAdapter();
if (!a) throw new Error('no WebGPU adapter');
console.log(`adapter: ${a.info.description || a.info.device}, subgroups of ${a.info.subgroupMinSize}–${a.info.subgroupMaxSize}`);
const d = await a.requestDevice({ requiredFeatures: ['subgroups'] });
// The subgroup is assumed to have 8 lanes (lavapipe's on AVX2; ORT caps its key step the same way).
const body: Record<string, string> = {
  // every lane reads the same vec4 (index uniform across the subgroup) for every FMA group
  uniform_shared: `for (var i = 0u; i < n; i++) { acc += dot(x, sh[i % 256u]); }`,
  // ORT's pattern: each lane reads its own vec4 once per 8, the 8 are passed around by subgroupShuffle
  per_lane_shuffle: `for (var i = 0u; i < n; i += 8u) { let v = sh[(i + sg) % 256u];
      acc += dot(x, subgroupShuffle(v, 0u)); acc += dot(x, subgroupShuffle(v, 1u)); acc += dot(x, subgroupShuffle(v, 2u)); acc += dot(x, subgroupShuffle(v, 3u));
      acc += dot(x, subgroupShuffle(v, 4u)); acc += dot(x, subgroupShuffle(v, 5u)); acc += dot(x, subgroupShuffle(v, 6u)); acc += dot(x, subgroupShuffle(v, 7u)); }`,
  // every lane reads a vec4 of its own (divergent index) for every FMA group
  per_lane_shared: `for (var i = 0u; i < n; i++) { acc += dot(x, sh[(i + sg) % 256u]); }`,
  // no memory: registers only
  registers: `for (var i = 0u; i < n; i++) { acc += dot(x, vec4f(f32(i))); }`,
};
const n = 1 << 14;
const ubuf = d.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
d.queue.writeBuffer(ubuf, 0, Uint32Array.of(n, 0, 0, 0));
const obuf = d.createBuffer({ size: 64 * 256 * 4, usage: GPUBufferUsage.STORAGE });
for (const [name, loop] of Object.entries(body)) {
  const code = `enable subgroups;
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> o: array<f32>;
var<workgroup> sh: array<vec4f, 256>;
@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3u, @builtin(subgroup_invocation_id) sg: u32) {
  for (var i = li; i < 256u; i += 64u) { sh[i] = vec4f(f32(i)); }
  workgroupBarrier();
  let n = p.n;
  let x = vec4f(f32(li));
  var acc = 0.0;
  ${loop}
  o[wg.x * 64u + li] = acc;
}`;
  const pipe = d.createComputePipeline({ layout: 'auto', compute: { module: d.createShaderModule({ code }), entryPoint: 'main' } });
  const bg = d.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: ubuf } }, { binding: 1, resource: { buffer: obuf } }] });
  let best = Infinity;
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now();
    const e = d.createCommandEncoder(); const pass = e.beginComputePass(); pass.setPipeline(pipe); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(64); pass.end(); d.queue.submit([e.finish()]);
    await d.queue.onSubmittedWorkDone();
    if (r > 0) best = Math.min(best, performance.now() - t0);
  }
  const dots = 64 * 64 * n;
  console.log(`${name}: ${best.toFixed(1)} ms, ${(best * 1e6 / dots).toFixed(3)} ns per lane dot4`);
}
// The instance must outlive the device: a collected instance takes the device down with it.
void gpu;
