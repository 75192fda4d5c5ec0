import type { RelevanceScoreProvider } from '@mastra/core/relevance';
import { DEFAULT_MODEL, type CrossEncoderOptions } from '../cross-encoder.js';
import { InvalidArgumentError } from '../errors.js';
import { ScorerPool, validateModel, type ModelOption } from '../scorer-pool.js';
import type { TextPair } from '../types.js';
import {
  describe,
  requireQuery,
  requireText,
  validateBatchSize,
  validateSignal,
  validateTimeoutMs,
} from '../validate.js';

/** How a {@link CrossEncoderRelevanceScorer} loads its model and scores. */
export interface CrossEncoderRelevanceScorerOptions extends CrossEncoderOptions {
  /**
   * A hub id or local model folder loaded on first use, or a ready scorer (a `CrossEncoder`, a `RemoteScorer`, a
   * `FakeScorer` in tests), which the relevance scorer never disposes.
   * @default DEFAULT_MODEL ('Xenova/ms-marco-MiniLM-L-6-v2')
   */
  model?: ModelOption;
  /**
   * Most windows a text longer than the model's window is split into; it scores as its best window. Needs a locally
   * loaded model; other scorers ignore it.
   * @default 1 (truncate)
   */
  maxChunksPerDoc?: number;
  /**
   * Longest one batch of scores may take in milliseconds, loading excluded; past it its calls reject with an
   * `AbortError`.
   * @default no limit
   */
  timeoutMs?: number;
  /** Stops every call of this scorer between batches; calls then reject with an `AbortError`. */
  signal?: AbortSignal;
}

/** One pending `getRelevanceScore` call. */
interface Pending {
  pair: TextPair;
  resolve(score: number): void;
  reject(error: unknown): void;
}

/**
 * A Mastra relevance-score provider on a cross-encoder, for `@mastra/rag`'s `rerankWithScorer` and the vector query
 * tool's `reranker`. Mastra asks for one (query, text) score at a time, all at once; the calls made together are
 * scored as one batch, so a list of results costs one model call rather than one per result. Scores are the model's
 * activated scores (0 to 1 for the usual one-logit rerankers), which Mastra weighs against the vector score.
 *
 * @example
 * const reranked = await rerankWithScorer({
 *   results, query, scorer: new CrossEncoderRelevanceScorer(), options: { topK: 3 },
 * });
 */
export class CrossEncoderRelevanceScorer implements RelevanceScoreProvider {
  /** Most token windows a long text is split into; unset truncates. */
  readonly maxChunksPerDoc: number | undefined;
  /** A call running longer rejects with `AbortError`. */
  readonly timeoutMs: number | undefined;
  readonly #model: ModelOption;
  readonly #pool: ScorerPool;
  readonly #signal: AbortSignal | undefined;
  #pending: Pending[] = [];

  constructor(options: CrossEncoderRelevanceScorerOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options', `expected an object of options, got ${describe(options)}.`);
    }
    const { model = DEFAULT_MODEL, maxChunksPerDoc, timeoutMs, signal, ...loadOptions } = options;
    this.#model = validateModel(model, 'model');
    if (typeof this.#model !== 'string' && Object.values(loadOptions).some((value) => value !== undefined)) {
      throw new InvalidArgumentError(
        Object.keys(loadOptions)[0] as string,
        'loading options only apply when the relevance scorer loads the model itself; pass them to the scorer you built.',
      );
    }
    this.maxChunksPerDoc =
      maxChunksPerDoc === undefined ? undefined : validateBatchSize(maxChunksPerDoc, 'maxChunksPerDoc');
    this.timeoutMs = validateTimeoutMs(timeoutMs, 'timeoutMs');
    this.#signal = validateSignal(signal, 'signal');
    this.#pool = new ScorerPool(loadOptions);
  }

  /** How relevant `text` is to `query`, as Mastra asks it: the cross-encoder's score of the pair. */
  getRelevanceScore(query: string, text: string): Promise<number> {
    let pair: TextPair;
    try {
      pair = [requireQuery(query, 'query'), requireText(text, 'text')];
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number>((resolve, reject) => {
      if (this.#pending.length === 0) queueMicrotask(() => void this.#flush());
      this.#pending.push({ pair, resolve, reject });
    });
  }

  /** Frees a model the scorer loaded; a later call loads it again. A scorer passed in is left alone. */
  dispose(): Promise<void> {
    return this.#pool.dispose();
  }

  /** Scores every call made since the last batch in one `score` call, and settles each with its own score. */
  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    try {
      const scorer = await this.#pool.get(this.#model, this.#signal);
      const options: Record<string, unknown> = {};
      if (this.#signal !== undefined) options['signal'] = this.#signal;
      if (this.timeoutMs !== undefined) options['timeoutMs'] = this.timeoutMs;
      if (this.maxChunksPerDoc !== undefined) options['maxChunksPerDoc'] = this.maxChunksPerDoc;
      const scores = await scorer.score(
        batch.map((call) => call.pair),
        options,
      );
      batch.forEach((call, i) => call.resolve(scores[i] as number));
    } catch (error) {
      for (const call of batch) call.reject(error);
    }
  }
}
