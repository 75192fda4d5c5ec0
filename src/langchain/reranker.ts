import { CallbackManager, type Callbacks } from '@langchain/core/callbacks/manager';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { AbortError, InvalidArgumentError } from '../errors.js';
import { CrossEncoder, DEFAULT_MODEL, type CrossEncoderOptions } from '../scoring/cross-encoder.js';
import type { Activation, RankResult, Scorer } from '../scoring/scorer.js';
import { callDeadline, type CallDeadline } from '../scoring/deadline.js';
import {
  describe,
  requireOptions,
  requireQuery,
  validateBatchSize,
  validateSignal,
  validateTimeoutMs,
} from '../scoring/validate.js';

/** Loading options of the engine that only apply when the reranker loads the model itself. */
type LoadOptions = Omit<CrossEncoderOptions, 'batchSize' | 'activation' | 'maxLength'>;

/** How a {@link CrossEncoderReranker} loads its model and picks documents. */
export interface CrossEncoderRerankerOptions extends LoadOptions {
  /**
   * A hub id or local model folder to load on first use, or an already-built scorer (e.g. a `CrossEncoder`)
   * shared between rerankers; a scorer passed in is never disposed by the reranker.
   * @default DEFAULT_MODEL ('Xenova/ms-marco-MiniLM-L-6-v2')
   */
  model?: string | Scorer;
  /**
   * How many documents `compressDocuments` and `rerank` return at most.
   * @default 3
   */
  topN?: number;
  /**
   * Pairs per forward pass.
   * @default the scorer's own setting (32 for a `CrossEncoder`)
   */
  batchSize?: number;
  /**
   * Longest (query, document) pair in tokens; longer pairs are truncated. Only for a model the reranker loads.
   * @default the model's maximum
   */
  maxLength?: number;
  /**
   * How logits become scores; see `CrossEncoderOptions.activation`. Applies when the scorer is a `CrossEncoder`.
   * @default 'auto'
   */
  activation?: Activation;
  /**
   * Documents scoring below this (after activation) are dropped, even when fewer than `topN` remain.
   * @default undefined (no threshold)
   */
  minScore?: number;
  /**
   * Longest one `compressDocuments` or `rerank` call may take in milliseconds: waiting for the model to load,
   * waiting behind other calls and scoring, all included. Past it the call rejects with an `AbortError` saying it
   * timed out and the model stops at its next batch boundary; a load in progress carries on for later calls.
   * `rerank` can override it per call.
   * @default no limit
   */
  timeoutMs?: number;
}

/** Per-call options of {@link CrossEncoderReranker.rerank}, named as CohereRerank names them. */
export interface CrossEncoderRerankOptions {
  /**
   * How many results to return at most.
   * @default the reranker's `topN`
   */
  topN?: number;
  /**
   * Drop results scoring below this.
   * @default the reranker's `minScore`
   */
  minScore?: number;
  /** Stops scoring between batches; the promise rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Longest this call may take in milliseconds, model loading included.
   * @default the reranker's `timeoutMs`
   */
  timeoutMs?: number;
}

/** What `rerank` accepts per document, as CohereRerank does: a Document, a string, or a record with `pageContent`. */
export type RerankInput = DocumentInterface | string | Record<string, string>;

// Keys the reranker handles itself; any other option is a loading option of the engine.
const OWN_KEYS = new Set(['model', 'topN', 'batchSize', 'activation', 'minScore', 'timeoutMs']);

/**
 * A LangChain document compressor that reranks documents with a local cross-encoder. A drop-in replacement for
 * `CohereRerank`: same `topN`, `compressDocuments` and `rerank`, same `metadata.relevanceScore`, but the caller's
 * documents are copied, never annotated in place.
 *
 * @example
 * const retriever = new ContextualCompressionRetriever({
 *   baseCompressor: new CrossEncoderReranker({ topN: 4 }),
 *   baseRetriever: vectorStore.asRetriever(20),
 * });
 */
export class CrossEncoderReranker extends BaseDocumentCompressor {
  /** The model loaded on first use, or a description of the scorer passed in. */
  readonly model: string;
  topN: number;
  readonly batchSize: number | undefined;
  readonly activation: Activation | undefined;
  readonly minScore: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly #loadOptions: CrossEncoderOptions;
  readonly #shared: Scorer | undefined;
  #loading: Promise<Scorer> | undefined;
  /** One controller per call in progress, so `dispose()` can stop them all. */
  readonly #calls = new Set<AbortController>();

