import type { Scorer } from '../cross-encoder.js';
import type { ScoreOptions, TextPair } from '../types.js';
import { HttpError } from './http-error.js';

/** How requests are merged into engine calls. */
export interface BatcherOptions {
  /** Merge waiting requests into one engine call; `false` sends each request on its own. */
  microBatch: boolean;
  /** Estimated tokens in one merged call; a single request larger than this still goes alone. */
  maxBatchTokens: number;
  /** Longest pair the model reads, in tokens: caps the estimate of a long text. */
  maxPairTokens: number;
  /** Requests waiting (not yet in the engine) beyond which new ones get 429. */
  maxQueuedRequests: number;
}

interface Waiting {
  pairs: TextPair[];
  rawScores: boolean;
  instruction: string | undefined;
  tokens: number;
  signal: AbortSignal;
  resolve: (scores: number[]) => void;
  reject: (error: unknown) => void;
  settled: boolean;
}

// About four characters per WordPiece token in English prose; the estimate only sizes merged calls, the engine
// splits them again by exact token counts.
function estimateTokens(query: string, text: string, cap: number): number {
  return Math.min(cap, Math.ceil((query.length + text.length) / 4) + 3);
}

/**
 * The queue between HTTP requests and the engine. While one merged call runs, later requests wait and are merged
 * into the next one up to a token budget; scores are sliced back to each request by position, so no request sees
 * another's. Length-sorted batching inside the engine means a pair's padding changes, its score does not (beyond
 * float noise).
 */
export class MicroBatcher {
  readonly #scorer: Scorer;
  readonly #options: BatcherOptions;
  readonly #onBatch: (requests: number, pairs: number) => void;
  readonly #queue: Waiting[] = [];
  #running = 0;
  #idle: (() => void)[] = [];

  constructor(scorer: Scorer, options: BatcherOptions, onBatch: (requests: number, pairs: number) => void) {
    this.#scorer = scorer;
    this.#options = options;
    this.#onBatch = onBatch;
  }

  /** Requests waiting for the engine. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Scores one request's texts against its query; rejects with a 429 `HttpError` when the queue is full. */
  submit(
    query: string,
    texts: readonly string[],
    rawScores: boolean,
    signal: AbortSignal,
    instruction?: string,
  ): Promise<number[]> {
    if (this.#queue.length >= this.#options.maxQueuedRequests) {
      return Promise.reject(
        new HttpError(
          429,
          'overloaded',
          `the queue is full (${this.#options.maxQueuedRequests} requests); retry shortly`,
          1,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const pairs = texts.map((text): TextPair => [query, text]);
      const tokens = texts.reduce((sum, text) => sum + estimateTokens(query, text, this.#options.maxPairTokens), 0);
      const item: Waiting = { pairs, rawScores, instruction, tokens, signal, resolve, reject, settled: false };
      const onAbort = () => {
        if (item.settled) return;
        item.settled = true;
        const at = this.#queue.indexOf(item);
        if (at >= 0) this.#queue.splice(at, 1);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      item.resolve = (scores) => {
        signal.removeEventListener('abort', onAbort);
        if (!item.settled) ((item.settled = true), resolve(scores));
      };
      item.reject = (error) => {
        signal.removeEventListener('abort', onAbort);
        if (!item.settled) ((item.settled = true), reject(error));
      };
      this.#queue.push(item);
      this.#pump();
    });
  }

  /** Resolves once nothing waits and nothing runs. */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    // Merging: one engine call at a time, the rest wait and merge. Without it: every request goes straight to the
    // engine, which queues calls itself.
    while (this.#queue.length > 0 && (!this.#options.microBatch || this.#running === 0)) {
      const batch = this.#take();
      this.#running++;
      void this.#run(batch).finally(() => {
        this.#running--;
        this.#pump();
        if (this.#queue.length === 0 && this.#running === 0) for (const wake of this.#idle.splice(0)) wake();
      });
    }
  }

  #take(): Waiting[] {
    const first = this.#queue.shift() as Waiting;
    const batch = [first];
    if (!this.#options.microBatch) return batch;
    let tokens = first.tokens;
    while (this.#queue.length > 0) {
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
    return batch;
  }

  async #run(batch: Waiting[]): Promise<void> {
    const live = batch.filter((item) => !item.settled);
    if (live.length === 0) return;
    const pairs = live.flatMap((item) => item.pairs);
    this.#onBatch(live.length, pairs.length);
    try {
      // `activation` and `instruction` are read by a CrossEncoder; other scorers ignore them.
      const first = live[0] as Waiting;
      const options = {
        ...(first.rawScores ? { activation: 'none' } : {}),
        ...(first.instruction === undefined ? {} : { instruction: first.instruction }),
      } as ScoreOptions;
      const scores = await this.#scorer.score(pairs, options);
      let offset = 0;
      for (const item of live) {
        item.resolve(scores.slice(offset, offset + item.pairs.length));
        offset += item.pairs.length;
      }
    } catch (error) {
      for (const item of live) item.reject(error);
    }
  }
}
