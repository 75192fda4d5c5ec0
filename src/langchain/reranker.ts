import { CallbackManager, type Callbacks } from '@langchain/core/callbacks/manager';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { AbortError, abortError, CrossEncoderError, InvalidArgumentError } from '../errors.js';
import {
  checkLoadOptions,
  CrossEncoder,
  DEFAULT_MODEL,
  type CrossEncoderOptions,
  type Scorer,
} from '../cross-encoder.js';
import type { Activation, RankResult, ScoringStats } from '../types.js';
import { callDeadline, followAbort, type CallDeadline } from '../engine/deadline.js';
import { fuse, validateFusion, type Fusion, type FusionOptions } from './fusion.js';
import {
  checkInstruction,
  describe,
  requireOptions,
  requireQuery,
  validateActivation,
  validateBatchSize,
  validateSignal,
  validateTimeoutMs,
} from '../validate.js';
import { Lazy, LOAD_BACKOFF } from './lazy.js';
import { isRecord, renderRecord, validateRankFields, type RankFields } from '../documents/render.js';

/** Loading options of the engine that only apply when the reranker loads the model itself. */
type LoadOptions = Omit<CrossEncoderOptions, 'batchSize' | 'activation' | 'maxLength' | 'instruction'>;

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
   * The task description for a reranker on a language model (Qwen3-Reranker and its kin); see
   * `CrossEncoderOptions.instruction`. Passed with every call, so it also applies to a shared `CrossEncoder`.
   * @default the model's own
   */
  instruction?: string;
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
  /**
   * Most windows a document longer than the model's window is split into (Cohere's `maxChunksPerDoc`): each window
   * holds the query and an overlapping stretch of the document, the document scores as its best window, and
   * `metadata.chunk` says which window that was. `1` truncates long documents instead. Scoring cost grows with the
   * windows scored. Needs a `CrossEncoder`; other scorers ignore it.
   * @default 1
   */
  maxChunksPerDoc?: number;
  /**
   * Document tokens per window when documents are split.
   * @default all the room the query leaves in the model's window
   */
  chunkTokens?: number;
  /**
   * Tokens from one window's start to the next when documents are split.
   * @default half a window
   */
  chunkStride?: number;
  /**
   * Blends the cross-encoder's order with the first stage's (the input order, which is the retriever's ranking in a
   * ContextualCompressionRetriever): `{ method: 'rrf' }`, or `{ method: 'weighted', scoreKey }` with the first-stage
   * score read from `metadata[scoreKey]`. `metadata.relevanceScore` is then the fused score and
   * `metadata.crossEncoderScore` the model's own.
   * @default undefined (the cross-encoder's order alone)
   */
  fusion?: FusionOptions;
  /**
   * Milliseconds a call may spend scoring, model loading included. Documents are scored in input order, a batch at a
   * time, until the budget is spent; the ones left follow the scored ones in input order with
   * `metadata.reranked: false`. A call overruns the budget by at most the batch in progress.
   * @default no budget (every document is scored)
   */
  budgetMs?: number;
  /**
   * What a call does when the model fails to load, scoring fails or `timeoutMs` passes: `'throw'` rejects;
   * `'first-stage'` returns the first `topN` documents in input order with `metadata.reranked: false` and reports the
   * error through `onStats` and the callbacks (a `cross_encoder_fallback` custom event). A caller's abort or
   * `dispose()` still rejects.
   * @default 'throw'
   */
  fallback?: 'throw' | 'first-stage';
  /**
   * Called after every call with what it cost: documents, documents scored, pairs, truncated pairs, windows, padded
   * tokens, and milliseconds loading, queued, tokenizing and in inference. The same figures go to the callbacks as a
   * `cross_encoder_stats` custom event, so they appear in traces of the retriever run.
   * @default undefined
   */
  onStats?: (stats: RerankStats) => void;
  /**
   * What of a structured document the model reads (Cohere's `rank_fields`): field names, rendered as `field: value`
   * lines in the order given, or a function returning the text to score. A Document is read as its metadata fields
   * plus `pageContent`; a record passed to `rerank` as itself. Without it a Document is its `pageContent` and a record
   * without a string `pageContent` is all its fields as YAML-like `key: value` lines. `rerank` can override it.
   * @default undefined (pageContent, or every field of a record)
   */
  rankFields?: RankFields;
}

