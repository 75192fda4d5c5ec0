import { InlineBackend, type BackendState, type ScoringBackend } from './engine/backend.js';
import type { PairModelSpec, PairScores } from './engine/pair-model.js';
import { checkExecutionProviders } from './engine/session.js';
import {
  checkGgufFile,
  checkLoadOptions,
  chunkSettings,
  type CrossEncoderOptions,
  type CrossEncoderRankOptions,
  type CrossEncoderScoreOptions,
} from './engine/encoder-options.js';
import { WorkerBackend } from './engine/worker-backend.js';
import { DEFAULT_BATCH_SIZE, textModelFiles, textModelSpec } from './engine/text-model.js';
import { DECODER_FILES, decoderFiles } from './engine/decoder-files.js';
import { AbortError, abortError, DisposedError, InvalidArgumentError } from './errors.js';
import { DEFAULT_MODEL_ID, resolveAndOpen, validateRepoPath } from './hub/index.js';
import { platform } from './platform/current.js';
import { onnxPathFor } from './engine/variant.js';
import type { ChunkSettings } from './tokenize/windows.js';
import type { ResolvedActivation } from './engine/activation.js';
import type { Activation, RankOptions, RankResult, ScoreOptions, ScoringStats, TextPair } from './types.js';
import { callDeadline } from './engine/deadline.js';
import { rankByScore } from './ranking.js';
import {
  checkInstruction,
  describe,
  requireOptions,
  requirePair,
  requireQuery,
  requireText,
  validateActivation,
  validateBatchSize,
  validateNice,
  validateSignal,
  validateTimeoutMs,
  validateTopK,
} from './validate.js';

/**
 * What a reranker needs from a model: scores for pairs, and a query's documents
 * ranked best first. `CrossEncoder` implements it; so can a remote service or a test double.
 */
export interface Scorer {
  /** One score per pair, in the order given. An empty list resolves to `[]` without touching the model. */
  score(pairs: readonly TextPair[], options?: ScoreOptions): Promise<number[]>;
  /** The documents ranked by score for `query`, best first; ties keep the caller's order. */
  rank(query: string, documents: readonly string[], options?: RankOptions): Promise<RankResult[]>;
}

/** The hub model used when none is named: a 22M-parameter MS MARCO reranker in the transformers.js layout. */
export const DEFAULT_MODEL = DEFAULT_MODEL_ID;

// Measured (bench/event-loop.ts): the worker alone keeps the loop under 20 ms; a lower priority trims the delay
// further but costs throughput whenever anything else wants the CPU, so it is opt-in.
const DEFAULT_WORKER_NICE = 0;

export {
  checkLoadOptions,
  type CrossEncoderOptions,
  type CrossEncoderRankOptions,
  type CrossEncoderScoreOptions,
} from './engine/encoder-options.js';

/** What a loaded model turned out to be. */
export interface CrossEncoderInfo {
  /** The hub id, local folder or folder URL it was loaded from. */
  model: string;
  /** Where it came from: a local folder, the hub (or a mirror), or a folder URL (browsers). */
  source: 'local' | 'hub' | 'url';
  /** The weights file in use (the ONNX file, or the GGUF file with `ggufFile`): its absolute path on Node, its URL in browsers. */
  onnxPath: string;
  /** Graph inputs fed, e.g. without `token_type_ids` for XLM-R rerankers. */
  inputs: readonly string[];
  /** Logits per pair. */
  numLabels: number;
  /** Effective maximum pair length in tokens. */
  maxLength: number;
  /** Effective most padded tokens per forward pass. */
  maxBatchTokens: number;
  /** Effective activation. */
  activation: ResolvedActivation;
  /** Whether a worker does the computing. */
  worker: boolean;
}

/** A call's options once checked. */
interface CallSettings {
  batchSize: number;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  activation: Activation | undefined;
  chunks: ChunkSettings;
  instruction: string | undefined;
  onStats: ((stats: ScoringStats) => void) | undefined;
}

/**
 * A cross-encoder reranker running locally on ONNX Runtime with the model's own tokenizer.
 * Scores match sentence-transformers' `CrossEncoder.predict` on the same weights.
 *
 * @example
 * const model = await CrossEncoder.load('Xenova/ms-marco-MiniLM-L-6-v2');
 * const ranked = await model.rank('what is a cross-encoder?', passages, { topK: 3 });
 */
