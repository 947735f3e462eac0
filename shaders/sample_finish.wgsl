// Sampling, last step (one workgroup): completes the readout header the CPU reads with the candidates:
// [status, NaN index, argmax, candidate count, boundary score key (0: none), rest mass, max score, 0].

//#include sample_common
//#include workgroup_reduce

@group(0) @binding(1) var<storage, read> partials: array<GatherPartial>;
@group(0) @binding(2) var<storage, read_write> state: SampleState;
@group(0) @binding(3) var<storage, read_write> readout: array<u32>;

var<workgroup> boundary: atomic<u32>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) thread: u32) {
  if (thread == 0u) { atomicStore(&boundary, 0u); }
  workgroupBarrier();
  var rest = 0.0;
  for (var g = thread; g < p.groups; g += SAMPLE_THREADS) {
    rest += partials[g].rest_mass;
    atomicMax(&boundary, partials[g].boundary_key);
  }
  let mass = workgroup_sum(thread, rest, SAMPLE_THREADS);
  if (thread == 0u) {
    readout[0] = state.status;
    readout[1] = state.nan_index;
    readout[2] = state.best;
    readout[3] = atomicLoad(&state.count);
    readout[4] = atomicLoad(&boundary);
    readout[5] = bitcast<u32>(mass);
    readout[6] = bitcast<u32>(state.max_score);
    readout[7] = 0u;
  }
}
