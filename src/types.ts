/** How raw model outputs become scores. `'auto'` follows the model: see `CrossEncoderOptions.activation`. */
export type Activation = 'auto' | 'sigmoid' | 'softmax' | 'none';

/** A (query, passage) pair, the unit a cross-encoder reads. */
export type TextPair = readonly [query: string, passage: string];

/** Options for one scoring call. */
export interface ScoreOptions {
  /** Pairs per forward pass; overrides the model's own setting for this call only. */
  batchSize?: number;
  /** Stops the call between batches; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Longest the call may take in milliseconds, time waiting behind other calls included. Past it, the promise
   * rejects with an `AbortError` saying it timed out, and the model stops at its next batch boundary.
   * @default no limit
   */
  timeoutMs?: number;
}

/** Options for {@link Scorer.rank}. */
export interface RankOptions extends ScoreOptions {
  /** Keep only the best `topK` results. Defaults to all documents. */
  topK?: number;
}

/** One ranked document: its position in the caller's list and its score. */
export interface RankResult {
  index: number;
  score: number;
}
