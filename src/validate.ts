import { InvalidArgumentError } from './errors.js';
import type { Activation, TextPair } from './types.js';

/** A short, safe description of a bad value for error messages: never the whole of a long string. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string')
    return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  return `${String(value)} (${typeof value})`;
}

/** A query must be a string with something in it: an empty query ranks nothing meaningfully. */
export function requireQuery(value: unknown, parameter: string): string {
  const text = requireText(value, parameter);
  if (text.trim() === '') {
    throw new InvalidArgumentError(
      parameter,
      'the query is empty or only whitespace; pass the text to rank documents against.',
    );
  }
  return text;
}

/** A passage may be empty, but must be a string: numbers and null are caller bugs, not text. */
export function requireText(value: unknown, parameter: string): string {
  if (typeof value !== 'string') {
    throw new InvalidArgumentError(parameter, `expected a string, got ${describe(value)}. Convert it to text first.`);
  }
  return value;
}

/** One (query, passage) pair of a `score` call: a two-element array of strings. */
export function requirePair(value: unknown, index: number): TextPair {
  if (!Array.isArray(value) || value.length !== 2) {
    throw new InvalidArgumentError(
      `pairs[${index}]`,
      `expected a [query, passage] pair of strings, got ${describe(value)}.`,
    );
  }
  requireText(value[0], `pairs[${index}][0]`);
  requireText(value[1], `pairs[${index}][1]`);
  return value as unknown as TextPair;
}

/** An activation name, checked before any model is opened. */
export function validateActivation(value: unknown, parameter: string): Activation | undefined {
  if (value === undefined) return undefined;
  if (value !== 'auto' && value !== 'sigmoid' && value !== 'softmax' && value !== 'none') {
    throw new InvalidArgumentError(
      parameter,
      `expected 'auto', 'sigmoid', 'softmax' or 'none', got ${describe(value)}.`,
    );
  }
  return value;
}

/** Batch sizes are positive integers. */
export function validateBatchSize(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(parameter, `expected a positive integer, got ${describe(value)}.`);
  }
  return value;
}

/** A Linux nice value that lowers priority: an integer from 0 to 19. */
export function validateNice(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 19) {
    throw new InvalidArgumentError('options.workerNice', `expected an integer from 0 to 19, got ${describe(value)}.`);
  }
  return value;
}

/** `topK` defaults to everything; 0 is allowed and returns nothing. */
export function validateTopK(value: unknown, available: number): number {
  if (value === undefined) return available;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError('options.topK', `expected a non-negative integer, got ${describe(value)}.`);
  }
  return Math.min(value, available);
}

/**
 * The longest delay a JavaScript timer keeps (2^31-1 ms, about 24.8 days): Node and browsers fire a longer one
 * almost at once, so a longer timeout is refused rather than turned into an instant one.
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Timeouts are positive numbers of milliseconds, at most {@link MAX_TIMEOUT_MS}. */
export function validateTimeoutMs(value: unknown, parameter: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(parameter, `expected a positive number of milliseconds, got ${describe(value)}.`);
  }
  if (value > MAX_TIMEOUT_MS) throw timeoutTooLong(value, parameter);
  return value;
}

/** The refusal of a timeout past what a timer keeps; leaving the option out is how to ask for no limit. */
export function timeoutTooLong(value: number, parameter: string): InvalidArgumentError {
  return new InvalidArgumentError(
    parameter,
    `expected at most ${MAX_TIMEOUT_MS} ms (about 24.8 days, the longest delay a JavaScript timer keeps), got ` +
      `${value}; leave it out for no limit where the option allows.`,
  );
}

/** A signal must be an AbortSignal (or look like one, from another realm); anything else is a caller bug. */
export function validateSignal(value: unknown, parameter: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  const candidate = value as Partial<AbortSignal> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.aborted !== 'boolean' ||
    typeof candidate.addEventListener !== 'function' ||
    typeof candidate.removeEventListener !== 'function'
  ) {
    throw new InvalidArgumentError(parameter, `expected an AbortSignal, got ${describe(value)}.`);
  }
  return value as AbortSignal;
}

/** Options are an object or left out; `null` or a number there is a caller bug, not "no options". */
export function requireOptions<T extends object>(
  value: T | undefined,
  parameter = 'options',
): T | Record<string, never> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(parameter, `expected an options object, got ${describe(value)}.`);
  }
  return value;
}

/** A task description for a reranker on a language model, or `undefined` to keep the model's own. */
export function checkInstruction(value: unknown, parameter: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new InvalidArgumentError(parameter, `expected a string (the task description), got ${describe(value)}.`);
}
