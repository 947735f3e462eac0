// ONNX models written in code, for onnxruntime-web: a minimal protobuf encoder for the few fields of
// onnx.proto a one-node graph needs (no python/onnx here), and the GroupQueryAttention graph the ORT
// comparison runs. Field numbers are onnx.proto's; every message is a sequence of (tag, value) pairs where
// tag = field << 3 | wire type (0 varint, 2 length-delimited, 5 fixed32). No TensorProto: every tensor of
// the graph is fed at run time.

const encoder = new TextEncoder();

function varint(value: number): number[] {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`varint ${value} is not a safe non-negative integer`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** One encoded field; a message is the concatenation of its fields. */
type Field = Uint8Array;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const intField = (field: number, value: number): Field => Uint8Array.from([...varint(field << 3), ...varint(value)]);
const bytesField = (field: number, bytes: Uint8Array): Field => concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes]);
const stringField = (field: number, text: string): Field => bytesField(field, encoder.encode(text));
const messageField = (field: number, fields: readonly Field[]): Field => bytesField(field, concat(fields));
function floatField(field: number, value: number): Field {
  const out = new Uint8Array(5);
  out[0] = (field << 3) | 5;
  new DataView(out.buffer).setFloat32(1, value, true);
  return out;
}

/** TensorProto.DataType values. */
const DataType = { float: 1, int32: 6 } as const;
type DataTypeName = keyof typeof DataType;

/** A dimension: a fixed size, or a name (dim_param) for a size known only at run time. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  type: DataTypeName;
  /** [] for a scalar. */
  dims: readonly Dim[];
}

export type Attribute = { name: string; int: number } | { name: string; float: number };

export interface NodeSpec {
  opType: string;
  domain?: string;
  /** '' for an optional input left out. */
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly Attribute[];
}

export interface GraphSpec {
  name: string;
  nodes: readonly NodeSpec[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  /** Operator sets used besides the default domain's, e.g. { 'com.microsoft': 1 }. */
  opsets?: Record<string, number>;
}

// ValueInfoProto { name 1, type 2: TypeProto { tensor_type 1: { elem_type 1, shape 2: { dim 1: { dim_value 1 | dim_param 2 } } } } }
function valueInfo(v: ValueInfo): Field[] {
  const dims = v.dims.map((d) => messageField(1, [typeof d === 'number' ? intField(1, d) : stringField(2, d)]));
  const tensorType = [intField(1, DataType[v.type]), messageField(2, dims)];
  return [stringField(1, v.name), messageField(2, [messageField(1, tensorType)])];
}

// AttributeProto { name 1, f 2, i 3, type 20 (FLOAT 1, INT 2) }
function attribute(a: Attribute): Field[] {
  return 'int' in a ? [stringField(1, a.name), intField(3, a.int), intField(20, 2)] : [stringField(1, a.name), floatField(2, a.float), intField(20, 1)];
}

// NodeProto { input 1, output 2, name 3, op_type 4, attribute 5, domain 7 }
function node(n: NodeSpec, index: number): Field[] {
  return [
    ...n.inputs.map((name) => stringField(1, name)),
    ...n.outputs.map((name) => stringField(2, name)),
    stringField(3, `${n.opType}_${index}`),
    stringField(4, n.opType),
    ...(n.attributes ?? []).map((a) => messageField(5, attribute(a))),
    ...(n.domain ? [stringField(7, n.domain)] : []),
  ];
}

/** ModelProto { ir_version 1, producer_name 2, graph 7, opset_import 8: { domain 1, version 2 } },
 *  GraphProto { node 1, name 2, input 11, output 12 }. IR version 10 goes with opset 21. */
export function encodeModel(graph: GraphSpec): Uint8Array {
  const graphFields = [
    ...graph.nodes.map((n, i) => messageField(1, node(n, i))),
    stringField(2, graph.name),
    ...graph.inputs.map((v) => messageField(11, valueInfo(v))),
    ...graph.outputs.map((v) => messageField(12, valueInfo(v))),
  ];
  const opsets = { '': 21, ...graph.opsets };
  return concat([
    intField(1, 10),
    stringField(2, 'star-reader'),
    messageField(7, graphFields),
    ...Object.entries(opsets).map(([domain, version]) => messageField(8, [...(domain ? [stringField(1, domain)] : []), intField(2, version)])),
  ]);
}

export interface AttentionModelShape {
  heads: number;
  kvHeads: number;
  headDim: number;
  scale: number;
}

/** com.microsoft GroupQueryAttention as a whole prompt without a past: causal, f32, batch 1, sequence
 *  length `S` given at run time. Inputs query [1, S, heads·headDim], key and value [1, S, kvHeads·headDim]
 *  (the same memory layout as our q [T, heads, headDim] and K/V [T, kvHeads, headDim]), seqlens_k int32 [1]
 *  (= S − 1) and total_sequence_length int32 scalar (= S). Outputs `output` [1, S, heads·headDim] and the
 *  present K/V cache [1, kvHeads, S, headDim] the operator always writes. */
export function groupQueryAttentionModel(shape: AttentionModelShape): Uint8Array {
  const { heads, kvHeads, headDim, scale } = shape;
  return encodeModel({
    name: 'group_query_attention',
    opsets: { 'com.microsoft': 1 },
    nodes: [
      {
        opType: 'GroupQueryAttention',
        domain: 'com.microsoft',
        inputs: ['query', 'key', 'value', '', '', 'seqlens_k', 'total_sequence_length'],
        outputs: ['output', 'present_key', 'present_value'],
        attributes: [
          { name: 'num_heads', int: heads },
          { name: 'kv_num_heads', int: kvHeads },
          { name: 'scale', float: scale },
        ],
      },
    ],
    inputs: [
      { name: 'query', type: 'float', dims: [1, 'S', heads * headDim] },
      { name: 'key', type: 'float', dims: [1, 'S', kvHeads * headDim] },
      { name: 'value', type: 'float', dims: [1, 'S', kvHeads * headDim] },
      { name: 'seqlens_k', type: 'int32', dims: [1] },
      { name: 'total_sequence_length', type: 'int32', dims: [] },
    ],
    outputs: [
      { name: 'output', type: 'float', dims: [1, 'S', heads * headDim] },
      { name: 'present_key', type: 'float', dims: [1, kvHeads, 'S', headDim] },
      { name: 'present_value', type: 'float', dims: [1, kvHeads, 'S', headDim] },
    ],
  });
}

/** Identity of every input (float, its dims) to an output named `<input>_out`. For onnxruntime-node,
 *  whose tensors cannot be made from a GPU buffer of the caller's: run with its outputs left on the GPU,
 *  it puts CPU data into the execution provider's buffers; run with CPU outputs, it waits for the work
 *  queued before it on that device. */
export function identityModel(inputs: ReadonlyArray<{ name: string; dims: readonly Dim[] }>): Uint8Array {
  const values = (suffix: string) => inputs.map((v): ValueInfo => ({ name: v.name + suffix, type: 'float', dims: v.dims }));
  return encodeModel({
    name: 'identity',
    nodes: inputs.map((v) => ({ opType: 'Identity', inputs: [v.name], outputs: [`${v.name}_out`] })),
    inputs: values(''),
    outputs: values('_out'),
  });
}
