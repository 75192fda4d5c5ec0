import { InvalidArgumentError } from '../errors.js';

/**
 * Which parts of a structured document (a record such as `{ title, body, price }`) the model reads, as Cohere's
 * `rank_fields`: the named fields in the order given, each rendered as a `field: value` line, or a function that
 * turns the record into the text to score.
 */
export type RankFields = readonly string[] | ((record: Readonly<Record<string, unknown>>) => string);

/** A record as the model reads it: one `key: value` line per field, nested values indented beneath their key. */
export type DocumentRecord = Readonly<Record<string, unknown>>;

const INDENT = '  ';

/** Checks a `rankFields` option: a non-empty list of distinct non-empty field names, or a function. */
export function validateRankFields(value: unknown, parameter: string): RankFields | undefined {
  if (value === undefined || typeof value === 'function') return value as RankFields | undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidArgumentError(
      parameter,
      `expected a non-empty array of field names or a function of the record, got ${shortKind(value)}.`,
    );
  }
  const seen = new Set<string>();
  value.forEach((field: unknown, i) => {
    if (typeof field !== 'string' || field === '') {
      throw new InvalidArgumentError(`${parameter}[${i}]`, `expected a non-empty field name, got ${shortKind(field)}.`);
    }
    if (seen.has(field)) {
      throw new InvalidArgumentError(`${parameter}[${i}]`, `"${field}" is named twice; name each field once.`);
    }
    seen.add(field);
  });
  return Object.freeze([...(value as string[])]);
}

/** Bounds on rendering a record, checked while it renders, so a hostile record cannot blow up memory or the stack. */
export interface RenderLimits {
  /** Deepest nesting of records and lists rendered. @default 64 */
  maxDepth?: number;
  /** Longest text rendered, in UTF-16 units; rendering stops as soon as it would grow past it. @default no limit */
  maxChars?: number;
}

/** Nesting past this is refused: deeper data has no readable text form, and recursion must stay well off the stack's end. */
export const DEFAULT_MAX_RECORD_DEPTH = 64;

/** What one rendering carries along: its output, the values open above the current one, and what is left of its bounds. */
interface Rendering {
  lines: string[];
  open: Set<object>;
  chars: number;
  maxChars: number;
  maxDepth: number;
  /** The document's own parameter name: limit errors name it alone, never a key of the record. */
  document: string;
}

/**
 * The text the model scores for a record: its `rankFields` as `field: value` lines in the order given (fields the
 * record lacks are left out), the function's text, or without `rankFields` every field as YAML-like `key: value`
 * lines, nested records and lists indented beneath their key. Never `[object Object]`. Throws
 * `InvalidArgumentError` naming `parameter` for a record nested deeper than `limits.maxDepth` or whose text would be
 * longer than `limits.maxChars`, before building more than that much text.
 */
export function renderRecord(
  record: DocumentRecord,
  rankFields: RankFields | undefined,
  parameter: string,
  limits: RenderLimits = {},
): string {
  if (typeof rankFields === 'function') {
    const text: unknown = rankFields(record);
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(
        parameter,
        `rankFields returned ${shortKind(text)} for this document; it must return the text to score.`,
      );
    }
    if (limits.maxChars !== undefined && text.length > limits.maxChars) throw tooLong(parameter, limits.maxChars);
    return text;
  }
  const keys = rankFields ?? Object.keys(record);
  const rendering: Rendering = {
    lines: [],
    open: new Set<object>([record]),
    chars: -1, // the first line has no newline before it
    maxChars: limits.maxChars ?? Number.POSITIVE_INFINITY,
    maxDepth: limits.maxDepth ?? DEFAULT_MAX_RECORD_DEPTH,
    document: parameter,
  };
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    renderField(key, record[key], '', rendering, `${parameter}.${key}`);
  }
  return rendering.lines.join('\n');
}

/** A plain object (not an array, not null): what a structured document is. */
export function isRecord(value: unknown): value is DocumentRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Adds one line, refusing it when the text would grow past `maxChars`. */
function push(rendering: Rendering, line: string): void {
  rendering.chars += line.length + 1;
  if (rendering.chars > rendering.maxChars) throw tooLong(rendering.document, rendering.maxChars);
  rendering.lines.push(line);
}