export class CrossEncoder implements Scorer {
  /** What was loaded: model, weights file, inputs, labels, maximum length, activation. */
  readonly info: CrossEncoderInfo;
  readonly #backend: ScoringBackend;
  readonly #batchSize: number;
  readonly #chunks: ChunkSettings;
  #disposed: Promise<void> | undefined;

  private constructor(info: CrossEncoderInfo, backend: ScoringBackend, batchSize: number, chunks: ChunkSettings) {
    this.info = Object.freeze(info);
    this.#backend = backend;
    this.#batchSize = batchSize;
    this.#chunks = chunks;
  }

  /**
   * Loads a model from a local folder (hub layout: `config.json`, `tokenizer.json`, `onnx/model.onnx`) or a
   * Hugging Face hub id, downloading it once into the cache. In browsers, a model folder is named by its URL
   * (absolute, or relative to the page) and downloads are kept with the Cache API.
   */
  static async load(model: string = DEFAULT_MODEL, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
    if (typeof model !== 'string' || model.trim() === '') {
      throw new InvalidArgumentError(
        'model',
        `expected a hub id, a local folder or a folder URL, got ${describe(model)}.`,
      );
    }
    checkLoadOptions(options);
    await checkExecutionProviders(options);
    const batchSize =
      options.batchSize === undefined ? DEFAULT_BATCH_SIZE : validateBatchSize(options.batchSize, 'options.batchSize');
    const chunks = chunkSettings(options, 'options', {
      maxChunks: 1,
      chunkTokens: undefined,
      strideTokens: undefined,
    });
    const truncation = options.truncation ?? 'longest_first';
    const ggufFile = checkGgufFile(options);
    // The file whose weights run: ONNX, or GGUF for llama.cpp.
    const weightsFile =
      ggufFile ?? validateRepoPath(onnxPathFor(options.variant, options.onnxFile), 'options.onnxFile');
    const instruction = checkInstruction(options.instruction, 'options.instruction');
    const files = textModelFiles(
      weightsFile,
      ['config_sentence_transformers.json', 'modules.json', ...DECODER_FILES],
      ggufFile === undefined,
    );
    const useWorker = options.worker ?? true;
    const nice = options.workerNice === undefined ? DEFAULT_WORKER_NICE : validateNice(options.workerNice);
    const workerUrl = options.workerUrl;
    if (workerUrl !== undefined && typeof workerUrl !== 'string' && !(workerUrl instanceof URL)) {
      throw new InvalidArgumentError('options.workerUrl', `expected a string or URL, got ${describe(workerUrl)}.`);
    }
    const { resolved, opened } = await resolveAndOpen(
      platform.models,
      model,
      files,
      weightsFile,
      options,
      async (resolved) => {
        const spec: PairModelSpec = {
          ...textModelSpec(resolved, weightsFile, options),
          ggufPath: ggufFile === undefined ? undefined : resolved.files.get(ggufFile),
          maxLength: options.maxLength,
          maxBatchTokens: options.maxBatchTokens,
          truncation,
          activation: options.activation ?? 'auto',
          instruction,
          decoder: decoderFiles(resolved),
        };
        const backend = useWorker
          ? await WorkerBackend.open(spec, { nice, workerUrl })
          : await InlineBackend.open(spec);
        return { spec, backend };
      },
    );
    const { spec, backend } = opened;
    return new CrossEncoder(
      { model, source: resolved.source, onnxPath: spec.onnxPath, ...backend.info, worker: useWorker },
      backend,
      batchSize,
      chunks,
    );
  }

  /**
   * Scores (query, passage) pairs, one number per pair in the order given (sentence-transformers' `predict`).
   * Pairs are sorted by length into batches so padding stays small; the order of the result is the caller's.
   */
  async score(pairs: readonly TextPair[], callOptions?: CrossEncoderScoreOptions): Promise<number[]> {
    this.#assertUsable();
    const options: CrossEncoderScoreOptions = requireOptions(callOptions);
    if (!Array.isArray(pairs)) {
      throw new InvalidArgumentError('pairs', `expected an array of [query, passage] pairs, got ${describe(pairs)}.`);
    }
    const call = this.#callSettings(options);
    // An index loop, not forEach: a hole in a sparse array is a missing pair, not one to skip.
    for (let i = 0; i < pairs.length; i++) requirePair(pairs[i], i);
    const result = await this.#score(pairs, call);
    return result === undefined ? [] : Array.from(result.scores);
  }

