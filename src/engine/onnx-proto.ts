// The few protobuf pieces the engine needs to read and rewrite an ONNX graph: fields are kept as byte ranges, so a
// rewrite copies everything it does not touch verbatim (weights included). No Node module: the browser build uses it.

/** One field of a message: its number, wire type, where its record starts and ends, and its payload. */
export interface ProtoField {
  field: number;
  wire: number;
  /** The whole record (tag and payload) in the message's bytes. */
  start: number;
  end: number;
  /** The payload of a length-delimited field; a varint's value (a number) otherwise. */
  bytes: Uint8Array | undefined;
  value: number;
}

/** The fields of one message, in order. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const [tag, afterTag] = readVarint(bytes, at);
    at = afterTag;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const [value, next] = readVarint(bytes, at);
      out.push({ field, wire, start, end: next, bytes: undefined, value });
      at = next;
    } else if (wire === 2) {
      const [length, next] = readVarint(bytes, at);
      const end = next + length;
      if (end > bytes.length) throw new Error('a length-delimited field runs past the end of the message');
      out.push({ field, wire, start, end, bytes: bytes.subarray(next, end), value: length });
      at = end;
    } else if (wire === 1 || wire === 5) {
      const end = at + (wire === 1 ? 8 : 4);
      out.push({ field, wire, start, end, bytes: bytes.subarray(at, end), value: 0 });
      at = end;
    } else {
      throw new Error(`wire type ${wire} is not one ONNX files use`);
    }
  }
  return out;
}

/** A varint as a number; values past 2^53 (never sizes or dims) lose precision, negative int64s read as huge. */
function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at >= bytes.length) throw new Error('a varint runs past the end of the message');
    const byte = bytes[at++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 128;
  }
}

/** A field's payload as UTF-8 text. */
export function text(field: ProtoField): string {
  return new TextDecoder().decode(field.bytes);
}

/** The first field numbered `n`, or `undefined`. */
export function first(fields: readonly ProtoField[], n: number): ProtoField | undefined {
  return fields.find((f) => f.field === n);
}

/** Repeated integers, packed or one record each (protobuf allows both). */
export function integers(fields: readonly ProtoField[], n: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== n) continue;
    if (f.wire === 0) out.push(signed(f.value));
    else if (f.wire === 2 && f.bytes !== undefined) {
      let at = 0;
      while (at < f.bytes.length) {
        const [value, next] = readVarint(f.bytes, at);
        out.push(signed(value));
        at = next;
      }
    }
  }
  return out;
}

// An int64 of -k is written as 2^64 - k; read back as a number it rounds to 2^64.
function signed(value: number): number {
  return value >= 2 ** 63 ? value - 2 ** 64 : value;
}

/** Writes messages field by field. */
export class ProtoWriter {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  raw(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.#length += bytes.length;
    return this;
  }

  varint(field: number, value: number): this {
    return this.raw(Uint8Array.from([...varint(field * 8), ...varint(value)]));
  }

  bytes(field: number, payload: Uint8Array): this {
    this.raw(Uint8Array.from([...varint(field * 8 + 2), ...varint(payload.length)]));
    return this.raw(payload);
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const part of this.#parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** A non-negative integer (or a negative one as int64's two's complement) as varint bytes. */
function varint(value: number): number[] {
  const out: number[] = [];
  if (value < 0) {
    let big = BigInt.asUintN(64, BigInt(value));
    while (big >= 0x80n) {
      out.push(Number(big & 0x7fn) | 0x80);
      big >>= 7n;
    }
    out.push(Number(big));
    return out;
  }
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}
