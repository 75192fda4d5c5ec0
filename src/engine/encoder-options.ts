// The options of a `CrossEncoder` as users write them (loading and per call), with their defaults stated once, and
// the checks that need no model: a mistake is an `InvalidArgumentError` naming the option before anything loads.
import { InvalidArgumentError } from '../errors.js';
import { validateRepoPath, type HubOptions } from '../hub/index.js';
import type { TruncationStrategy } from '../tokenize/truncation.js';
import type { ChunkSettings } from '../tokenize/windows.js';
import type { Activation, ScoreOptions, ScoringStats } from '../types.js';
import { describe, requireOptions, validateActivation, validateBatchSize, validateNice } from '../validate.js';
import { checkSessionOptions, type SessionOptions } from './session.js';
import { onnxPathFor, type ModelVariant } from './variant.js';

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

/** Reads the chunking options of `options` over `base`; each must be a positive integer. */
export function chunkSettings(
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
export function checkGgufFile(options: CrossEncoderOptions): string | undefined {
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
