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

/** One engine call, reported once it ends: how many requests and pairs it held. */
export interface BatchReport {
  requests: number;
  pairs: number;
}

/**
 * One request, from submission to its answer. `queued` waits for the engine, `running` is in the engine call
 * `call`, `ended` has its answer (or error) and is no longer held.
 */
interface Request {
  state: 'queued' | 'running' | 'ended';
  pairs: TextPair[];
  rawScores: boolean;
  instruction: string | undefined;
  tokens: number;
  bytes: number;
  signal: AbortSignal;
  resolve: (scores: number[]) => void;
  reject: (error: unknown) => void;
  /** Listens to `signal` while the request is held. */
  onAbort: () => void;
  /** The engine call it runs in; aborted once every request of the call has ended. */
  call: AbortController | undefined;
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
  /** Every request queued or running, in arrival order; the queue, its size and its load are read from here. */
  #requests: Request[] = [];
  #running = false;
  /** Estimated tokens per millisecond, from recent calls; `undefined` until one large enough has run. */
  #tokensPerMs: number | undefined;

  constructor(scorer: Scorer, options: BatcherOptions, onBatch: (report: BatchReport) => void) {
    this.#scorer = scorer;
    this.#options = options;
    this.#onBatch = onBatch;
  }

  /** Requests waiting for the engine. */
  get depth(): number {
    return this.#requests.filter((request) => request.state === 'queued').length;
  }

  /** Whether a small request would be refused right now for lack of room. */
  get full(): boolean {
    return this.depth >= this.#options.maxQueuedRequests || this.#held('bytes') >= this.#options.maxQueuedBytes;
  }

  /**
   * Scores one request's texts against its query. Rejects with a 429 `HttpError` when the queue is full or would
   * not reach this request in time, with 413 when it alone is larger than the queue may hold or would run past the
   * time limit, and with the signal's reason when it fires first.
   */
  submit(
    query: string,
    texts: readonly string[],
    rawScores: boolean,
    signal: AbortSignal,
    instruction?: string,
  ): Promise<number[]> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const tokens = texts.reduce((sum, text) => sum + estimateTokens(query, text, this.#options.maxPairTokens), 0);
    const bytes = 2 * texts.reduce((sum, text) => sum + query.length + text.length, 0);
    const refused = this.#admit(texts.length, tokens, bytes);
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      const request: Request = {
        state: 'queued',
        pairs: texts.map((text): TextPair => [query, text]),
        rawScores,
        instruction,
        tokens,
        bytes,
        signal,
        resolve,
        reject,
        onAbort: () => this.#end(request, { error: signal.reason }),
        call: undefined,
      };
      signal.addEventListener('abort', request.onAbort, { once: true });
      this.#requests.push(request);
      this.#pump();
    });
  }

  /** The sum of `field` over the requests held, queued and running. */
  #held(field: 'tokens' | 'bytes'): number {
    let sum = 0;
    for (const request of this.#requests) sum += request[field];
    return sum;
  }

  /** Ends a request once, with its scores or an error; an engine call none of whose requests still waits stops. */
  #end(request: Request, outcome: { scores: number[] } | { error: unknown }): void {
    if (request.state === 'ended') return;
    request.state = 'ended';
    request.signal.removeEventListener('abort', request.onAbort);
    this.#requests = this.#requests.filter((other) => other !== request);
    if ('scores' in outcome) request.resolve(outcome.scores);
    else request.reject(outcome.error);
    // A request that ends without its scores (timed out, gone) may leave its engine call with nobody to answer.
    const call = request.call;
    if ('error' in outcome && call !== undefined && !this.#requests.some((other) => other.call === call)) {
      call.abort(new Error('every request of the call has ended'));
    }
  }

  #admit(texts: number, tokens: number, bytes: number): HttpError | undefined {
    const { maxQueuedRequests, maxQueuedBytes, admissionMs } = this.#options;
    if (bytes > maxQueuedBytes) {
      return new HttpError(
        413,
        'payload_too_large',
        `this request's texts take ${Math.round(bytes / 1024)} KiB, more than this server holds for all requests ` +
          `(${Math.round(maxQueuedBytes / 1024)} KiB); split it`,
      );
    }
    if (this.depth >= maxQueuedRequests) {
      return new HttpError(429, 'overloaded', `the queue is full (${maxQueuedRequests} requests); retry shortly`, 1);
    }
    const held = this.#held('bytes');
    if (held + bytes > maxQueuedBytes) {
      return new HttpError(
        429,
        'overloaded',
        `the queue holds ${Math.round(held / 1024)} KiB of text, near this server's limit of ` +
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
    const aheadMs = this.#held('tokens') / rate;
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
    if (this.#running) return;
    const batch = this.#take();
    if (batch.length === 0) return;
    this.#running = true;
    void this.#run(batch).finally(() => {
      this.#running = false;
      this.#pump();
    });
  }

  /** The next engine call's requests: the oldest waiting one, and while merging, those behind it that fit. */
  #take(): Request[] {
    const batch: Request[] = [];
    let tokens = 0;
    for (const next of this.#requests) {
      if (next.state !== 'queued') continue;
      const first = batch[0];
      if (first !== undefined) {
        // One engine call has one activation and one instruction.
        if (
          !this.#options.microBatch ||
          next.rawScores !== first.rawScores ||
          next.instruction !== first.instruction ||
          tokens + next.tokens > this.#options.maxBatchTokens
        )
          break;
      }
      batch.push(next);
      tokens += next.tokens;
    }
    for (const request of batch) request.state = 'running';
    return batch;
  }

  async #run(batch: Request[]): Promise<void> {
    try {
      await this.#call(batch);
    } catch (error) {
      const live = batch.filter((request) => request.state !== 'ended');
      const pairCaused = CrossEncoderError.isInstance(error) && PAIR_CAUSED.has(error.code);
      if (!pairCaused || live.length === 1) {
        for (const request of live) this.#end(request, { error });
        return;
      }
      // Split the call: each request alone, so only the one whose pairs fail gets the error.
      for (const request of live) {
        try {
          await this.#call([request]);
        } catch (alone) {
          this.#end(request, { error: alone });
        }
      }
    }
  }

  /** One engine call for the requests still running of `batch`; ends each with its slice of the scores. */
  async #call(batch: Request[]): Promise<void> {
    const requests = batch.filter((request) => request.state !== 'ended');
    if (requests.length === 0) return;
    const call = new AbortController();
    for (const request of requests) request.call = call;
    const pairs = requests.flatMap((request) => request.pairs);
    const tokens = requests.reduce((sum, request) => sum + request.tokens, 0);
    // `activation` and `instruction` are read by a CrossEncoder; other scorers ignore them. One call has one of each.
    const first = requests[0] as Request;
    const options = {
      signal: call.signal,
      ...(first.rawScores ? { activation: 'none' } : {}),
      ...(first.instruction === undefined ? {} : { instruction: first.instruction }),
    } as ScoreOptions;
    const started = performance.now();
    const scores = await this.#scorer.score(pairs, options);
    const ms = performance.now() - started;
    this.#onBatch({ requests: requests.length, pairs: pairs.length });
    if (tokens >= MIN_MEASURED_TOKENS && ms > 0) {
      const rate = tokens / ms;
      this.#tokensPerMs = this.#tokensPerMs === undefined ? rate : 0.7 * this.#tokensPerMs + 0.3 * rate;
    }
    let offset = 0;
    for (const request of requests) {
      this.#end(request, { scores: scores.slice(offset, offset + request.pairs.length) });
      offset += request.pairs.length;
    }
  }
}
