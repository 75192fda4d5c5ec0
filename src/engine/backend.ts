import { AbortError, abortError } from '../errors.js';
import type { Activation, TextPair } from '../types.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { PairModel, type PairModelInfo, type PairModelSpec } from './pair-model.js';

/** Per-request settings a backend honours. */
export interface BackendScoreOptions {
  batchSize: number;
  activation: Activation | undefined;
  signal: AbortSignal | undefined;
}

/** Where tokenization and inference run: a worker thread, or the calling thread. */
export interface ScoringBackend {
  readonly info: PairModelInfo;
  score(pairs: readonly TextPair[], options: BackendScoreOptions): Promise<Float64Array>;
  encode(query: string, passage: string): Promise<AssembledPair>;
  release(): Promise<void>;
}

/** Runs on the calling thread: no thread start-up, but ONNX Runtime blocks the event loop while it computes. */
export class InlineBackend implements ScoringBackend {
  readonly #model: PairModel;

  private constructor(model: PairModel) {
    this.#model = model;
  }

  static async open(spec: PairModelSpec): Promise<InlineBackend> {
    return new InlineBackend(await PairModel.open(spec));
  }

  get info(): PairModelInfo {
    return this.#model.info;
  }

  async score(pairs: readonly TextPair[], options: BackendScoreOptions): Promise<Float64Array> {
    if (options.signal?.aborted) throw abortError('Scoring', options.signal.reason);
    try {
      return await this.#model.score({
        pairs,
        batchSize: options.batchSize,
        activation: options.activation,
        shouldStop: () => options.signal?.aborted === true,
      });
    } catch (error) {
      if (options.signal?.aborted && AbortError.isInstance(error)) throw abortError('Scoring', options.signal.reason);
      throw error;
    }
  }

  async encode(query: string, passage: string): Promise<AssembledPair> {
    return this.#model.encode(query, passage);
  }

  release(): Promise<void> {
    return this.#model.release();
  }
}
