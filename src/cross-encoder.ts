import { InlineBackend, type BackendState, type ScoringBackend } from './engine/backend.js';
import type { PairModelSpec, PairScores } from './engine/pair-model.js';
import { checkExecutionProviders, checkSessionOptions, type SessionOptions } from './engine/session.js';
import { WorkerBackend } from './engine/worker-backend.js';
import { DEFAULT_BATCH_SIZE, textModelFiles, textModelSpec } from './engine/text-model.js';
import { DECODER_FILES, decoderFiles } from './engine/decoder-files.js';
import { AbortError, abortError, DisposedError, InvalidArgumentError } from './errors.js';
import { DEFAULT_MODEL_ID, resolveAndOpen, validateRepoPath, type HubOptions } from './hub/index.js';
import { platform } from './platform/current.js';
import { onnxPathFor, type ModelVariant } from './engine/variant.js';
import type { TruncationStrategy } from './tokenize/truncation.js';
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

/** How a {@link CrossEncoder} is loaded and how it scores. */
export interface CrossEncoderOptions extends HubOptions, SessionOptions {
  /**
   * Which weights to run: `fp32` (`onnx/model.onnx`), `int8` (`onnx/model_quantized.onnx`) or `fp16` (`onnx/model_fp16.onnx`).
   * @default 'fp32'
   */
  variant?: ModelVariant;
  /** A path inside the model to an ONNX file of another name; overrides `variant`. */
  onnxFile?: string;
  /**
   * Rerankers on a language model, Node only: a path inside the model to GGUF weights (e.g.
   * `gguf/model-q8_0.gguf`), run by llama.cpp through `node-llama-cpp` (an optional peer: `npm i node-llama-cpp`)
   * instead of ONNX Runtime. The folder's `tokenizer.json`, chat template and config still build every prompt, so
   * instructions, truncation and `maxChunksPerDoc` are unchanged; the file must be converted as a reranker (its
   * output head holding the "yes" and "no" rows, as `tools/gguf_export.py` and llama.cpp's converter write it).
   * Runs on the CPU with `threads`; cannot be combined with `variant`, `onnxFile` or the ONNX Runtime options.
   */
  ggufFile?: string;
  /**
   * Longest pair in tokens, special tokens included. Capped to what the model supports
   * (the tokenizer's `model_max_length` and the position embeddings).
   * A reranker on a language model defaults to at most 8192 tokens, the length Qwen3-Reranker's own usage truncates
   * to: its context (40,960 tokens for Qwen3-Reranker) would let one long document take gigabytes of cache and
   * attention; at 8192 the 0.6B model in fp32 stays within a few GB. Raise it to read longer documents whole.
   * @default the model's maximum (at most 8192 for a reranker on a language model), or 512 when the model declares none
   */
  maxLength?: number;
  /**
   * Most pairs in one forward pass.
   * @default 32
   */
  batchSize?: number;
  /**
   * Most padded tokens in one forward pass: the pairs of a pass times its longest pair. Pairs are sorted by length,
   * so long pairs share a pass with fewer others; this cuts padding and bounds memory. A pass always holds one pair.
   * @default 1024, or 2048 for models narrower than 256 hidden units (they pay more per pass)
   */
  maxBatchTokens?: number;
  /**
   * How logits become scores. `'auto'`: for a one-logit model, sigmoid unless sentence-transformers saved it with
   * Identity (then raw logits); for a two-class model, softmax (the probability of the second class).
   * `'none'` gives raw logits (the second column of a two-class model).
   * @default 'auto'
   */
  activation?: Activation;
  /**
   * How an over-long pair is cut.
   * @default 'longest_first'
   */
  truncation?: TruncationStrategy;
  /**
   * Most windows a document longer than `maxLength` is split into (Cohere's `max_chunks_per_doc`). Each window
   * holds the query and a stretch of the document; the document scores as its best window. `1` truncates instead.
   * Scoring cost grows with the windows scored.
   * @default 1
   */
  maxChunksPerDoc?: number;
  /**
   * Document tokens per window when documents are split.
   * @default all the room the query leaves in `maxLength`
   */
  chunkTokens?: number;
  /**
   * Tokens from the start of one window to the start of the next when documents are split.
   * @default half of a window, so neighbouring windows overlap by half
   */
  chunkStride?: number;
  /**
   * The task description a reranker on a language model (Qwen3-Reranker, mxbai-rerank-v2) reads before the query,
   * e.g. `'Given a scientific claim, retrieve passages that support or refute it'`. It reaches the model's chat
   * template as a system message, as sentence-transformers' `prompt` does. Cross-encoders take none: setting it
   * for one is an error.
   * @default the instruction the model's chat template writes when given none
   */
  instruction?: string;
  /**
   * Run tokenization and inference in a worker (a worker thread on Node, a Web Worker in browsers), so the event
   * loop (a page's main thread) stays free while a model computes. `false` runs them on the calling thread: no
   * worker start-up, but each batch blocks the loop.
   * @default true
   */
  worker?: boolean;
  /**
   * The URL of the package's worker script (`dist/worker.js` on Node, `dist/web-worker.js` in browsers), for
   * bundler setups that serve it somewhere else.
   * @default the script beside the package's own code
   */
  workerUrl?: string | URL;
  /**
   * Linux only: the nice value (0-19) of the worker thread and of the ONNX Runtime threads it starts. A higher value
   * lets the event loop take the CPU first whenever both want it; the scores are unchanged, but scoring then also
   * yields to every other process at a lower value, so on a shared machine it gets slower. 0 keeps the caller's
   * priority. Other systems set priorities per process, so there it is ignored. No effect with `worker: false`.
   * @default 0
   */
  workerNice?: number;
}

