// The one object kernels talk to: a device plus the caches that keep per-dispatch work small
// (compiled pipelines, immutable uniform buffers, bind groups) and the buffer helpers every layer needs.
//
// Recording: every dispatch recorded on a command encoder goes into one compute pass, opened on the
// first dispatch and closed by the next copy (gpu.copy) or by the submit (gpu.run / gpu.submit).
// A decoded token is a few hundred small dispatches, and on a real GPU the fixed cost of each pass
// and bind group, not the arithmetic, decided its speed. WebGPU orders the dispatches of a pass and
// makes each one's writes visible to the next, so one pass changes nothing in the results.
import { requestDevice, type AdapterReport, type DeviceRequest } from './device.ts';
import { composeShader, type ComposeOptions, type IncludeSwaps, type TypeAliases } from './shader-compose.ts';
import { shaderSource } from '#shader-source';
import { byteSize, type DType, type Tensor } from './tensor.ts';

export type UniformField = readonly ['u32' | 'i32' | 'f32', number];
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface PipelineOptions {
  aliases?: TypeAliases;
  /** Included files swapped for others with the same functions (see composeShader). */
  includes?: IncludeSwaps;
  constants?: Record<string, number>;
  /** Uniform structs declared in TypeScript, and u32 constants shared with it (see composeShader). */
  structs?: ComposeOptions['structs'];
  shared?: ComposeOptions['shared'];
  entryPoint?: string;
}

/** Uniform buffers kept by content; past this the cache starts again (a long chat makes new ones). */
const maxCachedUniforms = 4096;
/** Bind groups kept per pipeline; past this that pipeline's cache starts again. */
const maxBindGroupsPerPipeline = 4096;
/** Distinct sizes of staging buffers kept for reuse. */
const maxStagingSizes = 8;

function packUniform(fields: readonly UniformField[]): ArrayBuffer {
  const words = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const data = new ArrayBuffer(words * 4);
  const view = new DataView(data);
  fields.forEach(([type, value], i) => {
    if (type === 'f32') view.setFloat32(i * 4, value, true);
    else if (type === 'i32') view.setInt32(i * 4, value, true);
    else view.setUint32(i * 4, value, true);
  });
  return data;
}

function uniformKey(data: ArrayBuffer): string {
  return Array.from(new Uint32Array(data)).join(',');
}

/** A compute pass being recorded, and the pipeline last set on it. */
interface OpenPass {
  pass: GPUComputePassEncoder;
  pipeline: GPUComputePipeline | undefined;
}

type RecordedCommand =
  | { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; x: number; y: number; z: number }
  | { copy: [source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number] };

/** Commands kept by Gpu.startRecording/stopRecording, to be replayed. */
export interface Recording {
  readonly commands: readonly RecordedCommand[];
}

/** Passes one timestamp query set times: WebGPU caps a query set at 4,096 queries, two a pass. */
const passesPerQuerySet = 2048;

interface Profiler {
  /** Query sets of `passesPerQuerySet` passes each (a query set holds at most 4,096 queries). */
  querySets: GPUQuerySet[];
  perDispatch: boolean;
  /** Passes that can be timed. */
  capacity: number;
  labels: string[];
}

