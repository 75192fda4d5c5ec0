import type { Scorer } from '../cross-encoder.js';
import { CrossEncoderError } from '../errors.js';
import type { ScoreOptions, TextPair } from '../types.js';
import { HttpError } from './http-error.js';

/** How requests are merged into engine calls and how much may wait. */
export interface BatcherOptions {
  /** Merge waiting requests into one engine call; `false` sends each request on its own, still one at a time. */
  microBatch: boolean;
  /** Estimated tokens in one merged call; a single request larger than this still goes alone. */
  maxBatchTokens: number;
  /** Longest pair the model reads, in tokens: caps the estimate of a long text. */
  maxPairTokens: number;
  /** Requests waiting (not yet in the engine) beyond which new ones get 429. */
  maxQueuedRequests: number;
  /** Text held by waiting and running requests, in bytes (two per character), beyond which new ones get 429. */
  maxQueuedBytes: number;
  /**
   * The longest a request may wait and score. Once the engine's speed is measured, a request that alone would take
   * longer gets 413, and one that would finish past it behind the queue gets 429. `0` turns this admission off.
   */
  admissionMs: number;
}

/** One engine call, reported once it ends: how many requests and pairs it held, and how long it ran. */
export interface BatchReport {
  requests: number;
  pairs: number;
  tokens: number;
  ms: number;
}

interface Waiting {
  pairs: TextPair[];
  rawScores: boolean;
  instruction: string | undefined;
  tokens: number;
  bytes: number;
  signal: AbortSignal;
  resolve: (scores: number[]) => void;
  reject: (error: unknown) => void;
  settled: boolean;
  /** Called once this request settles, so a running call can stop when none of its requests still waits. */
  onSettle: (() => void) | undefined;
}

// About four characters per WordPiece token in English prose; the estimate only sizes merged calls and admission,
// the engine splits them again by exact token counts.
function estimateTokens(query: string, text: string, cap: number): number {
  return Math.min(cap, Math.ceil((query.length + text.length) / 4) + 3);
}

// Errors that one request's pairs can cause (a NaN score, input ONNX Runtime refuses, a bad pair). A merged call
// that fails with one is split, so only the request that caused it fails; anything else (a dead worker, a disposed
// model) fails every request of the call.
const PAIR_CAUSED = new Set(['NON_FINITE_SCORE', 'INFERENCE_FAILED', 'INVALID_ARGUMENT']);

// A request is queued only if the estimate says it ends within this share of the time limit: the rest is left for
// reading the request, writing the answer and the estimate's own error (the machine's load changes under it).
const QUEUE_MARGIN = 0.75;

// Speed is measured on calls at least this large: on small ones, fixed costs dominate and the estimate would be
// too pessimistic to refuse anything on.
const MIN_MEASURED_TOKENS = 256;

/**
 * The queue between HTTP requests and the engine. One engine call runs at a time; while it runs, later requests
 * wait and are merged into the next one up to a token budget; scores are sliced back to each request by position,
 * so no request sees another's. Length-sorted batching inside the engine means a pair's padding changes, its score
 * does not (beyond float noise). A call whose requests have all timed out or gone away is aborted, and the engine
 * stops it at its next batch boundary.
 */
export class MicroBatcher {
  readonly #scorer: Scorer;
  readonly #options: BatcherOptions;
  readonly #onBatch: (report: BatchReport) => void;
  readonly #queue: Waiting[] = [];
  #running: Waiting[] | undefined;
  #runningTokens = 0;
  #bytes = 0;
  #queuedTokens = 0;
  /** Estimated tokens per millisecond, from recent calls; `undefined` until one large enough has run. */
  #tokensPerMs: number | undefined;
  #idle: (() => void)[] = [];

  constructor(scorer: Scorer, options: BatcherOptions, onBatch: (report: BatchReport) => void) {
    this.#scorer = scorer;
    this.#options = options;
    this.#onBatch = onBatch;
  }

  /** Requests waiting for the engine. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Whether an engine call is running. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Whether a small request would be refused right now for lack of room. */
  get full(): boolean {
    return this.#queue.length >= this.#options.maxQueuedRequests || this.#bytes >= this.#options.maxQueuedBytes;
  }

  /**
   * Scores one request's texts against its query. Rejects with a 429 `HttpError` when the queue is full or would
   * not reach this request in time, with 413 when it alone would run past the time limit, and with the signal's
   * reason when it fires first.
   */
  submit(
    query: string,
    texts: readonly string[],
    rawScores: boolean,
    signal: AbortSignal,
    instruction?: string,
  ): Promise<number[]> {
    const pairs = texts.map((text): TextPair => [query, text]);
    const tokens = texts.reduce((sum, text) => sum + estimateTokens(query, text, this.#options.maxPairTokens), 0);
    const bytes = 2 * texts.reduce((sum, text) => sum + query.length + text.length, 0);
    const refused = this.#admit(texts.length, tokens, bytes);
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      const item: Waiting = {
        pairs,
        rawScores,
        instruction,
        tokens,
        bytes,
        signal,
        resolve,
        reject,
        settled: false,
        onSettle: undefined,
      };
      const settle = (finish: () => void) => {
        if (item.settled) return;
        item.settled = true;
        signal.removeEventListener('abort', onAbort);
        const at = this.#queue.indexOf(item);
        if (at >= 0) {
          this.#queue.splice(at, 1);
          this.#queuedTokens -= item.tokens;
          this.#bytes -= item.bytes;
        }
        finish();
        item.onSettle?.();
      };
      const onAbort = () => settle(() => reject(signal.reason));
      item.resolve = (scores) => settle(() => resolve(scores));
      item.reject = (error) => settle(() => reject(error));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(item);
      this.#queuedTokens += tokens;
      this.#bytes += bytes;
      this.#pump();
    });
  }