  constructor(fields: CrossEncoderRerankerOptions = {}) {
    super();
    const { model = DEFAULT_MODEL, topN = 3, batchSize, activation, minScore, timeoutMs, ...loadOptions } = fields;
    this.topN = validateTopN(topN, 'topN');
    this.batchSize = batchSize === undefined ? undefined : validateBatchSize(batchSize, 'batchSize');
    this.activation = activation;
    this.minScore = validateMinScore(minScore, 'minScore');
    this.timeoutMs = validateTimeoutMs(timeoutMs, 'timeoutMs');
    if (typeof model === 'string') {
      if (model.trim() === '') {
        throw new InvalidArgumentError('model', 'expected a hub id, a local model folder or a Scorer, got "".');
      }
      this.model = model;
      this.#shared = undefined;
      this.#loadOptions = { ...loadOptions, ...(batchSize === undefined ? {} : { batchSize }) };
      if (activation !== undefined) this.#loadOptions.activation = activation;
    } else if (isScorer(model)) {
      const loadKeys = Object.entries(fields)
        .filter(([key, value]) => value !== undefined && !OWN_KEYS.has(key))
        .map(([key]) => key);
      if (loadKeys.length > 0) {
        throw new InvalidArgumentError(
          loadKeys[0] as string,
          `${loadKeys.join(', ')} only apply when the reranker loads the model itself; ` +
            'pass them to CrossEncoder.load() when building the shared scorer.',
        );
      }
      this.model = model instanceof CrossEncoder ? model.info.model : (model.constructor?.name ?? 'Scorer');
      this.#shared = model;
      this.#loadOptions = {};
    } else {
      throw new InvalidArgumentError(
        'model',
        `expected a hub id, a local model folder or a Scorer (an object with score and rank), got ${describe(model)}.`,
      );
    }
  }

  /** Loads the model now instead of on the first query, e.g. at server start. Resolves once it can score. */
  async warmup(): Promise<void> {
    await this.#scorer();
  }

  /**
   * Stops every call in progress (each rejects with an `AbortError`) and frees a model the reranker loaded itself,
   * within one batch of the call being scored; a later call loads it again. A scorer passed in as `model` is left
   * alone: its owner disposes it.
   */
  async dispose(): Promise<void> {
    const reason = new DOMException('The reranker was disposed.', 'AbortError');
    for (const call of this.#calls) call.abort(reason);
    this.#calls.clear();
    const loading = this.#loading;
    this.#loading = undefined;
    if (loading === undefined || this.#shared !== undefined) return;
    let scorer: Scorer;
    try {
      scorer = await loading;
    } catch {
      return;
    }
    await (scorer as Partial<{ dispose(): Promise<void> }>).dispose?.();
  }

  /**
   * Reranks `documents` for `query`: new Documents, best first, at most `topN`, each with
   * `metadata.relevanceScore`. `id`, `pageContent` and other metadata are kept; the inputs are not modified.
   * With callbacks (as ContextualCompressionRetriever passes), the reranking is reported as a child retriever run.
   */
  override async compressDocuments(
    documents: DocumentInterface[],
    query: string,
    callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    if (!Array.isArray(documents)) {
      throw new InvalidArgumentError('documents', `expected an array of Documents, got ${describe(documents)}.`);
    }
    if (documents.length === 0) return [];
    requireQuery(query, 'query');
    const texts = Array.from(documents, (doc, i) => pageContentOf(doc, `documents[${i}]`));

    const manager = CallbackManager.configure(callbacks);
    const runManager = await manager?.handleRetrieverStart(
      { lc: 1, type: 'not_implemented', id: ['langchain_cross_encoder', 'CrossEncoderReranker'] },
      query,
      undefined,
      undefined,
      undefined,
      { topN: this.topN, model: this.model, documents: documents.length },
      'CrossEncoderReranker',
    );
    try {
      const ranked = await this.#rank(query, texts, this.topN, this.minScore, undefined, this.timeoutMs, 'timeoutMs');
      const result = ranked.map(({ index, score }) => annotate(documents[index] as DocumentInterface, score));
      await runManager?.handleRetrieverEnd(result);
      return result;
    } catch (error) {
      await runManager?.handleRetrieverError(error);
      throw error;
    }
  }

  /**
   * Ranks documents for `query` and returns their positions with scores, best first: the same contract as
   * CohereRerank's `rerank`. Accepts Documents, strings or records with a `pageContent` string.
   */
  async rerank(
    documents: Array<RerankInput>,
    query: string,
    callOptions?: CrossEncoderRerankOptions,
  ): Promise<Array<{ index: number; relevanceScore: number }>> {
    if (!Array.isArray(documents)) {
      throw new InvalidArgumentError('documents', `expected an array, got ${describe(documents)}.`);
    }
    requireQuery(query, 'query');
    const options: CrossEncoderRerankOptions = requireOptions(callOptions);
    const signal = validateSignal(options.signal, 'options.signal');
    const timeoutMs = validateTimeoutMs(options.timeoutMs, 'options.timeoutMs');
    const topN = options.topN === undefined ? this.topN : validateTopN(options.topN, 'options.topN');
    const minScore =
      options.minScore === undefined ? this.minScore : validateMinScore(options.minScore, 'options.minScore');
    const texts = Array.from(documents, (doc, i) =>
      typeof doc === 'string' ? doc : pageContentOf(doc as { pageContent?: unknown }, `documents[${i}]`),
    );
    if (texts.length === 0) return [];
    const ranked =
      timeoutMs === undefined
        ? await this.#rank(query, texts, topN, minScore, signal, this.timeoutMs, 'timeoutMs')
        : await this.#rank(query, texts, topN, minScore, signal, timeoutMs, 'options.timeoutMs');
    return ranked.map(({ index, score }) => ({ index, relevanceScore: score }));
  }

  async #rank(
    query: string,
    texts: string[],
    topN: number,
    minScore: number | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number | undefined,
    setting: string,
  ): Promise<RankResult[]> {
    if (topN === 0) return [];
    if (signal?.aborted) throw callDeadline(signal, undefined).error('Reranking');
    const call = this.#track(signal);
    const deadline = callDeadline(call.signal, timeoutMs, setting);
    try {
      // Raced against the deadline as well as handed to the scorer: waiting for a load is bounded too, and so is a
      // custom Scorer that ignores signals.
      const ranked = await untilAborted(
        this.#scorer().then((scorer) => {
          const options: Record<string, unknown> = { topK: topN };
          if (this.batchSize !== undefined) options['batchSize'] = this.batchSize;
          if (this.#shared !== undefined && this.activation !== undefined) options['activation'] = this.activation;
          if (deadline.signal !== undefined) options['signal'] = deadline.signal;
          return scorer.rank(query, texts, options);
        }),
        deadline,
      );
      return minScore === undefined ? ranked : ranked.filter((r) => r.score >= minScore);
    } finally {
      deadline.dispose();
      call.dispose();
    }
  }