/**
 * What one reranking call cost. The engine's counts and stage times are present when the scorer reports them (a
 * `CrossEncoder` does), summed over the batches a budget scored one by one.
 */
export interface RerankStats extends Partial<ScoringStats> {
  /** Documents given. */
  documents: number;
  /** Documents the cross-encoder scored; fewer than `documents` when a budget ran out or the call fell back. */
  reranked: number;
  /** Waiting for the model to load. */
  loadMs: number;
  /** The whole call. */
  totalMs: number;
  /** Why the call fell back to the first-stage order, when it did. */
  fallback?: {
    /** The error's `code`. */ code: string;
    /** The error's message. */ message: string;
  };
}

/** One result of {@link CrossEncoderReranker.rerank}. */
export interface RerankResult {
  /** Position in the documents given. */
  index: number;
  /** The cross-encoder's score, or the fused score with `fusion`; `NaN` for a document left unscored. */
  relevanceScore: number;
  /** Present when a budget or fallback is set: whether the cross-encoder scored this document. */
  reranked?: boolean;
  /** The window that scored, when the document was split into windows. */
  chunk?: number;
}

/** Per-call options of {@link CrossEncoderReranker.rerank}, named as CohereRerank names them. */
export interface CrossEncoderRerankOptions {
  /**
   * How many results to return at most.
   * @default the reranker's `topN`
   */
  topN?: number;
  /**
   * A hub id or local model folder to rank with in this call, as CohereRerank's per-call `model`: loaded on first use
   * with the reranker's loading options, kept for later calls and freed by `dispose()`.
   * @default the reranker's model
   */
  model?: string;
  /**
   * Most windows a long document is split into in this call; see the reranker's `maxChunksPerDoc`.
   * @default the reranker's `maxChunksPerDoc`
   */
  maxChunksPerDoc?: number;
  /**
   * What of a structured document the model reads in this call; see the reranker's `rankFields`.
   * @default the reranker's `rankFields`
   */
  rankFields?: RankFields;
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

/**
 * What `rerank` accepts per document: what CohereRerank accepts (a Document, a string, a record with `pageContent`),
 * and any record, read through `rankFields` or rendered as `key: value` lines.
 */
export type RerankInput = DocumentInterface | string | Record<string, unknown>;

// Keys the reranker handles itself; any other option is a loading option of the engine.
const OWN_KEYS = new Set([
  'model',
  'topN',
  'batchSize',
  'activation',
  'minScore',
  'timeoutMs',
  'maxChunksPerDoc',
  'instruction',
  'chunkTokens',
  'chunkStride',
  'fusion',
  'budgetMs',
  'fallback',
  'onStats',
  'rankFields',
]);

/** Pairs a budgeted call scores per step when no `batchSize` is set: a `CrossEncoder`'s default batch. */
const BUDGET_STEP = 32;

/** One document's place in a call's result. */
interface Ranked {
  index: number;
  relevanceScore: number;
  reranked: boolean;
  crossEncoderScore?: number;
  chunk?: number;
}

/** A call's settings once validated. */
interface CallSettings {
  /** The model this call ranks with, and whether the reranker's activation must be passed to it. */
  scorer: { loaded: Lazy<Scorer>; shared: boolean };
  maxChunksPerDoc: number | undefined;
  topN: number;
  minScore: number | undefined;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  setting: string;
}

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
  /** Most documents returned by a call. */
  topN: number;
  /** Pairs per forward pass; unset uses the scorer's own. */
  readonly batchSize: number | undefined;
  /** How logits become scores; unset follows the model. */
  readonly activation: Activation | undefined;
  /** Documents scoring below this are dropped. */
  readonly minScore: number | undefined;
  /** A call running longer, model loading included, rejects with `AbortError`. */
  readonly timeoutMs: number | undefined;
  /** Most token windows a long document is split into; unset truncates. */
  readonly maxChunksPerDoc: number | undefined;
  /** The task description sent with every call to a reranker on a language model. */
  readonly instruction: string | undefined;
  /** Document tokens per window. */
  readonly chunkTokens: number | undefined;
  /** Tokens from one window's start to the next. */
  readonly chunkStride: number | undefined;
  /** How the cross-encoder's order is blended with the first stage's, when it is. */
  readonly fusion: Fusion | undefined;
  /** Time after which the remaining documents follow unscored, in input order. */
  readonly budgetMs: number | undefined;
  /** What a failed load or score does: reject, or return the first stage's order. */
  readonly fallback: 'throw' | 'first-stage';
  /** What of a structured document the model reads. */
  readonly rankFields: RankFields | undefined;
  readonly #onStats: ((stats: RerankStats) => void) | undefined;
  readonly #shared: Scorer | undefined;
  readonly #loaded: Lazy<Scorer>;
  /** Loading options for a model the reranker loads itself, the per-call `model` of `rerank` included. */
  readonly #loadOptions: CrossEncoderOptions;
  /** Models named per call by `rerank`, each loaded once. */
  readonly #perCall = new Map<string, Lazy<Scorer>>();
  /** One controller per call in progress, so `dispose()` can stop them all. */
  readonly #calls = new Set<AbortController>();

