import type { ScorerPool, ModelOption } from '../scorer-pool.js';
import { abortError, InvalidArgumentError } from '../errors.js';
import { renderRecord, validateRankFields, type RankFields } from '../documents/render.js';
import { describe, requireQuery, validateBatchSize, validateSignal, validateTimeoutMs } from '../validate.js';
import {
  SPECIFICATION_VERSION,
  type JSONObject,
  type RerankingCallOptions,
  type RerankingResult,
} from './specification.js';

/** The key of this provider's per-call `providerOptions` and of the `providerMetadata` it returns. */
export const PROVIDER_OPTIONS_KEY = 'crossEncoder';

/** How one reranking model of the provider ranks; each can be overridden per call under `providerOptions.crossEncoder`. */
export interface CrossEncoderRerankingSettings {
  /**
   * What of an object document the model reads (Cohere's `rank_fields`): field names, rendered as `field: value` lines
   * in the order given, or a function returning the text to score. Per call, only field names (JSON).
   * @default undefined (every field, as YAML-like `key: value` lines)
   */
  rankFields?: RankFields;
  /**
   * Most windows a document longer than the model's window is split into; it scores as its best window. Needs a
   * locally loaded model; other scorers ignore it.
   * @default 1 (truncate)
   */
  maxChunksPerDoc?: number;
  /**
   * Longest one call may take in milliseconds, loading excluded; past it the call rejects with an `AbortError`.
   * @default no limit
   */
  timeoutMs?: number;
}

/**
 * A reranking model of the Vercel AI SDK on a cross-encoder: `rerank()` from `ai` 6 or 7 sends it text or object
 * documents and gets back every document's index and score, best first. It implements `RerankingModelV3`, which `ai`
 * 7 also takes (as `RerankingModelV4`, the same interface under a new version tag).
 */
export class CrossEncoderRerankingModel {
  /** The reranking model specification version the AI SDK checks before calling the model. */
  readonly specificationVersion = SPECIFICATION_VERSION;
  /** The provider name the AI SDK reports: the provider's `name` followed by `.reranking`. */
  readonly provider: string;
  /** The hub id or local model folder this model was asked for by. */
  readonly modelId: string;
  // Not `#private`: `ai` 7 calls a v3 model through a Proxy, and a Proxy cannot reach a class's `#` fields.
  private readonly model: ModelOption;
  private readonly pool: ScorerPool;
  private readonly settings: CrossEncoderRerankingSettings;

  /** Built by the provider's `rerankingModel()`; the pool loads `model` once for every model of the provider. */
  constructor(modelId: string, model: ModelOption, pool: ScorerPool, provider: string, settings: unknown = {}) {
    this.modelId = modelId;
    this.provider = provider;
    this.model = model;
    this.pool = pool;
    this.settings = validateSettings(settings, 'settings');
  }

  /**
   * Scores every document against the query and answers their indexes and scores, best first, at most `topN`;
   * called by `rerank()` from `ai`. Bad input rejects with an `InvalidArgumentError`, `abortSignal` with an `AbortError`.
   */
  async doRerank(options: RerankingCallOptions): Promise<RerankingResult> {
    const { documents, query, topN, abortSignal, providerOptions } = options;
    const signal = validateSignal(abortSignal, 'abortSignal');
    if (signal?.aborted) throw abortError('Reranking', signal.reason);
    requireQuery(query, 'query');
    const settings = {
      ...this.settings,
      ...validateSettings(providerOptions?.[PROVIDER_OPTIONS_KEY] ?? {}, 'providerOptions.crossEncoder'),
    };
    const texts = documentTexts(documents, settings.rankFields);
    if (topN !== undefined && (typeof topN !== 'number' || !Number.isInteger(topN) || topN < 0)) {
      throw new InvalidArgumentError('topN', `expected a non-negative integer, got ${describe(topN)}.`);
    }
    const started = new Date();
    const scorer = await this.pool.get(this.model, signal);
    const rankOptions: Record<string, unknown> = {};
    if (topN !== undefined) rankOptions['topK'] = Math.min(topN, texts.length);
    if (signal !== undefined) rankOptions['signal'] = signal;
    if (settings.timeoutMs !== undefined) rankOptions['timeoutMs'] = settings.timeoutMs;
    if (settings.maxChunksPerDoc !== undefined) rankOptions['maxChunksPerDoc'] = settings.maxChunksPerDoc;
    const ranked = texts.length === 0 ? [] : await scorer.rank(query, texts, rankOptions);
    const chunks: JSONObject = {};
    for (const r of ranked) if (r.chunk !== undefined) chunks[String(r.index)] = r.chunk;
    return {
      ranking: ranked.map((r) => ({ index: r.index, relevanceScore: r.score })),
      // Which window of each split document scored, keyed by the document's index.
      ...(Object.keys(chunks).length > 0 ? { providerMetadata: { [PROVIDER_OPTIONS_KEY]: { chunks } } } : {}),
      response: { timestamp: started, modelId: this.modelId },
    };
  }
}

/** The texts the model reads: text documents as they are, object documents rendered (through `rankFields`). */
function documentTexts(documents: RerankingCallOptions['documents'], rankFields: RankFields | undefined): string[] {
  const values: unknown = documents?.values;
  if (!Array.isArray(values)) {
    throw new InvalidArgumentError('documents', `expected { type, values: [...] }, got ${describe(documents)}.`);
  }
  if (documents.type === 'text') {
    return values.map((value: unknown, i) => {
      if (typeof value !== 'string') {
        throw new InvalidArgumentError(
          `documents[${i}]`,
          `expected a string like the first one, got ${describe(value)}.`,
        );
      }
      return value;
    });
  }
  if (documents.type === 'object') {
    return values.map((value: unknown, i) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new InvalidArgumentError(
          `documents[${i}]`,
          `expected an object like the first one, got ${describe(value)}.`,
        );
      }
      return renderRecord(value as JSONObject, rankFields, `documents[${i}]`);
    });
  }
  const type: unknown = (documents as { type?: unknown }).type;
  throw new InvalidArgumentError('documents.type', `expected 'text' or 'object', got ${describe(type)}.`);
}

/** Checks reranking settings given to `rerankingModel()` or per call under `providerOptions.crossEncoder`. */
export function validateSettings(value: unknown, parameter: string): CrossEncoderRerankingSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(parameter, `expected an object of settings, got ${describe(value)}.`);
  }
  const known = new Set(['rankFields', 'maxChunksPerDoc', 'timeoutMs']);
  const unknown = Object.keys(value).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `${parameter}.${unknown[0] as string}`,
      `is not a reranking setting; expected one of ${[...known].join(', ')}.`,
    );
  }
  const { rankFields, maxChunksPerDoc, timeoutMs } = value as Record<string, unknown>;
  const checked: CrossEncoderRerankingSettings = {};
  const fields = validateRankFields(rankFields, `${parameter}.rankFields`);
  if (fields !== undefined) checked.rankFields = fields;
  if (maxChunksPerDoc !== undefined) {
    checked.maxChunksPerDoc = validateBatchSize(maxChunksPerDoc, `${parameter}.maxChunksPerDoc`);
  }
  const ms = validateTimeoutMs(timeoutMs, `${parameter}.timeoutMs`);
  if (ms !== undefined) checked.timeoutMs = ms;
  return checked;
}