  /** A signal for one call that fires with the caller's `signal` or when the reranker is disposed. */
  #track(signal: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#calls.add(controller);
    return {
      signal: controller.signal,
      dispose: () => {
        signal?.removeEventListener('abort', onAbort);
        this.#calls.delete(controller);
      },
    };
  }

  #scorer(): Promise<Scorer> {
    if (this.#shared !== undefined) return Promise.resolve(this.#shared);
    if (this.#loading === undefined) {
      const loading = CrossEncoder.load(this.model, this.#loadOptions);
      this.#loading = loading;
      // A failed load is forgotten so the next call tries again (e.g. after the network comes back).
      loading.catch(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
    }
    return this.#loading;
  }
}

/** Settles with `work`, or rejects with the deadline's AbortError as soon as its signal fires. */
function untilAborted<T>(work: Promise<T>, deadline: CallDeadline): Promise<T> {
  const signal = deadline.signal;
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadline.error('Reranking'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted && AbortError.isInstance(error) ? deadline.error('Reranking', error) : error);
      },
    );
  });
}

function annotate(doc: DocumentInterface, relevanceScore: number): DocumentInterface {
  const copy = new Document({
    pageContent: doc.pageContent,
    metadata: { ...doc.metadata, relevanceScore },
  });
  if (doc.id !== undefined) copy.id = doc.id;
  return copy;
}

function pageContentOf(doc: { pageContent?: unknown } | null | undefined, parameter: string): string {
  if (typeof doc !== 'object' || doc === null || typeof doc.pageContent !== 'string') {
    throw new InvalidArgumentError(
      parameter,
      `expected a Document or an object with a string pageContent, got ${describe(doc)}.`,
    );
  }
  return doc.pageContent;
}

function isScorer(value: unknown): value is Scorer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Scorer).score === 'function' &&
    typeof (value as Scorer).rank === 'function'
  );
}

function validateTopN(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(parameter, `expected a non-negative integer, got ${describe(value)}.`);
  }
  return value;
}

function validateMinScore(value: unknown, parameter: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidArgumentError(parameter, `expected a number, got ${describe(value)}.`);
  }
  return value;
}