// Measured (bench/event-loop.ts): the worker alone keeps the loop under 20 ms; a lower priority trims the delay
// further but costs throughput whenever anything else wants the CPU, so it is opt-in.
const DEFAULT_WORKER_NICE = 0;

/** What a loaded model turned out to be. */
export interface CrossEncoderInfo {
  /** The hub id, local folder or folder URL it was loaded from. */
  model: string;
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

/** Reads the chunking options of `options` over `base`; each must be a positive integer. */
function chunkSettings(
  options: Pick<CrossEncoderOptions, 'maxChunksPerDoc' | 'chunkTokens' | 'chunkStride'>,
  prefix: string,
  base: ChunkSettings,
): ChunkSettings {
  const { maxChunksPerDoc, chunkTokens, chunkStride } = options;
  const settings = {
    maxChunks:
      maxChunksPerDoc === undefined ? base.maxChunks : validateBatchSize(maxChunksPerDoc, `${prefix}.maxChunksPerDoc`),
    chunkTokens: chunkTokens === undefined ? base.chunkTokens : validateBatchSize(chunkTokens, `${prefix}.chunkTokens`),
    strideTokens:
      chunkStride === undefined ? base.strideTokens : validateBatchSize(chunkStride, `${prefix}.chunkStride`),
  };
  if (settings.strideTokens !== undefined && settings.chunkTokens !== undefined) {
    if (settings.strideTokens > settings.chunkTokens) {
      throw new InvalidArgumentError(
        `${prefix}.chunkStride`,
        `a stride of ${settings.strideTokens} tokens is longer than a window of ${settings.chunkTokens} (chunkTokens), ` +
          'so the tokens between windows would never be read; use a stride of at most chunkTokens.',
      );
    }
  }
  return settings;
}

/**
 * Checks every load option that can be checked without the model, so a mistake is an `InvalidArgumentError` naming
 * the option before anything is downloaded or opened (and never hidden by a reranker's fallback).
 */
export function checkLoadOptions(options: CrossEncoderOptions): void {
  requireOptions(options);
  if (options.batchSize !== undefined) validateBatchSize(options.batchSize, 'options.batchSize');
  if (options.maxBatchTokens !== undefined) validateBatchSize(options.maxBatchTokens, 'options.maxBatchTokens');
  chunkSettings(options, 'options', { maxChunks: 1, chunkTokens: undefined, strideTokens: undefined });
  const truncation = options.truncation ?? 'longest_first';
  if (truncation !== 'longest_first' && truncation !== 'only_second') {
    throw new InvalidArgumentError(
      'options.truncation',
      `expected 'longest_first' or 'only_second', got ${describe(truncation)}.`,
    );
  }
  validateActivation(options.activation, 'options.activation');
  if (options.workerNice !== undefined) validateNice(options.workerNice);
  validateRepoPath(onnxPathFor(options.variant, options.onnxFile), 'options.onnxFile');
  checkGgufFile(options);
  checkSessionOptions(options);
}

/** `ggufFile`: a `.gguf` path inside the model, and none of the options that only ONNX Runtime reads. */
function checkGgufFile(options: CrossEncoderOptions): string | undefined {
  if (options.ggufFile === undefined) return undefined;
  const file = validateRepoPath(options.ggufFile, 'options.ggufFile');
  if (!file.toLowerCase().endsWith('.gguf')) {
    throw new InvalidArgumentError('options.ggufFile', `expected a path ending in .gguf, got ${describe(file)}.`);
  }
  const onnxOnly = (['variant', 'onnxFile', 'executionProviders', 'ortOptions', 'wasmPaths'] as const).filter(
    (key) => options[key] !== undefined,
  );
  if (onnxOnly.length > 0) {
    throw new InvalidArgumentError(
      'options.ggufFile',
      `GGUF weights run with llama.cpp, which does not read ${onnxOnly.join(', ')}: leave ` +
        `${onnxOnly.length === 1 ? 'it' : 'them'} out, or leave ggufFile out to run the ONNX files.`,
    );
  }
  return file;
}

/** Per-call options of {@link CrossEncoder.score}. */
export interface CrossEncoderScoreOptions extends ScoreOptions {
  /** Activation for this call only; the model's setting is unchanged for later calls. */
  activation?: Activation;
  /**
   * See `CrossEncoderOptions.instruction`; for this call only.
   * @default the model's setting
   */
  instruction?: string;
  /**
   * See `CrossEncoderOptions.maxChunksPerDoc`.
   * @default the model's setting (1)
   */
  maxChunksPerDoc?: number;
  /**
   * See `CrossEncoderOptions.chunkTokens`.
   * @default the model's setting
   */
  chunkTokens?: number;
  /**
   * See `CrossEncoderOptions.chunkStride`.
   * @default the model's setting
   */
  chunkStride?: number;
  /** Called once the call has scored, with what it cost (pairs, windows, padded tokens, time per stage). */
  onStats?: (stats: ScoringStats) => void;
}

/** Per-call options of {@link CrossEncoder.rank}. */
export interface CrossEncoderRankOptions extends CrossEncoderScoreOptions {
  /** Keep only the best `topK` results. Defaults to all documents. */
  topK?: number;
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
  async encode(query: string, passage: string): Promise<{ ids: number[]; typeIds: number[] }> {
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
