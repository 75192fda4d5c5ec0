import { AbortError, InvalidArgumentError, RemoteScorerError } from '../errors.js';
import { callDeadline } from '../engine/deadline.js';
import type { Scorer } from '../cross-encoder.js';
import type { RankOptions, RankResult, ScoreOptions, TextPair } from '../types.js';
import {
  checkInstruction,
  describe,
  MAX_TIMEOUT_MS,
  requireOptions,
  requirePair,
  requireQuery,
  requireText,
  timeoutTooLong,
  validateBatchSize,
  validateSignal,
  validateTimeoutMs,
  validateTopK,
} from '../validate.js';
import { backoffMs, retryAfterMs, sleep } from './backoff.js';
import { MalformedAnswer, readRerankAnswer, rerankRequestBody, serverErrorText, type RerankProtocol } from './wire.js';

/** Where a {@link RemoteScorer} sends its pairs and how hard it tries. */
export interface RemoteScorerOptions {
  /** The server's base URL, e.g. `http://reranker:8080`; `path` is appended to it. */
  url: string;
  /**
   * The request shape: `'tei'` (Text Embeddings Inference `/rerank`: `{query, texts}` -> `[{index, score}]`) or
   * `'cohere'` (`{model, query, documents, top_n}` -> `{results: [{index, relevance_score}]}`).
   * @default 'tei'
   */
  protocol?: RerankProtocol;
  /**
   * The route on the server.
   * @default '/rerank' for 'tei', '/v2/rerank' for 'cohere' (Infinity serves the Cohere shape at '/rerank')
   */
  path?: string;
  /** The model name sent in Cohere-style requests; Cohere itself requires one, most self-hosted servers ignore it. */
  model?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Most documents in one request; larger calls are split. Match the server's limit (TEI: `--max-client-batch-size`).
   * @default 32
   */
  maxBatchSize?: number;
  /**
   * Most requests in flight at once for one call.
   * @default 4
   */
  concurrency?: number;
  /**
   * Retries of one request after a 429, 502, 503 or 504 answer or a dropped connection, each after a jittered,
   * doubling pause, or the server's `Retry-After` when it sends one.
   * @default 4
   */
  maxRetries?: number;
  /**
   * First pause before a retry in milliseconds; it doubles per retry, with full jitter.
   * @default 100
   */
  retryBaseMs?: number;
  /**
   * Longest pause before one retry in milliseconds, `Retry-After` included.
   * @default 10000
   */
  retryMaxMs?: number;
  /**
   * Longest one `score` or `rank` call may take in milliseconds, retries included; a call's own `timeoutMs` overrides it.
   * @default 60000
   */
  timeoutMs?: number;
  /** The fetch to use; Node's own (undici, keep-alive connections) unless given. */
  fetch?: typeof globalThis.fetch;
  /**
   * The task description for a reranker on a language model (Qwen3-Reranker and kin), sent as `instruction` in every
   * request body; a call's own `instruction` overrides it. `langchain-cross-encoder serve` reads it on every route (and
   * refuses it with 422 for a cross-encoder); other servers may ignore the field or refuse it.
   * @default unset: no field is sent and the server's model uses its own
   */
  instruction?: string;
}

/** Options of one {@link RemoteScorer.score} call. */
export interface RemoteScoreOptions extends ScoreOptions {
  /** See `RemoteScorerOptions.instruction`; for this call only. */
  instruction?: string;
}

/** Options of one {@link RemoteScorer.rank} call. */
export interface RemoteRankOptions extends RankOptions, RemoteScoreOptions {}

const DEFAULTS = { maxBatchSize: 32, concurrency: 4, maxRetries: 4, retryBaseMs: 100, retryMaxMs: 10_000 };
const DEFAULT_TIMEOUT_MS = 60_000;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

/** One request's worth of work: a query, some of its documents, and where their scores go. */
interface Chunk {
  query: string;
  instruction: string | undefined;
  documents: string[];
  /** Positions in the caller's pair list. */
  positions: number[];
}

/**
 * A {@link Scorer} that sends pairs to a rerank server: Text Embeddings Inference, Infinity, vLLM, Cohere, or
 * `langchain-cross-encoder serve`. The server applies the model's activation, so scores match a local
 * `CrossEncoder` of the same model. Errors carry the server's status and message, never the documents.
 *
 * @example
 * const reranker = new CrossEncoderReranker({
 *   model: new RemoteScorer({ url: 'http://reranker:8080', protocol: 'tei' }),
 * });
 */
export class RemoteScorer implements Scorer {
  /** The endpoint every request goes to. */
  readonly endpoint: string;
  /** The request and response shape the server speaks. */
  readonly protocol: RerankProtocol;
  readonly #model: string | undefined;
  readonly #headers: Record<string, string>;
  readonly #maxBatchSize: number;
  readonly #concurrency: number;
  readonly #maxRetries: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #instruction: string | undefined;

