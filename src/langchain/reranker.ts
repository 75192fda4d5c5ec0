import type { Callbacks } from '@langchain/core/callbacks/manager';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { validateRankFields, type RankFields } from '../documents/render.js';
import { InvalidArgumentError } from '../errors.js';
import type { Activation } from '../types.js';
import {
  describe,
  requireOptions,
  requireQuery,
  validateBatchSize,
  validateSignal,
  validateTimeoutMs,
} from '../validate.js';
import { fallsBack } from './budget.js';
import { RerankDeadline } from './deadline.js';
import { firstStageOrder, firstStageScores, orderResults, type Fusion, type Ranked } from './fusion.js';
import type { ModelLease } from './models.js';
import type {
  CrossEncoderRerankerOptions,
  CrossEncoderRerankOptions,
  RerankInput,
  RerankResult,
  RerankStats,
} from './options.js';
import { startRun } from './run.js';
import { scoreDocuments } from './scoring.js';
import { checkModelName, readSettings, validateMinScore, validateTopN, type RerankerSettings } from './settings.js';
import { CallStats, reportStats } from './stats.js';
import { documentTexts, inputTexts } from './texts.js';

export type {
  CrossEncoderRerankerOptions,
  CrossEncoderRerankOptions,
  RerankInput,
  RerankResult,
  RerankStats,
} from './options.js';
export { PER_CALL_MODELS } from './models.js';

/** What one call ranks with: the reranker's settings with the call's own over them. */
interface Call {
  lease: ModelLease;
  topN: number;
  minScore: number | undefined;
  maxChunksPerDoc: number | undefined;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  /** The option the timeout came from, named in the timeout's message. */
  timeoutSetting: string;
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
  /** Pairs per forward pass; unset uses the scorer's own. */
  readonly batchSize: number | undefined;
  /** How logits become scores; unset uses the scorer's own. */
  readonly activation: Activation | undefined;
  /** Documents scoring below this are dropped; unset keeps them all. */
  readonly minScore: number | undefined;
  /** Longest one call may take in milliseconds, model loading included; unset sets no limit. */
  readonly timeoutMs: number | undefined;
  /** Most windows a document longer than the model's window is split into. */
  readonly maxChunksPerDoc: number | undefined;
  /** The task description sent with every call to a reranker on a language model; unset uses the model's own. */
  readonly instruction: string | undefined;
  /** Document tokens per window when documents are split; unset fills the room the query leaves. */
  readonly chunkTokens: number | undefined;
  /** Tokens from one window's start to the next when documents are split. */
  readonly chunkStride: number | undefined;
  /** How the cross-encoder's order is blended with the first stage's; unset ranks by the cross-encoder alone. */
  readonly fusion: Fusion | undefined;
  /** Milliseconds a call may spend scoring before the documents left keep their input order; unset scores all. */
  readonly budgetMs: number | undefined;
  /** What a call does when loading or scoring fails or it times out: reject, or keep the first-stage order. */
  readonly fallback: 'throw' | 'first-stage';
  /** What of a structured document the model reads; unset reads `pageContent`, or every field of a record. */
  readonly rankFields: RankFields | undefined;
  readonly #settings: RerankerSettings;
  #topN: number;
  /** The deadline of every call in progress, so `dispose()` can stop them all. */
  readonly #calls = new Set<RerankDeadline>();

  constructor(fields: CrossEncoderRerankerOptions = {}) {
    super();
    const settings = readSettings(fields);
    this.#settings = settings;
    this.model = settings.model;
    this.#topN = settings.topN;
    this.batchSize = settings.batchSize;
    this.activation = settings.activation;
    this.minScore = settings.minScore;
    this.timeoutMs = settings.timeoutMs;
    this.maxChunksPerDoc = settings.maxChunksPerDoc;
    this.instruction = settings.instruction;
    this.chunkTokens = settings.chunkTokens;
    this.chunkStride = settings.chunkStride;
    this.fusion = settings.fusion;
    this.budgetMs = settings.budgetMs;
    this.fallback = settings.fallback;
    this.rankFields = settings.rankFields;
  }

  /** How many documents a call returns at most: a positive integer, checked when set. */
  get topN(): number {
    return this.#topN;
  }

  /** Sets `topN` for later calls; anything but a positive integer throws an `InvalidArgumentError`. */
  set topN(value: number) {
    this.#topN = validateTopN(value, 'topN');
  }

  /** Loads the model now instead of on the first query, e.g. at server start. Resolves once it can score. */
  async warmup(): Promise<void> {
    const lease = this.#settings.models.lease();
    await lease.loaded.get();
  }