export class Gpu {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly bindGroups = new WeakMap<GPUComputePipeline, Map<string, GPUBindGroup>>();
  /** Numbers naming buffers in bind-group keys; never reused, so a key never matches a new buffer. */
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private readonly openPasses = new WeakMap<GPUCommandEncoder, OpenPass>();
  /** Encoders whose commands are also being kept for replay (startRecording). */
  private readonly recordings = new WeakMap<GPUCommandEncoder, RecordedCommand[]>();
  /** Mappable buffers for reads, by size, reused: a decoded token reads back every time. */
  private readonly stagingPool = new Map<number, GPUBuffer[]>();
  /** What this device was asked to do so far: for benchmarks' per-token breakdowns. */
  readonly counters = { dispatches: 0, passes: 0, submits: 0, waits: 0, bindGroupsMade: 0, bytesRead: 0 };
  private firstError: string | undefined;
  private profiler: Profiler | undefined;
  /** Why the device is gone (lost or destroyed); afterwards every call fails with this. */
  private gone: string | undefined;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterReport,
  ) {
    device.addEventListener('uncapturederror', (event) => {
      const message = (event as GPUUncapturedErrorEvent).error.message;
      this.firstError ??= message;
    });
    void device.lost.then((info) => {
      this.gone ??= `GPU device lost (${info.reason}): ${info.message}`;
    });
  }

  static async create(request: DeviceRequest = {}): Promise<Gpu> {
    const { device, adapter } = await requestDevice(request);
    return new Gpu(device, adapter);
  }

  get hasF16(): boolean {
    return this.device.features.has('shader-f16');
  }

  /**
   * Whether kernels use subgroup operations: the adapter has them and Gpu.create was not given
   * `subgroups: false`. Each kernel that uses them also has a workgroup-memory path for when this is false.
   */
  get hasSubgroups(): boolean {
    return this.device.features.has('subgroups');
  }

  get maxBindingBytes(): number {
    return this.device.limits.maxStorageBufferBindingSize;
  }

  /** A compiled compute pipeline, built once per shader, type aliases and override constants. */
  pipeline(shader: string, options: PipelineOptions = {}): GPUComputePipeline {
    this.checkDevice();
    const { aliases = {}, includes = {}, constants = {}, structs = {}, shared = {}, entryPoint = 'main' } = options;
    const key = JSON.stringify([shader, aliases, includes, constants, structs, shared, entryPoint]);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      if (Object.values(aliases).includes('f16') && !this.hasF16) {
        throw new Error(`Shader "${shader}" needs f16 but this device has no shader-f16 feature; use f32 weights`);
      }
      const code = composeShader(shader, shaderSource, { aliases, includes, structs, shared });
      if (/^enable\b.*\bsubgroups\b/m.test(code) && !this.hasSubgroups) {
        throw new Error(`Shader "${shader}" uses subgroups but this device has no subgroups feature`);
      }
      const module = this.device.createShaderModule({ label: shader, code });
      pipeline = this.device.createComputePipeline({
        label: shader,
        layout: 'auto',
        compute: { module, entryPoint, constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** A uniform buffer holding the given 4-byte fields in order (pad to 16 bytes). Cached by content. */
  uniform(fields: readonly UniformField[]): GPUBuffer {
    const data = packUniform(fields);
    const key = uniformKey(data);
    let buffer = this.uniforms.get(key);
    if (!buffer) {
      // Forgetting, not destroying: commands recorded but not yet submitted may still use them, and
      // the garbage collector frees each one once no command does.
      if (this.uniforms.size >= maxCachedUniforms) this.uniforms.clear();
      buffer = this.createUniform(data);
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  private createUniform(data: ArrayBuffer, extraUsage = 0): GPUBuffer {
    const buffer = this.device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.UNIFORM | extraUsage, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data));
    buffer.unmap();
    return buffer;
  }

  /**
   * Records one compute dispatch into the encoder's open compute pass; resources bind in order to
   * @group(0) @binding(0, 1, …), an undefined entry leaving its binding number out (a quantized weight's
   * scales sit at binding 5 whatever the kernel's other bindings).
   */
  dispatch(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    resources: readonly (Binding | undefined)[],
    workgroups: readonly [number, number?, number?],
  ): void {
    const [x, y = 1, z = 1] = workgroups;
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new Error(`Dispatch of ${x}x${y}x${z} workgroups exceeds the device limit of ${max} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.bindGroup(pipeline, resources);
    this.recordings.get(encoder)?.push({ pipeline, bindGroup, x, y, z });
    this.encodeDispatch(encoder, pipeline, bindGroup, x, y, z);
  }

  private encodeDispatch(encoder: GPUCommandEncoder, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number, z: number): void {
    const open = this.passOf(encoder);
    this.counters.dispatches++;
    if (open.pipeline !== pipeline) {
      open.pass.setPipeline(pipeline);
      open.pipeline = pipeline;
    }
    open.pass.setBindGroup(0, bindGroup);
    open.pass.dispatchWorkgroups(x, y, z);
    if (this.profiler?.perDispatch) {
      this.profiler.labels[this.profiler.labels.length - 1] = pipeline.label;
      this.endPass(encoder);
    }
  }

  /**
   * From now on, the dispatches and copies recorded on `encoder` are also kept, as they are (pipelines,
   * bind groups, workgroup counts), until stopRecording. A decoded token records the same commands as
   * the token before it — only the contents of buffers written with queue.writeBuffer (its id and
   * position) differ — so replaying them costs a few native calls a dispatch instead of the kernels'
   * JavaScript (pipeline and uniform look-ups, bind-group keys), which on a real GPU was most of a
   * token's time.
   */
  startRecording(encoder: GPUCommandEncoder): void {
    this.recordings.set(encoder, []);
  }

  stopRecording(encoder: GPUCommandEncoder): Recording {
    const commands = this.recordings.get(encoder);
    if (!commands) throw new Error('stopRecording without startRecording');
    this.recordings.delete(encoder);
    return { commands };
  }

  /**
   * Records `recording`'s commands again on `encoder`. Its buffers must still be alive and hold what the
   * commands expect; its uniforms are immutable, so they do.
   */
  replay(encoder: GPUCommandEncoder, recording: Recording): void {
    this.checkDevice();
    for (const command of recording.commands) {
      if ('copy' in command) this.copy(encoder, ...command.copy);
      else this.encodeDispatch(encoder, command.pipeline, command.bindGroup, command.x, command.y, command.z);
    }
  }

  /**
   * Times the GPU work of every compute pass recorded from now on (or of every dispatch, each then in
   * a pass of its own) with timestamp queries, until stopProfile. For benchmarks: where the GPU's time
   * goes, apart from the CPU's.
   */
  startProfile(perDispatch: boolean, capacity = 2048): void {
    if (!this.device.features.has('timestamp-query')) throw new Error('This device has no timestamp-query feature');
    const querySets = Array.from({ length: Math.ceil(capacity / passesPerQuerySet) }, () =>
      this.device.createQuerySet({ type: 'timestamp', count: 2 * passesPerQuerySet }),
    );
    this.profiler = { querySets, perDispatch, capacity, labels: [] };
  }

  /**
   * GPU milliseconds of each pass (or dispatch) timed since startProfile, with its label and its start
   * (ms after the first timed pass began: gaps between passes are the GPU's idle time); ends profiling.
   */
  async stopProfile(): Promise<{ label: string; ms: number; startMs: number }[]> {
    const profiler = this.profiler;
    if (!profiler) throw new Error('stopProfile without startProfile');
    this.profiler = undefined;
    const count = 2 * profiler.labels.length;
    if (count === 0) {
      for (const querySet of profiler.querySets) querySet.destroy();
      return [];
    }
    const resolved = this.device.createBuffer({ size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const encoder = this.device.createCommandEncoder();
    profiler.querySets.forEach((querySet, i) => {
      const first = 2 * i * passesPerQuerySet;
      if (first < count) encoder.resolveQuerySet(querySet, 0, Math.min(2 * passesPerQuerySet, count - first), resolved, first * 8);
    });
    this.device.queue.submit([encoder.finish()]);
    const times = new BigUint64Array(await this.read(resolved));
    resolved.destroy();
    for (const querySet of profiler.querySets) querySet.destroy();
    return profiler.labels.map((label, i) => ({ label, ms: Number(times[2 * i + 1] - times[2 * i]) / 1e6, startMs: Number(times[2 * i] - times[0]) / 1e6 }));
  }

  /** Records a buffer copy, closing the open compute pass (copies cannot be recorded inside one). */
  copy(encoder: GPUCommandEncoder, source: GPUBuffer, sourceOffset: number, target: GPUBuffer, targetOffset: number, bytes: number): void {
    this.recordings.get(encoder)?.push({ copy: [source, sourceOffset, target, targetOffset, bytes] });
    this.endPass(encoder);
    encoder.copyBufferToBuffer(source, sourceOffset, target, targetOffset, bytes);
  }

  /** A command encoder to record on; gpu.submit(encoder) sends it. */
  encoder(label?: string): GPUCommandEncoder {
    this.checkDevice();
    return this.device.createCommandEncoder({ label });
  }

  /** Closes the open compute pass and submits the encoder's commands. */
  submit(encoder: GPUCommandEncoder): void {
    this.endPass(encoder);
    this.device.queue.submit([encoder.finish()]);
    this.counters.submits++;
  }

  /** Encodes work with `record` and submits it as one command buffer. */
  run(record: (encoder: GPUCommandEncoder) => void): void {
    const encoder = this.encoder();
    record(encoder);
    this.submit(encoder);
  }

  private passOf(encoder: GPUCommandEncoder): OpenPass {
    let open = this.openPasses.get(encoder);
    if (!open) {
      open = { pass: encoder.beginComputePass({ timestampWrites: this.nextTimestampWrites() }), pipeline: undefined };
      this.openPasses.set(encoder, open);
      this.counters.passes++;
    }
    return open;
  }

  private nextTimestampWrites(): GPUComputePassTimestampWrites | undefined {
    const profiler = this.profiler;
    if (!profiler || profiler.labels.length >= profiler.capacity) return undefined;
    const index = profiler.labels.push('pass') - 1;
    const slot = index % passesPerQuerySet;
    return { querySet: profiler.querySets[Math.floor(index / passesPerQuerySet)], beginningOfPassWriteIndex: 2 * slot, endOfPassWriteIndex: 2 * slot + 1 };
  }

  private endPass(encoder: GPUCommandEncoder): void {
    const open = this.openPasses.get(encoder);
    if (open) {
      open.pass.end();
      this.openPasses.delete(encoder);
    }
  }

  /**
   * The bind group of `resources` for `pipeline`, made once: the weights, the KV cache and the
   * activations live as long as the model, so decoding finds nearly every bind group made.
   */
  private bindGroup(pipeline: GPUComputePipeline, resources: readonly (Binding | undefined)[]): GPUBindGroup {
    let cache = this.bindGroups.get(pipeline);
    if (!cache) {
      cache = new Map();
      this.bindGroups.set(pipeline, cache);
    }
    const key = resources
      .map((r) => (r === undefined ? '-' : r instanceof GPUBuffer ? `${this.bufferId(r)}` : `${this.bufferId(r.buffer)}@${r.offset ?? 0}+${r.size ?? '*'}`))
      .join(',');
    let group = cache.get(key);
    if (!group) {
      // Bind groups need no destroy: dropping the cache only lets unused ones be collected.
      if (cache.size >= maxBindGroupsPerPipeline) cache.clear();
      this.counters.bindGroupsMade++;
      group = this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: resources.flatMap((r, binding) => (r === undefined ? [] : [{ binding, resource: r instanceof GPUBuffer ? { buffer: r } : r }])),
      });
      cache.set(key, group);
    }
    return group;
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /**
   * A storage buffer of `bytes`, zero-filled, rounded up to 16 so that any tensor can be read as
   * vec4s (a weight of an odd element count too).
   */
  buffer(bytes: number, label?: string, extraUsage = 0): GPUBuffer {
    return this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    });
  }

  tensor(dtype: DType, shape: readonly number[], label?: string): Tensor {
    return { buffer: this.buffer(byteSize({ dtype, shape }), label), dtype, shape };
  }

  /** A storage buffer holding `data`. */
  upload(data: ArrayBufferView, label?: string): GPUBuffer {
    const buffer = this.buffer(data.byteLength, label);
    this.write(buffer, data);
    return buffer;
  }

  tensorFrom(data: Float32Array | Uint32Array | Int32Array | Uint16Array, dtype: DType, shape: readonly number[]): Tensor {
    return { buffer: this.upload(data), dtype, shape };
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, bufferOffset = 0): void {
    // writeBuffer needs a size that is a multiple of 4: pad odd-sized f16 data.
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buffer, bufferOffset, bytes);
    } else {
      const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      padded.set(bytes);
      this.device.queue.writeBuffer(buffer, bufferOffset, padded);
    }
  }

  /** Copies `bytes` from `buffer` at `offset` back to the CPU; throws the first GPU error seen since the last read. */
  async read(buffer: GPUBuffer, bytes = buffer.size, offset = 0): Promise<ArrayBuffer> {
    const [copy] = await this.readMany([{ buffer, offset, bytes }]);
    return copy;
  }

  /** Several buffer ranges back to the CPU in one submission and one wait, in order. */
  async readMany(ranges: readonly { buffer: GPUBuffer; offset?: number; bytes: number }[]): Promise<ArrayBuffer[]> {
    this.checkDevice();
    const sizes = ranges.map((r) => Math.ceil(r.bytes / 4) * 4);
    const total = sizes.reduce((a, b) => a + b, 0);
    const staging = this.takeStaging(total);
    try {
      const encoder = this.device.createCommandEncoder();
      let at = 0;
      ranges.forEach((r, i) => {
        encoder.copyBufferToBuffer(r.buffer, r.offset ?? 0, staging, at, sizes[i]);
        at += sizes[i];
      });
      this.device.queue.submit([encoder.finish()]);
      this.counters.submits++;
      const all = await this.readBack(staging, total);
      this.returnStaging(staging);
      at = 0;
      return ranges.map((r, i) => {
        const piece = all.slice(at, at + r.bytes);
        at += sizes[i];
        return piece;
      });
    } catch (error) {
      staging.destroy();
      throw error;
    }
  }

  /**
   * A buffer the CPU can read (readBack), to copy results into within the commands that make them: a
   * decoded token's id then needs no submission of its own.
   */
  readbackBuffer(bytes: number, label?: string): GPUBuffer {
    return this.device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label });
  }

  /** The first `bytes` of a readback buffer once the copies submitted into it are done; throws the first GPU error seen. */
  async readBack(staging: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.checkDevice();
    this.counters.waits++;
    this.counters.bytesRead += Math.ceil(bytes / 4) * 4;
    await staging.mapAsync(GPUMapMode.READ);
    const copy = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    this.throwIfErrored();
    return copy;
  }

  private takeStaging(size: number): GPUBuffer {
    const free = this.stagingPool.get(size)?.pop();
    return free ?? this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'staging' });
  }

  /** Keeps a few staging buffers of each size; a read of an unusual size frees its buffer. */
  private returnStaging(staging: GPUBuffer): void {
    let free = this.stagingPool.get(staging.size);
    if (!free) {
      if (this.stagingPool.size >= maxStagingSizes) {
        staging.destroy();
        return;
      }
      free = [];
      this.stagingPool.set(staging.size, free);
    }
    if (free.length < 2) free.push(staging);
    else staging.destroy();
  }

  async readF32(t: Tensor | GPUBuffer): Promise<Float32Array> {
    const buffer = t instanceof GPUBuffer ? t : t.buffer;
    const bytes = t instanceof GPUBuffer ? t.size : byteSize(t);
    return new Float32Array(await this.read(buffer, bytes));
  }

  async readU32(t: Tensor | GPUBuffer): Promise<Uint32Array> {
    const buffer = t instanceof GPUBuffer ? t : t.buffer;
    const bytes = t instanceof GPUBuffer ? t.size : byteSize(t);
    return new Uint32Array(await this.read(buffer, bytes));
  }

  /** Waits for all submitted work; throws the first GPU error seen. */
  async finish(): Promise<void> {
    await this.submittedWorkDone()();
  }

  /**
   * A wait for the work submitted so far (not for what is submitted later), to be awaited when
   * needed: it throws the first GPU error seen by then. Lets the CPU record more work while the GPU
   * runs what it has, and still bound how much is queued.
   */
  submittedWorkDone(): () => Promise<void> {
    this.checkDevice();
    const done = this.device.queue.onSubmittedWorkDone();
    // Awaited later, or never if the caller stops first: no unhandled rejection meanwhile.
    done.catch(() => {});
    return async () => {
      this.counters.waits++;
      await done;
      this.throwIfErrored();
    };
  }

  /**
   * Work on a lost or destroyed device must stop in JavaScript: Dawn in Node aborts the process when
   * asked to build a pipeline on a destroyed device.
   */
  private checkDevice(): void {
    if (this.gone) throw new Error(this.gone);
  }

  private throwIfErrored(): void {
    if (this.firstError !== undefined) {
      const message = this.firstError;
      this.firstError = undefined;
      throw new Error(`WebGPU error: ${message}`);
    }
  }

  destroy(): void {
    this.gone ??= 'GPU device destroyed';
    for (const buffer of this.uniforms.values()) buffer.destroy();
    this.uniforms.clear();
    for (const free of this.stagingPool.values()) for (const buffer of free) buffer.destroy();
    this.stagingPool.clear();
    this.pipelines.clear();
    this.device.destroy();
  }
}