  constructor(fields: CrossEncoderRerankerOptions = {}) {
    super();
    const {
      model = DEFAULT_MODEL,
      topN = 3,
      batchSize,
      activation,
      minScore,
      timeoutMs,
      maxChunksPerDoc,
      instruction,
      chunkTokens,
      chunkStride,
      fusion,
      budgetMs,
      fallback = 'throw',
      onStats,
      rankFields,
      ...loadOptions
    } = fields;
    this.rankFields = validateRankFields(rankFields, 'rankFields');
    this.topN = validateTopN(topN, 'topN');
    this.maxChunksPerDoc =
      maxChunksPerDoc === undefined ? undefined : validateBatchSize(maxChunksPerDoc, 'maxChunksPerDoc');
    this.instruction = checkInstruction(instruction, 'instruction');
    this.chunkTokens = chunkTokens === undefined ? undefined : validateBatchSize(chunkTokens, 'chunkTokens');
    this.chunkStride = chunkStride === undefined ? undefined : validateBatchSize(chunkStride, 'chunkStride');
    this.fusion = validateFusion(fusion, 'fusion');
    this.budgetMs = validateTimeoutMs(budgetMs, 'budgetMs');
    if (fallback !== 'throw' && fallback !== 'first-stage') {
      throw new InvalidArgumentError('fallback', `expected 'throw' or 'first-stage', got ${describe(fallback)}.`);
    }
    this.fallback = fallback;
    if (onStats !== undefined && typeof onStats !== 'function') {
      throw new InvalidArgumentError('onStats', `expected a function, got ${describe(onStats)}.`);
    }
    this.#onStats = onStats;
    this.batchSize = batchSize === undefined ? undefined : validateBatchSize(batchSize, 'batchSize');
    this.activation = validateActivation(activation, 'activation');
    if (this.chunkStride !== undefined && this.chunkTokens !== undefined && this.chunkStride > this.chunkTokens) {
      throw new InvalidArgumentError(
        'chunkStride',
        `a stride of ${this.chunkStride} tokens is longer than a window of ${this.chunkTokens} (chunkTokens), so the ` +
          'tokens between windows would never be read; use a stride of at most chunkTokens.',
      );
    }
    this.minScore = validateMinScore(minScore, 'minScore');
    this.timeoutMs = validateTimeoutMs(timeoutMs, 'timeoutMs');
    if (typeof model === 'string') {
      if (model.trim() === '') {
        throw new InvalidArgumentError('model', 'expected a hub id, a local model folder or a Scorer, got "".');
      }
      this.model = model;
      this.#shared = undefined;
      const options: CrossEncoderOptions = { ...loadOptions, ...(batchSize === undefined ? {} : { batchSize }) };
      if (activation !== undefined) options.activation = activation;
      this.#loadOptions = options;
      // Checked here, not at the first call: a mistyped option must not wait for a call, nor hide behind `fallback`.
      checkLoadOptions(options);
      this.#loaded = new Lazy<Scorer>(() => CrossEncoder.load(model, options), LOAD_BACKOFF);
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
      this.#loadOptions = {
        ...(batchSize === undefined ? {} : { batchSize }),
        ...(activation === undefined ? {} : { activation }),
      };
      this.#loaded = new Lazy(() => Promise.resolve(model));
    } else {
      throw new InvalidArgumentError(
        'model',
        `expected a hub id, a local model folder or a Scorer (an object with score and rank), got ${describe(model)}.`,
      );
    }
  }

  /** Loads the model now instead of on the first query, e.g. at server start. Resolves once it can score. */
  async warmup(): Promise<void> {
    await this.#loaded.get();
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
    const perCall = [...this.#perCall.values()];
    this.#perCall.clear();
    await Promise.all(perCall.map((lazy) => lazy.reset(disposeScorer)));
    if (this.#shared !== undefined) return;
    await this.#loaded.reset(disposeScorer);
  }

  /**
   * Reranks `documents` for `query`: new Documents, best first, at most `topN`, each with
   * `metadata.relevanceScore`. `id`, `pageContent` and other metadata are kept; the inputs are not modified.
   * With callbacks (as ContextualCompressionRetriever passes), the reranking is reported as a child retriever run,
   * with the call's figures as a `cross_encoder_stats` custom event.
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
    const texts = Array.from(documents, (doc, i) => {
      const parameter = `documents[${i}]`;
      const pageContent = pageContentOf(doc, parameter);
      return this.rankFields === undefined ? pageContent : textOf(doc, this.rankFields, parameter);
    });
    const firstStage = this.#firstStageScores(documents);

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
      const { ranked, stats } = await this.#rank(query, texts, firstStage, {
        scorer: { loaded: this.#loaded, shared: this.#shared !== undefined },
        maxChunksPerDoc: this.maxChunksPerDoc,
        topN: this.topN,
        minScore: this.minScore,
        signal: undefined,
        timeoutMs: this.timeoutMs,
        setting: 'timeoutMs',
      });
      const result = ranked.map((r) => annotate(documents[r.index] as DocumentInterface, r, this.#marksReranked));
      if (stats.fallback !== undefined) await runManager?.handleCustomEvent?.('cross_encoder_fallback', stats.fallback);
      await runManager?.handleCustomEvent?.('cross_encoder_stats', stats);
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
  ): Promise<RerankResult[]> {
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
    const maxChunksPerDoc =
      options.maxChunksPerDoc === undefined
        ? this.maxChunksPerDoc
        : validateBatchSize(options.maxChunksPerDoc, 'options.maxChunksPerDoc');
    const rankFields =
      options.rankFields === undefined ? this.rankFields : validateRankFields(options.rankFields, 'options.rankFields');
    const scorer = this.#scorerFor(options.model);
    const texts = Array.from(documents, (doc, i) => textOf(doc, rankFields, `documents[${i}]`));
    if (texts.length === 0) return [];
    const firstStage = this.#firstStageScores(documents);
    const { ranked } = await this.#rank(query, texts, firstStage, {
      scorer,
      maxChunksPerDoc,
      topN,
      minScore,
      signal,
      timeoutMs: timeoutMs ?? this.timeoutMs,
      setting: timeoutMs === undefined ? 'timeoutMs' : 'options.timeoutMs',
    });
    return ranked.map((r) => {
      const out: RerankResult = { index: r.index, relevanceScore: r.relevanceScore };
      if (this.#marksReranked) out.reranked = r.reranked;
      if (r.chunk !== undefined) out.chunk = r.chunk;
      return out;
    });
  }

  /** The model a `rerank` call names, loaded once with the reranker's loading options, or the reranker's own. */
  #scorerFor(model: unknown): CallSettings['scorer'] {
    if (model === undefined || model === this.model) {
      return { loaded: this.#loaded, shared: this.#shared !== undefined };
    }
    if (typeof model !== 'string' || model.trim() === '') {
      throw new InvalidArgumentError(
        'options.model',
        `expected a hub id or a local model folder, got ${describe(model)}; leave it out to use the reranker's model.`,
      );
    }
    let loaded = this.#perCall.get(model);
    if (loaded === undefined) {
      const options = this.#loadOptions;
      loaded = new Lazy<Scorer>(() => CrossEncoder.load(model, options));
      this.#perCall.set(model, loaded);
    }
    return { loaded, shared: false };
  }

  /** Whether results say which documents were scored: only when some may not be. */
  get #marksReranked(): boolean {
    return this.budgetMs !== undefined || this.fallback === 'first-stage';
  }

  /** Each document's first-stage score, read for weighted fusion; a missing or non-numeric one is an error. */
  #firstStageScores(documents: readonly unknown[]): (number | undefined)[] | undefined {
    const key = this.fusion?.scoreKey;
    if (key === undefined) return undefined;
    return documents.map((doc, i) => {
      const value = (doc as { metadata?: Record<string, unknown> } | null)?.metadata?.[key];
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidArgumentError(
          `documents[${i}].metadata.${key}`,
          `weighted fusion reads the first-stage score from metadata.${key}; expected a finite number, got ` +
            `${describe(value)}. Set fusion.scoreKey to the key your retriever writes, or use { method: 'rrf' }.`,
        );
      }
      return value;
    });
  }

  async #rank(
    query: string,
    texts: string[],
    firstStage: (number | undefined)[] | undefined,
    settings: CallSettings,
  ): Promise<{ ranked: Ranked[]; stats: RerankStats }> {
    const started = performance.now();
    const stats: RerankStats = { documents: texts.length, reranked: 0, loadMs: 0, totalMs: 0 };
    const finish = (ranked: Ranked[]) => {
      stats.totalMs = performance.now() - started;
      this.#onStats?.({ ...stats });
      return { ranked, stats };
    };
    if (settings.topN === 0) return finish([]);
    const { signal } = settings;
    if (signal?.aborted) throw abortError('Reranking', signal.reason);
    const call = this.#track(signal);
    const deadline = callDeadline(call.signal, settings.timeoutMs, settings.setting);
    try {
      const scored = await this.#score(query, texts, deadline, stats, started, settings);
      stats.reranked = scored.length;
      return finish(this.#order(scored, texts.length, firstStage, settings));
    } catch (error) {
      // The caller's abort, dispose() and a wrong argument always reject; failures and timeouts may fall back.
      if (this.fallback !== 'first-stage' || call.signal.aborted || isInvalidArgument(error)) throw error;
      stats.fallback = {
        code: (error as { code?: unknown } | null)?.code?.toString() ?? 'UNKNOWN',
        message: error instanceof Error ? error.message : String(error),
      };
      return finish(firstStageOrder(0, texts.length).slice(0, settings.topN));
    } finally {
      deadline.dispose();
      call.dispose();
    }
  }

  /** Cross-encoder scores for the documents it reaches: all of them, or those a budget allows in input order. */
  async #score(
    query: string,
    texts: string[],
    deadline: CallDeadline,
    stats: RerankStats,
    started: number,
    settings: CallSettings,
  ): Promise<RankResult[]> {
    const budgetEnd = this.budgetMs === undefined ? undefined : started + this.budgetMs;
    const loadStarted = performance.now();
    // Raced against the deadline as well as handed to the scorer: waiting for a load is bounded too, and so is a
    // custom Scorer that ignores signals. A budget bounds the wait for the load the same way.
    let scorer: Scorer | undefined;
    try {
      scorer = await untilAborted(withinBudget(settings.scorer.loaded.get(), budgetEnd), deadline);
    } finally {
      // Counted when the load fails too: a fallback's stats show what the attempt cost.
      stats.loadMs = performance.now() - loadStarted;
    }
    if (scorer === undefined) return [];
    const options: Record<string, unknown> = {};
    if (this.batchSize !== undefined) options['batchSize'] = this.batchSize;
    if (settings.scorer.shared && this.activation !== undefined) options['activation'] = this.activation;
    if (deadline.signal !== undefined) options['signal'] = deadline.signal;
    if (settings.maxChunksPerDoc !== undefined) options['maxChunksPerDoc'] = settings.maxChunksPerDoc;
    if (this.instruction !== undefined) options['instruction'] = this.instruction;
    if (this.chunkTokens !== undefined) options['chunkTokens'] = this.chunkTokens;
    if (this.chunkStride !== undefined) options['chunkStride'] = this.chunkStride;
    options['onStats'] = (part: ScoringStats) => addStats(stats, part);
    if (budgetEnd === undefined) return untilAborted(scorer.rank(query, texts, options), deadline);

    // One step is one engine batch of windows, so the budget overruns by at most one batch however many windows
    // each document is split into.
    const step = Math.max(1, Math.floor((this.batchSize ?? BUDGET_STEP) / (this.maxChunksPerDoc ?? 1)));
    const scored: RankResult[] = [];
    for (let start = 0; start < texts.length && performance.now() < budgetEnd; start += step) {
      const part = await untilAborted(scorer.rank(query, texts.slice(start, start + step), options), deadline);
      for (const r of part) scored.push({ ...r, index: r.index + start });
    }
    return scored;
  }

  /** Scored documents best first (fused with the first stage when asked), then unscored ones in input order. */
  #order(
    scored: RankResult[],
    count: number,
    firstStage: (number | undefined)[] | undefined,
    settings: CallSettings,
  ): Ranked[] {
    const { minScore, topN } = settings;
    const kept = minScore === undefined ? scored : scored.filter((r) => r.score >= minScore);
    let ranked: Ranked[];
    if (this.fusion === undefined) {
      ranked = kept.map((r) => ({ index: r.index, relevanceScore: r.score, reranked: true, chunk: r.chunk }));
    } else {
      const fused = fuse(
        kept.map((r) => ({ index: r.index, score: r.score, firstStage: firstStage?.[r.index] })),
        this.fusion,
      );
      ranked = kept.map((r) => ({
        index: r.index,
        relevanceScore: fused.get(r.index) as number,
        crossEncoderScore: r.score,
        reranked: true,
        chunk: r.chunk,
      }));
    }
    ranked.sort((a, b) => b.relevanceScore - a.relevanceScore || a.index - b.index);
    const seen = new Set(scored.map((r) => r.index));
    const unscored = firstStageOrder(0, count).filter((r) => !seen.has(r.index));
    return [...ranked, ...unscored].slice(0, topN);
  }

  /** A signal for one call that fires with the caller's `signal` or when the reranker is disposed. */
  #track(signal: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
    const controller = new AbortController();
    // One listener on a caller's signal however many calls share it (see followAbort).
    const unfollow = signal === undefined ? () => {} : followAbort(signal, () => controller.abort(signal.reason));
    this.#calls.add(controller);
    return {
      signal: controller.signal,
      dispose: () => {
        unfollow();
        this.#calls.delete(controller);
      },
    };
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

