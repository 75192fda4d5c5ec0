// Just enough of the ONNX protobuf schema (onnx.proto3) to write tiny hostile graphs by hand, with no Python.

type Field = Buffer;

function varint(value: number | bigint): Buffer {
  let v = BigInt(value);
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return Buffer.from(bytes);
}

const int = (field: number, value: number): Field => Buffer.concat([varint(field << 3), varint(value)]);
const bytes = (field: number, value: Buffer | string): Field => {
  const body = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
};
const message = (field: number, ...parts: Field[]): Field => bytes(field, Buffer.concat(parts));

/** ONNX element types used here. */
export const FLOAT = 1;
export const INT64 = 7;

/** A tensor value description: `dims` are symbolic names or sizes. */
function valueInfo(field: number, name: string, elemType: number, dims: (string | number)[]): Field {
  const shape = dims.map((d) => message(1, typeof d === 'number' ? int(1, d) : bytes(2, d)));
  return message(field, bytes(1, name), message(2, message(1, int(1, elemType), message(2, ...shape))));
}

export interface NodeSpec {
  op: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
}

export interface InitializerSpec {
  name: string;
  dims: number[];
  elemType: number;
  /** Stored outside the graph, at this path relative to the model file. */
  externalLocation: string;
  length: number;
}

/** A graph taking `input_ids` and `attention_mask` ([batch, seq], int64) and producing `logits` ([batch, 1], float). */
export function pairGraph(options: {
  nodes: NodeSpec[];
  opsets?: { domain: string; version: number }[];
  initializers?: InitializerSpec[];
}): Buffer {
  const nodes = options.nodes.map((n) =>
    message(
      1,
      ...n.inputs.map((i) => bytes(1, i)),
      ...n.outputs.map((o) => bytes(2, o)),
      bytes(4, n.op),
      ...(n.domain === undefined ? [] : [bytes(7, n.domain)]),
    ),
  );
  const initializers = (options.initializers ?? []).map((t) =>
    message(
      5,
      ...t.dims.map((d) => int(1, d)),
      int(2, t.elemType),
      bytes(8, t.name),
      message(13, bytes(1, 'location'), bytes(2, t.externalLocation)),
      message(13, bytes(1, 'length'), bytes(2, String(t.length))),
      int(14, 1), // data_location: EXTERNAL
    ),
  );
  const graph = message(
    7,
    ...nodes,
    bytes(2, 'hostile'),
    ...initializers,
    valueInfo(11, 'input_ids', INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', INT64, ['batch', 'sequence']),
    valueInfo(12, 'logits', FLOAT, ['batch', 1]),
  );
  const opsets = (options.opsets ?? [{ domain: '', version: 17 }]).map((o) =>
    message(8, bytes(1, o.domain), int(2, o.version)),
  );
  return Buffer.concat([int(1, 8), bytes(2, 'langchain-cross-encoder tests'), graph, ...opsets]);
}