  constructor(options: RemoteScorerOptions) {
    const given = requireOptions(options) as Partial<RemoteScorerOptions>;
    if (typeof given.url !== 'string' || !/^https?:\/\//i.test(given.url)) {
      throw new InvalidArgumentError(
        'url',
        `expected an http(s) URL of the rerank server, got ${describe(given.url)}.`,
      );
    }
    const protocol = given.protocol ?? 'tei';
    if (protocol !== 'tei' && protocol !== 'cohere') {
      throw new InvalidArgumentError('protocol', `expected 'tei' or 'cohere', got ${describe(protocol)}.`);
    }
    const path = given.path ?? (protocol === 'tei' ? '/rerank' : '/v2/rerank');
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new InvalidArgumentError('path', `expected a route starting with '/', got ${describe(path)}.`);
    }
    if (given.model !== undefined) requireText(given.model, 'model');
    if (given.apiKey !== undefined) requireText(given.apiKey, 'apiKey');
    this.endpoint = given.url.replace(/\/+$/, '') + path;
    this.protocol = protocol;
    this.#model = given.model;
    this.#headers = {
      ...given.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      ...(given.apiKey === undefined ? {} : { authorization: `Bearer ${given.apiKey}` }),
    };
    this.#maxBatchSize = count(given.maxBatchSize, 'maxBatchSize', DEFAULTS.maxBatchSize, 1);
    this.#concurrency = count(given.concurrency, 'concurrency', DEFAULTS.concurrency, 1);
    this.#maxRetries = count(given.maxRetries, 'maxRetries', DEFAULTS.maxRetries, 0);
    this.#retryBaseMs = count(given.retryBaseMs, 'retryBaseMs', DEFAULTS.retryBaseMs, 0);
    this.#retryMaxMs = count(given.retryMaxMs, 'retryMaxMs', DEFAULTS.retryMaxMs, 0);
    // Every pause is at most retryMaxMs, slept on a timer: past 2^31-1 ms it would fire at once.
    if (this.#retryMaxMs > MAX_TIMEOUT_MS) throw timeoutTooLong(this.#retryMaxMs, 'retryMaxMs');
    this.#timeoutMs = validateTimeoutMs(given.timeoutMs, 'timeoutMs') ?? DEFAULT_TIMEOUT_MS;
    if (given.fetch !== undefined && typeof given.fetch !== 'function') {
      throw new InvalidArgumentError('fetch', `expected a function, got ${describe(given.fetch)}.`);
    }
    this.#fetch = given.fetch ?? globalThis.fetch;
    this.#instruction = checkInstruction(given.instruction, 'instruction');
  }

  /** One score per pair, in the order given. Pairs sharing a query travel together, split to `maxBatchSize`. */
  async score(pairs: readonly TextPair[], callOptions?: RemoteScoreOptions): Promise<number[]> {
    const options: RemoteScoreOptions = requireOptions(callOptions);
    if (!Array.isArray(pairs)) {
      throw new InvalidArgumentError('pairs', `expected an array of [query, passage] pairs, got ${describe(pairs)}.`);
    }
    const batchSize =
      options.batchSize === undefined
        ? this.#maxBatchSize
        : Math.min(this.#maxBatchSize, validateBatchSize(options.batchSize, 'options.batchSize'));
    const signal = validateSignal(options.signal, 'options.signal');
    const timeoutMs = validateTimeoutMs(options.timeoutMs, 'options.timeoutMs') ?? this.#timeoutMs;
    const instruction = checkInstruction(options.instruction, 'options.instruction') ?? this.#instruction;
    const byQuery = new Map<string, Chunk>();
    for (let i = 0; i < pairs.length; i++) {
      const [query, passage] = requirePair(pairs[i], i);
      let group = byQuery.get(query);
      if (group === undefined) byQuery.set(query, (group = { query, instruction, documents: [], positions: [] }));
      group.documents.push(passage);
      group.positions.push(i);
    }
    if (pairs.length === 0) return [];
    if (signal?.aborted) throw new AbortError('Remote scoring was aborted.', { cause: signal.reason });
    const chunks: Chunk[] = [];
    for (const group of byQuery.values()) {
      for (let start = 0; start < group.documents.length; start += batchSize) {
        chunks.push({
          query: group.query,
          instruction,
          documents: group.documents.slice(start, start + batchSize),
          positions: group.positions.slice(start, start + batchSize),
        });
      }
    }
    const deadline = callDeadline(signal, timeoutMs);
    // Once one chunk fails the call has failed: the other lanes stop their requests and retries at once instead of
    // adding load to a server that may be the reason for the failure.
    const failed = new AbortController();
    const lanes = AbortSignal.any([failed.signal, ...(deadline.signal === undefined ? [] : [deadline.signal])]);
    const scores = new Array<number>(pairs.length);
    try {
      await forEachLimited(chunks, this.#concurrency, lanes, async (chunk) => {
        try {
          const chunkScores = await this.#send(chunk, lanes);
          chunk.positions.forEach((position, k) => (scores[position] = chunkScores[k] as number));
        } catch (error) {
          failed.abort(error);
          throw error;
        }
      });
      return scores;
    } catch (error) {
      if (deadline.signal?.aborted) throw deadline.error('Remote scoring', error);
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  /** The documents ranked by the server's scores for `query`, best first; ties keep the caller's order. */
  async rank(query: string, documents: readonly string[], callOptions?: RemoteRankOptions): Promise<RankResult[]> {
    const options: RemoteRankOptions = requireOptions(callOptions);
    requireQuery(query, 'query');
    if (!Array.isArray(documents)) {
      throw new InvalidArgumentError('documents', `expected an array of strings, got ${describe(documents)}.`);
    }
    const topK = validateTopK(options.topK, documents.length);
    for (let i = 0; i < documents.length; i++) requireText(documents[i], `documents[${i}]`);
    if (documents.length === 0) return [];
    const scores = await this.score(
      Array.from(documents, (doc): TextPair => [query, doc]),
      options,
    );
    return scores
      .map((score, index) => ({ index, score }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, topK);
  }

  /** Sends one chunk, retrying what a retry can fix; the scores come back in the chunk's order. */
  async #send(chunk: Chunk, signal: AbortSignal): Promise<number[]> {
    const body = JSON.stringify(
      rerankRequestBody(this.protocol, chunk.query, chunk.documents, this.#model, chunk.instruction),
    );
    // Called without a receiver: Cloudflare Workers' fetch throws "Illegal invocation" for any `this` but the global.
    const fetch = this.#fetch;
    for (let attempt = 1; ; attempt++) {
      let retryAfter: number | undefined;
      let failure: RemoteScorerError;
      try {
        const response = await fetch(this.endpoint, { method: 'POST', headers: this.#headers, body, signal });
        const text = await response.text();
        if (response.ok) return this.#read(text, chunk.documents.length, response.status, attempt);
        failure = new RemoteScorerError(
          this.endpoint,
          `The rerank server answered ${response.status}${suffix(serverErrorText(text))}.${hintFor(response.status)}`,
          { status: response.status, serverMessage: serverErrorText(text), attempts: attempt },
        );
        if (!RETRY_STATUSES.has(response.status)) throw failure;
        retryAfter = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        if (RemoteScorerError.isInstance(error)) throw error;
        if (signal.aborted) throw error;
        // fetch rejects with a TypeError when the connection is refused, reset or cut mid-answer.
        failure = new RemoteScorerError(
          this.endpoint,
          `Could not reach the rerank server (${networkReason(error)}); check that it is running at ${this.endpoint}.`,
          { cause: error, attempts: attempt },
        );
      }
      if (attempt > this.#maxRetries) throw failure;
      const pause = Math.min(
        this.#retryMaxMs,
        retryAfter === undefined
          ? backoffMs(attempt, this.#retryBaseMs, this.#retryMaxMs)
          : retryAfter + backoffMs(1, this.#retryBaseMs, this.#retryBaseMs),
      );
      await sleep(pause, signal);
    }
  }

  #read(text: string, count: number, status: number, attempts: number): number[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new RemoteScorerError(this.endpoint, `The rerank server answered ${status} with a body that is not JSON.`, {
        status,
        attempts,
        cause: error,
      });
    }
    try {
      return readRerankAnswer(this.protocol, parsed, count);
    } catch (error) {
      if (!(error instanceof MalformedAnswer)) throw error;
      throw new RemoteScorerError(
        this.endpoint,
        `The rerank server's answer is not a ${this.protocol === 'tei' ? 'TEI' : 'Cohere-style'} rerank answer: ` +
          `${error.message}. Check \`protocol\` and \`path\`.`,
        { status, attempts },
      );
    }
  }
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure stops new work and rejects. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      if (signal?.aborted) throw signal.reason;
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

function count(value: unknown, parameter: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(parameter, `expected an integer of at least ${min}, got ${describe(value)}.`);
  }
  return value;
}

function suffix(serverMessage: string | undefined): string {
  return serverMessage === undefined ? '' : `: ${serverMessage}`;
}

function hintFor(status: number): string {
  if (status === 401 || status === 403) return ' Check `apiKey`.';
  if (status === 404 || status === 405) return ' Check `url`, `path` and `protocol`.';
  if (status === 413 || status === 422) return " Lower `maxBatchSize` to the server's limit, or shorten the texts.";
  if (RETRY_STATUSES.has(status))
    return ' The server stayed busy through every retry; add replicas or raise `maxRetries`.';
  return '';
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
