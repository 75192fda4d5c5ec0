import type { MessageContent } from '@llamaindex/core/llms';
import type { BaseNodePostprocessor } from '@llamaindex/core/postprocessor';
import { MetadataMode, type NodeWithScore } from '@llamaindex/core/schema';
import { DEFAULT_MODEL, type CrossEncoderOptions } from '../cross-encoder.js';
import { abortError, InvalidArgumentError } from '../errors.js';
import { ScorerPool, validateModel, type ModelOption } from '../scorer-pool.js';
import { describe, requireQuery, validateBatchSize, validateSignal, validateTimeoutMs } from '../validate.js';

/** How a {@link CrossEncoderNodePostprocessor} loads its model and picks nodes. */
export interface CrossEncoderNodePostprocessorOptions extends CrossEncoderOptions {
  /**
   * A hub id or local model folder loaded on first use, or a ready scorer (a `CrossEncoder`, a `RemoteScorer`, a
   * `FakeScorer` in tests), which the postprocessor never disposes.
   * @default DEFAULT_MODEL ('Xenova/ms-marco-MiniLM-L-6-v2')
   */
  model?: ModelOption;
  /**
   * How many nodes to keep, best first.
   * @default 3
   */
  topN?: number;
  /**
   * Nodes scoring below this are dropped, even when fewer than `topN` remain.
   * @default undefined (no threshold)
   */
  minScore?: number;
  /**
   * Which of a node's text the model reads, as `node.getContent(mode)`: `EMBED` is what the embedding model read
   * (content with the metadata not excluded from embedding), `NONE` the content alone.
   * @default MetadataMode.EMBED
   */
  metadataMode?: MetadataMode;
  /**
   * Most windows a node longer than the model's window is split into; it scores as its best window. Needs a locally
   * loaded model; other scorers ignore it.
   * @default 1 (truncate)
   */
  maxChunksPerDoc?: number;
  /**
   * Longest one call may take in milliseconds, loading excluded; past it the call rejects with an `AbortError`.
   * @default no limit
   */
  timeoutMs?: number;
  /** Stops every call of this postprocessor between batches; calls then reject with an `AbortError`. */
  signal?: AbortSignal;
}

/**
 * A LlamaIndex.TS node postprocessor that reranks retrieved nodes with a cross-encoder: use it as a query engine's
 * `nodePostprocessors`. It returns new `NodeWithScore` entries, best first, at most `topN`, each holding the same
 * node (metadata and all) with the cross-encoder's score; the nodes it was given are left as they were.
 *
 * @example
 * const queryEngine = index.asQueryEngine({
 *   similarityTopK: 20,
 *   nodePostprocessors: [new CrossEncoderNodePostprocessor({ topN: 4 })],
 * });
 */
export class CrossEncoderNodePostprocessor implements BaseNodePostprocessor {
  /** Most nodes returned. */
  readonly topN: number;
  /** Nodes scoring below this are dropped. */
  readonly minScore: number | undefined;
  /** What of a node the model reads (`node.getContent(mode)`). */
  readonly metadataMode: MetadataMode;
  /** Most token windows a long node is split into; unset truncates. */
  readonly maxChunksPerDoc: number | undefined;
  /** A call running longer rejects with `AbortError`. */
  readonly timeoutMs: number | undefined;
  readonly #model: ModelOption;
  readonly #pool: ScorerPool;
  readonly #signal: AbortSignal | undefined;

  constructor(options: CrossEncoderNodePostprocessorOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options', `expected an object of options, got ${describe(options)}.`);
    }
    const {
      model = DEFAULT_MODEL,
      topN = 3,
      minScore,
      metadataMode = MetadataMode.EMBED,
      maxChunksPerDoc,
      timeoutMs,
      signal,
      ...loadOptions
    } = options;
    this.#model = validateModel(model, 'model');
    if (typeof this.#model !== 'string' && Object.values(loadOptions).some((value) => value !== undefined)) {
      throw new InvalidArgumentError(
        Object.keys(loadOptions)[0] as string,
        'loading options only apply when the postprocessor loads the model itself; pass them to the scorer you built.',
      );
    }
    if (typeof topN !== 'number' || !Number.isInteger(topN) || topN < 0) {
      throw new InvalidArgumentError('topN', `expected a non-negative integer, got ${describe(topN)}.`);
    }
    this.topN = topN;
    if (minScore !== undefined && (typeof minScore !== 'number' || Number.isNaN(minScore))) {
      throw new InvalidArgumentError('minScore', `expected a number, got ${describe(minScore)}.`);
    }
    this.minScore = minScore;
    if (!Object.values(MetadataMode).includes(metadataMode)) {
      throw new InvalidArgumentError(
        'metadataMode',
        `expected one of ${Object.values(MetadataMode).join(', ')}, got ${describe(metadataMode)}.`,
      );
    }
    this.metadataMode = metadataMode;
    this.maxChunksPerDoc =
      maxChunksPerDoc === undefined ? undefined : validateBatchSize(maxChunksPerDoc, 'maxChunksPerDoc');
    this.timeoutMs = validateTimeoutMs(timeoutMs, 'timeoutMs');
    this.#signal = validateSignal(signal, 'signal');
    this.#pool = new ScorerPool(loadOptions);
  }

  /**
   * The nodes reranked for `query`, best first, at most `topN`, each with the cross-encoder's score. A query engine
   * passes the query it was asked; the text parts of a multi-part message are read, joined by newlines.
   */
  async postprocessNodes(nodes: NodeWithScore[], query?: MessageContent): Promise<NodeWithScore[]> {
    if (!Array.isArray(nodes)) {
      throw new InvalidArgumentError('nodes', `expected an array of NodeWithScore, got ${describe(nodes)}.`);
    }
    const text = requireQuery(queryText(query), 'query');
    if (nodes.length === 0 || this.topN === 0) return [];
    const contents = nodes.map((entry, i) => {
      const node = (entry as Partial<NodeWithScore> | null)?.node;
      if (typeof node?.getContent !== 'function') {
        throw new InvalidArgumentError(`nodes[${i}]`, `expected a NodeWithScore with a node, got ${describe(entry)}.`);
      }
      return node.getContent(this.metadataMode);
    });
    const signal = this.#signal;
    if (signal?.aborted) throw abortError('Reranking', signal.reason);
    const scorer = await this.#pool.get(this.#model, signal);
    const rankOptions: Record<string, unknown> = {};
    if (signal !== undefined) rankOptions['signal'] = signal;
    if (this.timeoutMs !== undefined) rankOptions['timeoutMs'] = this.timeoutMs;
    if (this.maxChunksPerDoc !== undefined) rankOptions['maxChunksPerDoc'] = this.maxChunksPerDoc;
    const ranked = await scorer.rank(text, contents, rankOptions);
    const minScore = this.minScore;
    return ranked
      .filter((r) => minScore === undefined || r.score >= minScore)
      .slice(0, this.topN)
      .map((r) => ({ node: (nodes[r.index] as NodeWithScore).node, score: r.score }));
  }

  /** Frees a model the postprocessor loaded; a later call loads it again. A scorer passed in is left alone. */
  dispose(): Promise<void> {
    return this.#pool.dispose();
  }
}

/** The text of a query: a string as it is, or the text parts of a multi-part message. */
function queryText(query: MessageContent | undefined): unknown {
  if (query === undefined) {
    throw new InvalidArgumentError(
      'query',
      'a reranker needs the query; call postprocessNodes(nodes, query), as query engines do.',
    );
  }
  if (!Array.isArray(query)) return query;
  return query
    .filter((part): part is { type: 'text'; text: string } => part?.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
}
