import { abortError, DisposedError, InvalidArgumentError } from '../errors.js';
import type { Scorer } from '../cross-encoder.js';
import type { RankOptions, RankResult, ScoreOptions, TextPair } from '../types.js';
import { rankByScore } from '../ranking.js';
import { describe, requirePair, requireQuery, requireText, validateBatchSize, validateTopK } from '../validate.js';

/** Scores one (query, passage) pair; must be deterministic for tests to be repeatable. */
export type FakeScoreFunction = (query: string, passage: string) => number;

/** How a {@link FakeScorer} scores. */
export interface FakeScorerOptions {
  /**
   * The scoring rule.
   * @default wordOverlapScore
   */
  scoreFn?: FakeScoreFunction;
  /**
   * Milliseconds to wait before answering each call, to exercise concurrency and abort paths.
   * @default 0
   */
  delayMs?: number;
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased words of a text: letters and digits, everything else separates. */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * The share of the query's distinct words that occur in the passage, in [0, 1]. Crude but deterministic,
 * order-free, and easy to reason about in a test: a passage holding every query word scores 1.
 */
export function wordOverlapScore(query: string, passage: string): number {
  const queryWords = new Set(words(query));
  if (queryWords.size === 0) return 0;
  const passageWords = new Set(words(passage));
  let shared = 0;
  for (const word of queryWords) if (passageWords.has(word)) shared++;
  return shared / queryWords.size;
}

/**
 * A deterministic {@link Scorer} that needs no model: use it in place of a `CrossEncoder` in your own tests.
 * It validates its arguments like the real engine and records every call.
 *
 * @example
 * const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 2 });
 */
export class FakeScorer implements Scorer {
  /** Every `score` call, in order: how many pairs it held and the batch size asked for. */
  readonly calls: {
    /** Pairs in the call. */ pairs: number;
    /** The batch size asked for. */ batchSize: number | undefined;
  }[] = [];
  readonly #scoreFn: FakeScoreFunction;
  readonly #delayMs: number;
  #disposed = false;

  constructor(options: FakeScorerOptions = {}) {
    const scoreFn = options.scoreFn ?? wordOverlapScore;
    if (typeof scoreFn !== 'function') {
      throw new InvalidArgumentError('options.scoreFn', `expected a function, got ${describe(scoreFn)}.`);
    }
    const delayMs = options.delayMs ?? 0;
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
      throw new InvalidArgumentError('options.delayMs', `expected a non-negative number, got ${describe(delayMs)}.`);
    }
    this.#scoreFn = scoreFn;
    this.#delayMs = delayMs;
  }

  /** Whether `dispose()` was called: lets a test check who owns the scorer. */
  get disposed(): boolean {
    return this.#disposed;
  }

  async score(pairs: readonly TextPair[], options: ScoreOptions = {}): Promise<number[]> {
    this.#assertUsable();
    if (!Array.isArray(pairs))
      throw new InvalidArgumentError('pairs', `expected an array of [query, passage] pairs, got ${describe(pairs)}.`);
    if (options.batchSize !== undefined) validateBatchSize(options.batchSize, 'options.batchSize');
    const checked = pairs.map((pair, i): TextPair => {
      const [query, passage] = requirePair(pair, i);
      return [requireQuery(query, `pairs[${i}][0]`), passage];
    });
    return this.#score(checked, options);
  }

  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<RankResult[]> {
    this.#assertUsable();
    requireQuery(query, 'query');
    if (!Array.isArray(documents))
      throw new InvalidArgumentError('documents', `expected an array of strings, got ${describe(documents)}.`);
    const topK = validateTopK(options.topK, documents.length);
    if (documents.length === 0) return [];
    const pairs = documents.map((doc, i): TextPair => [query, requireText(doc, `documents[${i}]`)]);
    if (options.batchSize !== undefined) validateBatchSize(options.batchSize, 'options.batchSize');
    return rankByScore(await this.#score(pairs, options), topK);
  }

  /** Scores pairs the public method has checked, and records the call. */
  async #score(pairs: readonly TextPair[], options: ScoreOptions): Promise<number[]> {
    this.calls.push({ pairs: pairs.length, batchSize: options.batchSize });
    if (this.#delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.#delayMs));
    if (options.signal?.aborted) throw abortError('Scoring', options.signal.reason);
    return pairs.map(([query, passage]) => this.#scoreFn(query, passage));
  }

  /** Marks the scorer disposed; later calls throw `DisposedError`, as the real engine does. */
  async dispose(): Promise<void> {
    this.#disposed = true;
  }

  #assertUsable(): void {
    if (this.#disposed) throw new DisposedError();
  }
}
