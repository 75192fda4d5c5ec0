import { AbortError, abortError } from '../errors.js';
import type { Activation, TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import type { ChunkSettings } from '../tokenize/windows.js';
import type { PairModelInfo, PairModelSpec, PairScores } from './pair-model.js';
import { openPairScorer, type PairScorer } from './pair-scorer.js';

/** Per-request settings a backend honours. */
export interface BackendScoreOptions {
  batchSize: number;
  activation: Activation | undefined;
  chunks: ChunkSettings;
  /** The task description for this call (rerankers on a language model); `undefined` keeps the model's. */
  instruction?: string | undefined;
  signal: AbortSignal | undefined;
}

/** Whether a backend can score: `restarting` while a crashed worker is being replaced. */
export type BackendState = 'ready' | 'restarting' | 'failed' | 'disposed';

/** Where tokenization and inference run: a worker thread, or the calling thread. */
export interface ScoringBackend {
  readonly info: PairModelInfo;
  /** Left out by backends that cannot crash apart from their caller. */
  readonly state?: BackendState;
  score(pairs: readonly TextPair[], options: BackendScoreOptions): Promise<PairScores>;
  encode(query: string, passage: string): Promise<AssembledPair>;
  release(): Promise<void>;
}

/** Runs on the calling thread: no thread start-up, but ONNX Runtime blocks the event loop while it computes. */
export class InlineBackend implements ScoringBackend {
  readonly #model: PairScorer;
  readonly #running = new Set<Promise<unknown>>();
  #released: Promise<void> | undefined;

  private constructor(model: PairScorer) {
    this.#model = model;
  }

  static async open(spec: PairModelSpec): Promise<InlineBackend> {
    return new InlineBackend(await openPairScorer(spec));
  }

  get info(): PairModelInfo {
    return this.#model.info;
  }

  async score(pairs: readonly TextPair[], options: BackendScoreOptions): Promise<PairScores> {
    if (options.signal?.aborted) throw abortError('Scoring', options.signal.reason);
    if (this.#released !== undefined) throw disposedAbort();
    const work = this.#model.score({
      pairs,
      batchSize: options.batchSize,
      activation: options.activation,
      chunks: options.chunks,
      instruction: options.instruction,
      shouldStop: () => options.signal?.aborted === true || this.#released !== undefined,
    });
    this.#running.add(work);
    try {
      return await work;
    } catch (error) {
      if (options.signal?.aborted && AbortError.isInstance(error)) throw abortError('Scoring', options.signal.reason);
      if (this.#released !== undefined && AbortError.isInstance(error)) throw disposedAbort();
      throw error;
    } finally {
      this.#running.delete(work);
    }
  }

  async encode(query: string, passage: string): Promise<AssembledPair> {
    return this.#model.encode(query, passage);
  }

  /** Stops running calls at their next batch boundary (they reject with `AbortError`), then frees the session. */
  release(): Promise<void> {
    this.#released ??= Promise.allSettled([...this.#running]).then(() => this.#model.release());
    return this.#released;
  }
}

/** The error of a call stopped because its model was disposed. */
export function disposedAbort(): AbortError {
  return new AbortError('Scoring was aborted: the model was disposed.');
}
