import { first, integers, ProtoWriter, readFields, text, type ProtoField } from './onnx-proto.js';

/**
 * The output a cut graph writes: the answer logits at the last position, [batch, 2] (yes, then no). Graphs our tools
 * export carry it from the start; a hub graph gets it from {@link cutAnswerHead} at load time.
 */
export const ANSWER_OUTPUT = 'answer_logits';

/** Reads `length` bytes at `offset` of an external weights file named as the graph names it. */
export type ReadExternal = (location: string, offset: number, length: number) => Promise<Uint8Array>;

/** Element sizes of the head weight types the cut copies: float32, float16, bfloat16. */
const ELEMENT_BYTES: ReadonlyMap<number, number> = new Map([
  [1, 4],
  [10, 2],
  [16, 2],
]);
const INT64 = 7;
// Gather's negative indices need opset 11.
const SMALLEST_OPSET = 11;
const LAST_POSITION = 'lce_last_position';
const LAST_HIDDEN = 'lce_last_hidden';
const ANSWER_HEAD = 'lce_answer_head';

interface Node {
  record: ProtoField;
  inputs: string[];
  outputs: string[];
  op: string;
  domain: string;
  attributes: ProtoField[];
}

interface Tensor {
  record: ProtoField;
  name: string;
  dims: number[];
  type: number;
  fields: ProtoField[];
}

/**
 * Rewrites a causal LM graph (`logits` [batch, tokens, vocabulary] from a final MatMul) so it computes only what a
 * reranker reads: the hidden state at the last position (the rows are left-padded, so that is every row's last
 * token) times the two answer columns of the head, output as {@link ANSWER_OUTPUT}. The full-vocabulary logits at
 * every position (tokens x 151,669 floats for Qwen3) are never computed, and a head weight nothing else uses is
 * dropped. `undefined` when the graph is not in a form this knows (a quantized head, no MatMul at the end): the
 * engine then runs it as it is.
 */
export async function cutAnswerHead(
  model: Uint8Array,
  answer: { yes: number; no: number | undefined },
  readExternal: ReadExternal,
): Promise<Uint8Array | undefined> {
  const modelFields = readFields(model);
  const graphField = first(modelFields, 7);
  if (graphField?.bytes === undefined || opset(modelFields) < SMALLEST_OPSET) return undefined;
  const graph = readFields(graphField.bytes);
  const nodes = graph.filter((f) => f.field === 1).map(readNode);
  const initializers = new Map(
    graph
      .filter((f) => f.field === 5)
      .map((f) => {
        const tensor = readTensor(f);
        return [tensor.name, tensor] as const;
      }),
  );
  const output = graph.find((f) => f.field === 12 && valueName(f) === 'logits');
  const head = nodes.find((n) => n.outputs[0] === 'logits');
  if (output === undefined || head === undefined || head.op !== 'MatMul' || head.domain !== '') return undefined;
  const [hidden, weightName] = head.inputs as [string, string];
  // The head weight as [hidden, vocabulary], or the [vocabulary, hidden] embedding a Transpose turns into it.
  let weight = initializers.get(weightName);
  let transposed = false;
  const transpose = weight === undefined ? nodes.find((n) => n.outputs[0] === weightName) : undefined;
  if (transpose !== undefined) {
    if (transpose.op !== 'Transpose' || !transposeSwapsTwo(transpose)) return undefined;
    weight = initializers.get(transpose.inputs[0] as string);
    transposed = true;
  }
  const size = weight === undefined ? undefined : ELEMENT_BYTES.get(weight.type);
  if (weight === undefined || size === undefined || weight.dims.length !== 2) return undefined;
  const [hiddenSize, vocabulary] = (transposed ? [weight.dims[1], weight.dims[0]] : weight.dims) as [number, number];
  const columns = [answer.yes, answer.no ?? answer.yes];
  if (columns.some((c) => c < 0 || c >= vocabulary)) return undefined;
  const head2 = await answerColumns(weight, transposed, hiddenSize, vocabulary, columns, size, readExternal);
  if (head2 === undefined) return undefined;

  // What the cut leaves unused: the old head, its Transpose, and their weight when nothing else reads it.
  const dropped = new Set<ProtoField>([head.record]);
  const readers = (name: string, except: ReadonlySet<ProtoField>) =>
    nodes.some((n) => !except.has(n.record) && n.inputs.includes(name)) ||
    graph.some((f) => f.field === 12 && valueName(f) === name);
  if (transpose !== undefined && !readers(weightName, dropped)) dropped.add(transpose.record);
  const weightUnread = !readers(weight.name, dropped);

  const out = new ProtoWriter();
  for (const f of graph) {
    if (f === head.record) {
      out.message(1, (n) => node(n, 'Gather', [hidden, LAST_POSITION], LAST_HIDDEN, 1));
      out.message(1, (n) => node(n, 'MatMul', [LAST_HIDDEN, ANSWER_HEAD], ANSWER_OUTPUT, undefined));
    } else if (dropped.has(f)) {
      continue;
    } else if (f.field === 5 && f === weight.record && weightUnread) {
      continue;
    } else if (f === output) {
      out.message(12, (v) => valueInfo(v, weight.type));
    } else if (f.field === 13 && valueName(f) === 'logits') {
      continue;
    } else {
      out.raw(graphField.bytes.subarray(f.start, f.end));
    }
  }
  out.message(5, (t) => t.varint(2, INT64).string(8, LAST_POSITION).bytes(9, int64Bytes(-1)));
  out.message(5, (t) =>
    t.varint(1, hiddenSize).varint(1, 2).varint(2, weight.type).string(8, ANSWER_HEAD).bytes(9, head2),
  );

  const rewritten = new ProtoWriter();
  for (const f of modelFields) {
    if (f === graphField) rewritten.bytes(7, out.finish());
    else rewritten.raw(model.subarray(f.start, f.end));
  }
  return rewritten.finish();
}