  /** Resolves once nothing waits and nothing runs. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #admit(texts: number, tokens: number, bytes: number): HttpError | undefined {
    const { maxQueuedRequests, maxQueuedBytes, admissionMs } = this.#options;
    if (this.#queue.length >= maxQueuedRequests) {
      return new HttpError(429, 'overloaded', `the queue is full (${maxQueuedRequests} requests); retry shortly`, 1);
    }
    if (this.#bytes > 0 && this.#bytes + bytes > maxQueuedBytes) {
      return new HttpError(
        429,
        'overloaded',
        `the queue holds ${Math.round(this.#bytes / 1024)} KiB of text, near this server's limit of ` +
          `${Math.round(maxQueuedBytes / 1024)} KiB; retry shortly`,
        1,
      );
    }
    const rate = this.#tokensPerMs;
    if (admissionMs === 0 || rate === undefined) return undefined;
    const aloneMs = tokens / rate;
    if (aloneMs > admissionMs) {
      const fits = Math.max(1, Math.floor((texts * admissionMs) / aloneMs / 2));
      return new HttpError(
        413,
        'too_costly',
        `this request would take about ${Math.round(aloneMs / 1000)} s to score on this server, more than its ` +
          `limit of ${Math.round(admissionMs / 1000)} s; split it into requests of at most ${fits} texts`,
      );
    }
    const aheadMs = (this.#queuedTokens + this.#runningTokens) / rate;
    if (aheadMs + aloneMs > admissionMs * QUEUE_MARGIN) {
      return new HttpError(
        429,
        'overloaded',
        `the queue ahead would take about ${Math.ceil(aheadMs / 1000)} s, past this server's limit; retry shortly`,
        Math.max(1, Math.ceil(aheadMs / 1000)),
      );
    }
    return undefined;
  }

  #pump(): void {
    // One engine call at a time in both modes: the engine runs one call at a time anyway, and requests that wait
    // here (not inside the engine) can be counted, refused, merged and dropped.
    if (this.#running !== undefined || this.#queue.length === 0) return;
    const batch = this.#take();
    this.#running = batch;
    void this.#run(batch).finally(() => {
      this.#running = undefined;
      this.#runningTokens = 0;
      for (const item of batch) this.#bytes -= item.bytes;
      this.#pump();
      if (this.#queue.length === 0 && this.#running === undefined) for (const wake of this.#idle.splice(0)) wake();
    });
  }

  #take(): Waiting[] {
    const first = this.#queue.shift() as Waiting;
    const batch = [first];
    let tokens = first.tokens;
    while (this.#options.microBatch && this.#queue.length > 0) {
      const next = this.#queue[0] as Waiting;
      // One engine call has one activation and one instruction.
      if (
        next.rawScores !== first.rawScores ||
        next.instruction !== first.instruction ||
        tokens + next.tokens > this.#options.maxBatchTokens
      )
        break;
      this.#queue.shift();
      batch.push(next);
      tokens += next.tokens;
    }
    this.#queuedTokens -= tokens;
    this.#runningTokens = tokens;
    return batch;
  }

  async #run(batch: Waiting[]): Promise<void> {
    const live = batch.filter((item) => !item.settled);
    if (live.length === 0) return;
    // The engine call stops once no request of it still waits for an answer.
    const controller = new AbortController();
    for (const item of live) {
      item.onSettle = () => {
        if (live.every((other) => other.settled)) controller.abort(new Error('every request of the call has ended'));
      };
    }
    try {
      await this.#call(live, controller.signal);
    } catch (error) {
      if (controller.signal.aborted) return;
      const pairCaused = CrossEncoderError.isInstance(error) && PAIR_CAUSED.has(error.code);
      if (!pairCaused || live.length === 1) {
        for (const item of live) item.reject(error);
        return;
      }
      // Split the call: each request alone, so only the one whose pairs fail gets the error.
      for (const item of live) {
        if (item.settled) continue;
        const own = new AbortController();
        item.onSettle = () => own.abort(new Error('the request has ended'));
        try {
          await this.#call([item], own.signal);
        } catch (alone) {
          item.reject(alone);
        }
      }
    } finally {
      for (const item of live) item.onSettle = undefined;
    }
  }

  /** One engine call for `items`; resolves each with its slice of the scores. */
  async #call(items: Waiting[], signal: AbortSignal): Promise<void> {
    const pairs = items.flatMap((item) => item.pairs);
    const tokens = items.reduce((sum, item) => sum + item.tokens, 0);
    // `activation` and `instruction` are read by a CrossEncoder; other scorers ignore them. One call has one of each.
    const first = items[0] as Waiting;
    const options = {
      signal,
      ...(first.rawScores ? { activation: 'none' } : {}),
      ...(first.instruction === undefined ? {} : { instruction: first.instruction }),
    } as ScoreOptions;
    const started = performance.now();
    const scores = await this.#scorer.score(pairs, options);
    const ms = performance.now() - started;
    this.#onBatch({ requests: items.length, pairs: pairs.length, tokens, ms });
    if (tokens >= MIN_MEASURED_TOKENS && ms > 0) {
      const rate = tokens / ms;
      this.#tokensPerMs = this.#tokensPerMs === undefined ? rate : 0.7 * this.#tokensPerMs + 0.3 * rate;
    }
    let offset = 0;
    for (const item of items) {
      item.resolve(scores.slice(offset, offset + item.pairs.length));
      offset += item.pairs.length;
    }
  }
}