  /**
   * Ranks `documents` for `query`, best first (sentence-transformers' `rank`). `index` points into `documents`;
   * equal scores keep the caller's order. When documents are split into windows, `chunk` says which one scored.
   */
  async rank(
    query: string,
    documents: readonly string[],
    callOptions?: CrossEncoderRankOptions,
  ): Promise<RankResult[]> {
    this.#assertUsable();
    const options: CrossEncoderRankOptions = requireOptions(callOptions);
    requireQuery(query, 'query');
    if (!Array.isArray(documents)) {
      throw new InvalidArgumentError('documents', `expected an array of strings, got ${describe(documents)}.`);
    }
    const topK = validateTopK(options.topK, documents.length);
    if (documents.length === 0) return [];
    for (let i = 0; i < documents.length; i++) requireText(documents[i], `documents[${i}]`);
    const call = this.#callSettings(options);
    const result = await this.#score(
      Array.from(documents, (doc): TextPair => [query, doc]),
      call,
    );
    if (result === undefined) return [];
    return rankByScore(Array.from(result.scores), topK, result.windows);
  }

  /**
   * Whether the model can score now: `restarting` while a worker that died is being replaced (calls made meanwhile
   * wait for it), `failed` once it died past its restart budget, `disposed` after `dispose()`.
   */
  get state(): BackendState {
    if (this.#disposed !== undefined) return 'disposed';
    return this.#backend.state ?? 'ready';
  }

  /** The model input for one pair, after truncation: what parity tests compare with Python. */
  async encode(
    query: string,
    passage: string,
  ): Promise<{
    /** Token ids of the pair. */ ids: number[];
    /** Token type ids (segment ids) of the pair. */ typeIds: number[];
  }> {
    this.#assertUsable();
    return this.#backend.encode(requireText(query, 'query'), requireText(passage, 'passage'));
  }

  /**
   * Frees the ONNX session and its thread. Calls queued or running reject with an `AbortError`, and the promise
   * resolves within one batch of the call in progress, however large. Later calls throw `DisposedError`; calling it
   * twice is harmless.
   */
  dispose(): Promise<void> {
    this.#disposed ??= this.#backend.release();
    return this.#disposed;
  }

  /** Checks the per-call options once; `null` is refused like any other non-number, not read as "the default". */
  #callSettings(options: CrossEncoderScoreOptions): CallSettings {
    const { onStats } = options;
    if (onStats !== undefined && typeof onStats !== 'function') {
      throw new InvalidArgumentError('options.onStats', `expected a function, got ${describe(onStats)}.`);
    }
    return {
      batchSize:
        options.batchSize === undefined ? this.#batchSize : validateBatchSize(options.batchSize, 'options.batchSize'),
      signal: validateSignal(options.signal, 'options.signal'),
      timeoutMs: validateTimeoutMs(options.timeoutMs, 'options.timeoutMs'),
      activation: validateActivation(options.activation, 'options.activation'),
      chunks: chunkSettings(options, 'options', this.#chunks),
      instruction: checkInstruction(options.instruction, 'options.instruction'),
      onStats,
    };
  }

  /** Scores pairs already checked by the public method that called it; `undefined` for no pairs. */
  async #score(pairs: readonly TextPair[], call: CallSettings): Promise<PairScores | undefined> {
    if (pairs.length === 0) return undefined;
    const { signal } = call;
    if (signal?.aborted) throw abortError('Scoring', signal.reason);
    const deadline = callDeadline(signal, call.timeoutMs);
    try {
      const result = await this.#backend.score(pairs, {
        batchSize: call.batchSize,
        activation: call.activation,
        chunks: call.chunks,
        instruction: call.instruction,
        signal: deadline.signal,
      });
      call.onStats?.({ ...result.stats });
      return result;
    } catch (error) {
      if (deadline.timedOut && AbortError.isInstance(error)) throw deadline.error('Scoring');
      throw error;
    } finally {
      deadline.dispose();
    }
  }

  #assertUsable(): void {
    if (this.#disposed !== undefined) throw new DisposedError();
  }
}