function annotate(doc: DocumentInterface, ranked: Ranked, marksReranked: boolean): DocumentInterface {
  const metadata: Record<string, unknown> = { ...doc.metadata };
  if (ranked.reranked) metadata['relevanceScore'] = ranked.relevanceScore;
  if (ranked.crossEncoderScore !== undefined) metadata['crossEncoderScore'] = ranked.crossEncoderScore;
  if (ranked.chunk !== undefined) metadata['chunk'] = ranked.chunk;
  if (marksReranked) metadata['reranked'] = ranked.reranked;
  const copy = new Document({ pageContent: doc.pageContent, metadata });
  if (doc.id !== undefined) copy.id = doc.id;
  return copy;
}

/** Documents `from`..`to` unscored, in input order. */
function firstStageOrder(from: number, to: number): Ranked[] {
  return Array.from({ length: to - from }, (_, i) => ({
    index: from + i,
    relevanceScore: Number.NaN,
    reranked: false,
  }));
}

/** Settles with `work`, or with `undefined` once the budget's end passes first. */
function withinBudget<T>(work: Promise<T>, budgetEnd: number | undefined): Promise<T | undefined> {
  if (budgetEnd === undefined) return work;
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), Math.max(0, budgetEnd - performance.now()));
    timer.unref?.();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Adds one scoring call's figures to the call's totals. */