  /**
   * Stops every call in progress (each rejects with an `AbortError`) and frees the models the reranker loaded
   * itself, within one batch of the call being scored. A scorer passed in as `model` is left alone: its owner
   * disposes it. Later calls reject with `DisposedError`, as a disposed `CrossEncoder`'s do; twice is harmless.
   */
  async dispose(): Promise<void> {
    const reason = new DOMException('The reranker was disposed.', 'AbortError');
    for (const call of this.#calls) call.abort(reason);
    this.#calls.clear();
    await this.#settings.models.dispose();
  }

  /**
   * Reranks `documents` for `query`: new Documents, best first, at most `topN`, each with
   * `metadata.relevanceScore`. `id`, `pageContent` and other metadata are kept; the inputs are not modified.
   * The reranking is reported as a child retriever run, with the call's figures as a `cross_encoder_stats` custom
   * event: of the callbacks given (as ContextualCompressionRetriever passes them), or else of the run it is called
   * from (a `tool()`, a runnable, an agent), found in @langchain/core's async context.
   */
  override async compressDocuments(
    documents: DocumentInterface[],
    query: string,
    callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    this.#settings.models.ensureLive();
    if (!Array.isArray(documents)) {
      throw new InvalidArgumentError('documents', `expected an array of Documents, got ${describe(documents)}.`);
    }
    if (documents.length === 0) return [];
    requireQuery(query, 'query');
    const texts = documentTexts(documents, this.rankFields);
    const firstStage = firstStageScores(documents, this.fusion);
    const call: Call = {
      lease: this.#settings.models.lease(),
      topN: this.topN,
      minScore: this.minScore,
      maxChunksPerDoc: this.maxChunksPerDoc,
      signal: undefined,
      timeoutMs: this.timeoutMs,
      timeoutSetting: 'timeoutMs',
    };
    const run = await startRun(callbacks, query, { topN: call.topN, model: this.model, documents: documents.length });
    try {
      const { ranked, stats } = await this.#rank(query, texts, firstStage, call);
      const result = ranked.map((r) => annotate(documents[r.index] as DocumentInterface, r, this.#marksReranked));
      await reportStats(run, stats);
      await run?.handleRetrieverEnd(result);
      return result;
    } catch (error) {
      await run?.handleRetrieverError(error);
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
    this.#settings.models.ensureLive();
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
    const model = options.model === undefined ? undefined : checkModelName(options.model, 'options.model');
    const texts = inputTexts(documents, rankFields);
    if (texts.length === 0) return [];
    const firstStage = firstStageScores(documents, this.fusion);
    const call: Call = {
      lease: this.#settings.models.lease(model),
      topN,
      minScore,
      maxChunksPerDoc,
      signal,
      timeoutMs: timeoutMs ?? this.timeoutMs,
      timeoutSetting: timeoutMs === undefined ? 'timeoutMs' : 'options.timeoutMs',
    };
    const { ranked } = await this.#rank(query, texts, firstStage, call);
    return ranked.map((r) => {
      const out: RerankResult = { index: r.index, relevanceScore: r.relevanceScore };
      if (this.#marksReranked) out.reranked = r.reranked;
      if (r.chunk !== undefined) out.chunk = r.chunk;
      return out;
    });
  }

  /** Whether results say which documents were scored: only when some may not be. */
  get #marksReranked(): boolean {
    return this.budgetMs !== undefined || this.fallback === 'first-stage';
  }

  /**
   * The pipeline of one call: score under the call's deadline (within the budget, if any), then order (fused with
   * the first stage, if asked), or fall back to the first stage's order; the figures go to `onStats` either way.
   */
  async #rank(
    query: string,
    texts: string[],
    firstStage: number[] | undefined,
    call: Call,
  ): Promise<{ ranked: Ranked[]; stats: RerankStats }> {
    const stats = new CallStats(texts.length);
    const deadline = new RerankDeadline(call.signal, call.timeoutMs, call.timeoutSetting);
    this.#calls.add(deadline);
    try {
      if (deadline.signal.aborted) throw deadline.error();
      let ranked: Ranked[];
      try {
        const scored = await scoreDocuments(query, texts, {
          lease: call.lease,
          deadline,
          stats,
          settings: this.#settings,
          maxChunksPerDoc: call.maxChunksPerDoc,
          budgetMs: this.budgetMs,
        });
        stats.reranked(scored.length);
        ranked = orderResults(scored, texts.length, { fusion: this.fusion, firstStage, ...call });
      } catch (error) {
        if (!fallsBack(this.fallback, error, deadline)) throw error;
        stats.fellBack(error);
        ranked = firstStageOrder(0, texts.length).slice(0, call.topN);
      }
      return { ranked, stats: stats.finish(this.#settings.onStats) };
    } finally {
      deadline.dispose();
      this.#calls.delete(deadline);
      call.lease.release();
    }
  }
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