/** `lead` then a scalar's text, its later lines indented by `indent`; its length is checked before it is built. */
function pushScalar(rendering: Rendering, lead: string, text: string, indent: string): void {
  let breaks = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) breaks++;
  if (rendering.chars + 1 + lead.length + text.length + breaks * indent.length > rendering.maxChars) {
    throw tooLong(rendering.document, rendering.maxChars);
  }
  push(rendering, lead + (breaks === 0 ? text : text.split('\n').join(`\n${indent}`)));
}

function renderField(key: string, value: unknown, indent: string, rendering: Rendering, path: string): void {
  if (!isShown(value)) return;
  const scalar = scalarText(value);
  if (scalar !== undefined) {
    pushScalar(rendering, `${indent}${key}: `, scalar, indent + INDENT);
    return;
  }
  const nested = value as object;
  if (isEmpty(nested)) {
    push(rendering, `${indent}${key}: ${isList(nested) ? '[]' : '{}'}`);
    return;
  }
  push(rendering, `${indent}${key}:`);
  renderNested(nested, indent + INDENT, rendering, path);
}

/** The entries of a nested record or list, one level deeper; a value that contains itself is refused. */
function renderNested(value: object, indent: string, rendering: Rendering, path: string): void {
  if (rendering.open.has(value)) {
    throw new InvalidArgumentError(
      path,
      'the document refers to itself, so it has no text form; pass a plain copy of its data, or set rankFields.',
    );
  }
  // `open` holds the record and every value above this one: its size is the depth this value sits at.
  if (rendering.open.size > rendering.maxDepth) {
    throw new InvalidArgumentError(
      rendering.document,
      `the record nests deeper than ${rendering.maxDepth} levels; flatten it, or rank only some of its fields ` +
        '(rankFields).',
    );
  }
  rendering.open.add(value);
  if (isList(value)) {
    let i = 0;
    for (const item of value) renderItem(item, indent, rendering, `${path}[${i++}]`);
  } else {
    for (const [key, item] of entriesOf(value)) renderField(key, item, indent, rendering, `${path}.${key}`);
  }
  rendering.open.delete(value);
}

/** One list item as `- value`; a record item puts its first field on the dash line, the rest beneath it. */
function renderItem(item: unknown, indent: string, rendering: Rendering, path: string): void {
  if (!isShown(item)) {
    push(rendering, `${indent}- null`);
    return;
  }
  const scalar = scalarText(item);
  if (scalar !== undefined) {
    pushScalar(rendering, `${indent}- `, scalar, indent + INDENT);
    return;
  }
  const nested = item as object;
  if (isEmpty(nested)) {
    push(rendering, `${indent}- ${isList(nested) ? '[]' : '{}'}`);
    return;
  }
  const { lines } = rendering;
  const start = lines.length;
  renderNested(nested, indent + INDENT, rendering, path);
  // Same length: the dash and its space take the place of one indent.
  const first = lines[start];
  if (first !== undefined) lines[start] = `${indent}- ${first.slice(indent.length + INDENT.length)}`;
}

function tooLong(parameter: string, maxChars: number): InvalidArgumentError {
  return new InvalidArgumentError(
    parameter,
    `the record's text would be longer than ${maxChars} characters; send less of it, or rank only some of its ` +
      'fields (rankFields).',
  );
}

/** Text for a value that has one on a single `key: value` line; `undefined` for records and lists. */
function scalarText(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (typeof value === 'object' && !isList(value) && !(value instanceof Map) && !isPlainObject(value)) {
    // A class instance with its own text form (URL, a decimal type): use it rather than its private fields.
    const text = String(value);
    if (text !== '[object Object]') return text;
  }
  return undefined;
}

/** Functions, symbols and undefined have no text: they are left out, as JSON leaves them out. */
function isShown(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
}

function isEmpty(value: object): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (value instanceof Set || value instanceof Map) return value.size === 0;
  return Object.keys(value).length === 0;
}

/** Arrays and Sets render as lists. */
function isList(value: object): value is readonly unknown[] | ReadonlySet<unknown> {
  return Array.isArray(value) || value instanceof Set;
}

/** A Map's entries under their keys' text, or an object's own enumerable fields. */
function entriesOf(value: object): [string, unknown][] {
  if (value instanceof Map) return [...value].map(([key, item]): [string, unknown] => [String(key), item]);
  return Object.entries(value);
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** By type only: a refused document's text is never echoed into an error. */
function shortKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