function addStats(total: RerankStats, part: ScoringStats): void {
  for (const key of [
    'pairs',
    'truncatedPairs',
    'chunks',
    'paddedTokens',
    'queuedMs',
    'tokenizeMs',
    'inferenceMs',
  ] as const) {
    total[key] = (total[key] ?? 0) + part[key];
  }
}

/**
 * The text the model reads for one document: a string as it is; a Document or record with a string `pageContent`
 * as that text, or with `rankFields` as its fields (a Document's metadata and `pageContent`); any other record
 * through `rankFields` or as `key: value` lines.
 */
function textOf(doc: unknown, rankFields: RankFields | undefined, parameter: string): string {
  if (typeof doc === 'string') return doc;
  if (!isRecord(doc)) {
    throw new InvalidArgumentError(
      parameter,
      `expected a Document, a string or a record, got ${describe(doc)}. Convert it to one of those first.`,
    );
  }
  const pageContent = doc['pageContent'];
  if (typeof pageContent === 'string') {
    if (rankFields === undefined) return pageContent;
    const metadata = doc['metadata'];
    if (isRecord(metadata)) return renderRecord({ ...metadata, pageContent }, rankFields, parameter);
  }
  return renderRecord(doc, rankFields, parameter);
}

async function disposeScorer(scorer: Scorer): Promise<void> {
  await (scorer as Partial<{ dispose(): Promise<void> }>).dispose?.();
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

function isInvalidArgument(error: unknown): boolean {
  return CrossEncoderError.isInstance(error) && error.code === 'INVALID_ARGUMENT';
}
