// What a RerankServer is started with: the options as callers write them, their defaults stated once, and the
// checks that refuse a mistake before the port is bound.
import { createHash } from 'node:crypto';
import type { Scorer } from '../cross-encoder.js';
import { InvalidArgumentError } from '../errors.js';
import { describe, MAX_TIMEOUT_MS, timeoutTooLong } from '../validate.js';

/** How a {@link RerankServer} listens, merges and limits. */
export interface RerankServerOptions {
  /** The model to serve: a loaded `CrossEncoder`, or any scorer. The server never disposes it. */
  scorer: Scorer;
  /**
   * The model name reported by `/info` and in Cohere-style answers.
   * @default 'cross-encoder'
   */
  modelName?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 8080
   */
  port?: number;
  /**
   * Address to bind. `0.0.0.0` exposes the server to the network: set `apiKey` or put it behind a proxy.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * When set, rerank routes, `/info` and `/metrics` require `Authorization: Bearer <apiKey>`; `/health` and `/ready`
   * stay open. An empty key is refused.
   */
  apiKey?: string;
  /**
   * Merge concurrent requests into one engine call up to `maxBatchTokens`; `false` scores each request on its own.
   * @default true
   */
  microBatch?: boolean;
  /**
   * Estimated tokens in one merged engine call.
   * @default 16384
   */
  maxBatchTokens?: number;
  /**
   * Longest pair the model reads in tokens (caps the size estimate of a long text).
   * @default the model's `maxLength` (a `CrossEncoder`'s `info.maxLength`), or 512 for a scorer that states none
   */
  maxPairTokens?: number;
  /**
   * Requests waiting for the engine beyond which new ones are answered 429 with `Retry-After`.
   * @default 256
   */
  maxQueuedRequests?: number;
  /**
   * Text held by waiting and running requests, in bytes (two per character), beyond which new requests get 429.
   * @default 67108864 (64 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * Refuse what cannot finish in time: once the engine's speed is measured, a request that alone would take longer
   * than `requestTimeoutMs` gets 413 with the number of texts that would fit, and one that would finish past it
   * behind the queue gets 429.
   * @default true
   */
  admission?: boolean;
  /**
   * Most open connections; further ones are closed as soon as they are accepted.
   * @default 1024
   */
  maxConnections?: number;
  /**
   * Longest `close()` waits for requests in flight; past it they are answered 503, their engine work is stopped and
   * every connection is closed. Keep it below the orchestrator's grace period (Kubernetes: 30 s).
   * @default 10000
   */
  drainTimeoutMs?: number;
  /**
   * Largest request body in bytes; larger ones get 413.
   * @default 4194304 (4 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Most texts in one request; more get 422 (TEI's `max_client_batch_size`).
   * @default 1000
   */
  maxTexts?: number;
  /**
   * Longest query or text in characters; longer ones get 422. The engine truncates to the model's length anyway;
   * this only bounds the work of tokenizing.
   * @default 100000
   */
  maxTextChars?: number;
  /**
   * Longest one request may take in milliseconds, from its first byte to its answer (uploading, waiting and scoring);
   * past it the answer is 503 with `Retry-After` and its engine work stops.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /** Called once per answered rerank request, without any text: for access logs. An exception in it is ignored. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Called once per request answered 5xx, with the cause (never document text). An exception in it is ignored. */
  onError?: (entry: ErrorLogEntry) => void;
}

/** One answered rerank request. */
export interface RequestLogEntry {
  route: string;
  status: number;
  texts: number;
  ms: number;
}

/** One request that failed on the server's side. */
export interface ErrorLogEntry {
  route: string;
  status: number;
  /** The answer's `error_type`, e.g. `timeout` or `backend`. */
  type: string;
  /** The engine error's code, when the engine failed. */
  code?: string;
  /** The full cause, for the operator: it may name files on the server, never document text. */
  message: string;
}

export function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export function resolveOptions(options: RerankServerOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', `expected an options object, got ${describe(options)}.`);
  }
  const scorer = options.scorer as Partial<Scorer> | undefined;
  if (typeof scorer?.score !== 'function') {
    throw new InvalidArgumentError('options.scorer', 'expected a Scorer (e.g. a loaded CrossEncoder).');
  }
  const int = (value: unknown, name: string, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError(
        `options.${name}`,
        `expected an integer of at least ${min}, got ${describe(value)}.`,
      );
    }
    return value;
  };
  // A timer past 2^31-1 ms fires at once: such a limit would time out every request.
  const timer = (ms: number, name: string) => {
    if (ms > MAX_TIMEOUT_MS) throw timeoutTooLong(ms, name);
    return ms;
  };
  if (options.port !== undefined && int(options.port, 'port', 0, 0) > 65535) {
    throw new InvalidArgumentError('options.port', `expected a port from 0 to 65535, got ${options.port}.`);
  }
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey.trim() === '')) {
    throw new InvalidArgumentError(
      'options.apiKey',
      `expected a non-empty key, got ${typeof options.apiKey === 'string' ? 'an empty string' : describe(options.apiKey)}; leave it out to serve without one.`,
    );
  }
  for (const hook of ['onRequest', 'onError'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new InvalidArgumentError(`options.${hook}`, `expected a function, got ${describe(options[hook])}.`);
    }
  }
  const maxLength = modelMaxLength(options.scorer);
  return {
    scorer: options.scorer,
    modelName: options.modelName ?? 'cross-encoder',
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    apiKeyDigest: options.apiKey === undefined ? undefined : digest(options.apiKey.trim()),
    microBatch: options.microBatch ?? true,
    maxBatchTokens: int(options.maxBatchTokens, 'maxBatchTokens', 16_384, 1),
    maxPairTokens: int(options.maxPairTokens, 'maxPairTokens', maxLength ?? 512, 1),
    maxLength,
    maxQueuedRequests: int(options.maxQueuedRequests, 'maxQueuedRequests', 256, 1),
    maxQueuedBytes: int(options.maxQueuedBytes, 'maxQueuedBytes', 64 * 1024 * 1024, 1),
    admission: options.admission ?? true,
    maxConnections: int(options.maxConnections, 'maxConnections', 1024, 1),
    drainTimeoutMs: timer(int(options.drainTimeoutMs, 'drainTimeoutMs', 10_000, 0), 'options.drainTimeoutMs'),
    maxBodyBytes: int(options.maxBodyBytes, 'maxBodyBytes', 4 * 1024 * 1024, 1),
    maxTexts: int(options.maxTexts, 'maxTexts', 1000, 1),
    maxTextChars: int(options.maxTextChars, 'maxTextChars', 100_000, 1),
    requestTimeoutMs: timer(int(options.requestTimeoutMs, 'requestTimeoutMs', 30_000, 1), 'options.requestTimeoutMs'),
    onRequest: options.onRequest,
    onError: options.onError,
  };
}

/** The longest pair the served model reads, when the scorer says (a `CrossEncoder` does, in `info.maxLength`). */
function modelMaxLength(scorer: Scorer): number | undefined {
  const maxLength = (scorer as { info?: { maxLength?: unknown } }).info?.maxLength;
  return typeof maxLength === 'number' && Number.isInteger(maxLength) && maxLength > 0 ? maxLength : undefined;
}