/** The two answer columns of the head as a [hidden, 2] weight, in the head's element type. */
async function answerColumns(
  weight: Tensor,
  transposed: boolean,
  hiddenSize: number,
  vocabulary: number,
  columns: readonly number[],
  size: number,
  readExternal: ReadExternal,
): Promise<Uint8Array | undefined> {
  // Byte offset of element (h, column) in the weight as stored.
  const at = (h: number, column: number) => (transposed ? column * hiddenSize + h : h * vocabulary + column) * size;
  let read: (offset: number, length: number) => Promise<Uint8Array>;
  const raw = first(weight.fields, 9)?.bytes ?? (weight.type === 1 ? packedFloats(weight.fields) : undefined);
  const external = first(weight.fields, 14)?.value === 1 ? externalData(weight.fields) : undefined;
  if (external !== undefined) {
    read = (offset, length) => readExternal(external.location, external.offset + offset, length);
  } else if (raw !== undefined && raw.length === hiddenSize * vocabulary * size) {
    read = async (offset, length) => raw.subarray(offset, offset + length);
  } else {
    return undefined;
  }
  const out = new Uint8Array(hiddenSize * 2 * size);
  for (const [k, column] of columns.entries()) {
    if (transposed) {
      // A row of the embedding: one read.
      const row = await read(at(0, column), hiddenSize * size);
      for (let h = 0; h < hiddenSize; h++) out.set(row.subarray(h * size, (h + 1) * size), (h * 2 + k) * size);
    } else {
      const parts = await Promise.all(Array.from({ length: hiddenSize }, (_, h) => read(at(h, column), size)));
      parts.forEach((part, h) => out.set(part, (h * 2 + k) * size));
    }
  }
  return out;
}

function opset(modelFields: readonly ProtoField[]): number {
  for (const f of modelFields) {
    if (f.field !== 8 || f.bytes === undefined) continue;
    const fields = readFields(f.bytes);
    const domain = first(fields, 1);
    if (domain === undefined || text(domain) === '' || text(domain) === 'ai.onnx') return first(fields, 2)?.value ?? 0;
  }
  return 0;
}

function readNode(record: ProtoField): Node {
  const fields = readFields(record.bytes as Uint8Array);
  const strings = (n: number) => fields.filter((f) => f.field === n).map(text);
  const domain = first(fields, 7);
  return {
    record,
    inputs: strings(1),
    outputs: strings(2),
    op: first(fields, 4) === undefined ? '' : text(first(fields, 4) as ProtoField),
    domain: domain === undefined ? '' : text(domain),
    attributes: fields.filter((f) => f.field === 5),
  };
}

function readTensor(record: ProtoField): Tensor {
  const fields = readFields(record.bytes as Uint8Array);
  const name = first(fields, 8);
  return {
    record,
    name: name === undefined ? '' : text(name),
    dims: integers(fields, 1),
    type: first(fields, 2)?.value ?? 0,
    fields,
  };
}

function packedFloats(fields: readonly ProtoField[]): Uint8Array | undefined {
  const packed = fields.filter((f) => f.field === 4 && f.wire === 2);
  return packed.length === 1 ? packed[0]?.bytes : undefined;
}

function externalData(fields: readonly ProtoField[]): { location: string; offset: number } | undefined {
  const entries = new Map<string, string>();
  for (const f of fields) {
    if (f.field !== 13 || f.bytes === undefined) continue;
    const entry = readFields(f.bytes);
    const key = first(entry, 1);
    const value = first(entry, 2);
    if (key !== undefined && value !== undefined) entries.set(text(key), text(value));
  }
  const location = entries.get('location');
  return location === undefined ? undefined : { location, offset: Number(entries.get('offset') ?? 0) };
}

/** A Transpose of a matrix: no `perm`, or `perm` [1, 0]. */
function transposeSwapsTwo(node: Node): boolean {
  for (const attribute of node.attributes) {
    const fields = readFields(attribute.bytes as Uint8Array);
    const name = first(fields, 1);
    if (name === undefined || text(name) !== 'perm') continue;
    const perm = integers(fields, 8);
    return perm.length === 2 && perm[0] === 1 && perm[1] === 0;
  }
  return true;
}

function valueName(record: ProtoField): string {
  const name = first(readFields(record.bytes as Uint8Array), 1);
  return name === undefined ? '' : text(name);
}

function node(writer: ProtoWriter, op: string, inputs: readonly string[], output: string, axis: number | undefined) {
  for (const input of inputs) writer.string(1, input);
  writer.string(2, output).string(3, output).string(4, op);
  if (axis !== undefined) writer.message(5, (a) => a.string(1, 'axis').varint(3, axis).varint(20, 2));
}

/** The cut output's declaration: [batch_size, 2] in the head's element type. */
function valueInfo(writer: ProtoWriter, type: number) {
  writer
    .string(1, ANSWER_OUTPUT)
    .message(2, (t) =>
      t.message(1, (tensor) =>
        tensor
          .varint(1, type)
          .message(2, (shape) => shape.message(1, (d) => d.string(2, 'batch_size')).message(1, (d) => d.varint(1, 2))),
      ),
    );
}

function int64Bytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(value), true);
  return out;
}
