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

/**
 * The text the model scores for a record: its `rankFields` as `field: value` lines in the order given (fields the
 * record lacks are left out), the function's text, or without `rankFields` every field as YAML-like `key: value`
 * lines, nested records and lists indented beneath their key. Never `[object Object]`.
 */
export function renderRecord(record: DocumentRecord, rankFields: RankFields | undefined, parameter: string): string {
  if (typeof rankFields === 'function') {
    const text: unknown = rankFields(record);
    if (typeof text !== 'string') {
      throw new InvalidArgumentError(
        parameter,
        `rankFields returned ${shortKind(text)} for this document; it must return the text to score.`,
      );
    }
    return text;
  }
  const keys = rankFields ?? Object.keys(record);
  const lines: string[] = [];
  const open = new Set<object>([record]);
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
    renderField(key, record[key], '', lines, open, `${parameter}.${key}`);
  }
  return lines.join('\n');
}

/** A document given as a string is its own text; a record is rendered by {@link renderRecord}. */
export function documentText(document: unknown, rankFields: RankFields | undefined, parameter: string): string {
  if (typeof document === 'string') return document;
  if (isRecord(document)) return renderRecord(document, rankFields, parameter);
  throw new InvalidArgumentError(parameter, `expected a string or a record, got ${shortKind(document)}.`);
}

/** A plain object (not an array, not null): what a structured document is. */
export function isRecord(value: unknown): value is DocumentRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function renderField(
  key: string,
  value: unknown,
  indent: string,
  lines: string[],
  open: Set<object>,
  path: string,
): void {
  if (!isShown(value)) return;
  const scalar = scalarText(value);
  if (scalar !== undefined) {
    lines.push(`${indent}${key}: ${indentContinuation(scalar, indent + INDENT)}`);
    return;
  }
  const nested = value as object;
  if (isEmpty(nested)) {
    lines.push(`${indent}${key}: ${isList(nested) ? '[]' : '{}'}`);
    return;
  }
  lines.push(`${indent}${key}:`);
  renderNested(nested, indent + INDENT, lines, open, path);
}

/** The entries of a nested record or list, one level deeper; a value that contains itself is refused. */
function renderNested(value: object, indent: string, lines: string[], open: Set<object>, path: string): void {
  if (open.has(value)) {
    throw new InvalidArgumentError(
      path,
      'the document refers to itself, so it has no text form; pass a plain copy of its data, or set rankFields.',
    );
  }
  open.add(value);
  if (isList(value)) {
    [...value].forEach((item: unknown, i) => renderItem(item, indent, lines, open, `${path}[${i}]`));
  } else {
    for (const [key, item] of entriesOf(value)) renderField(key, item, indent, lines, open, `${path}.${key}`);
  }
  open.delete(value);
}

/** One list item as `- value`; a record item puts its first field on the dash line, the rest beneath it. */
function renderItem(item: unknown, indent: string, lines: string[], open: Set<object>, path: string): void {
  if (!isShown(item)) {
    lines.push(`${indent}- null`);
    return;
  }
  const scalar = scalarText(item);
  if (scalar !== undefined) {
    lines.push(`${indent}- ${indentContinuation(scalar, indent + INDENT)}`);
    return;
  }
  const nested = item as object;
  if (isEmpty(nested)) {
    lines.push(`${indent}- ${isList(nested) ? '[]' : '{}'}`);
    return;
  }
  const start = lines.length;
  renderNested(nested, indent + INDENT, lines, open, path);
  const first = lines[start];
  if (first !== undefined) lines[start] = `${indent}- ${first.slice(indent.length + INDENT.length)}`;
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

/** Later lines of a multi-line value indented under their key, so they read as part of it. */
function indentContinuation(text: string, indent: string): string {
  return text.includes('\n') ? text.split('\n').join(`\n${indent}`) : text;
}

/** By type only: a refused document's text is never echoed into an error. */
function shortKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
