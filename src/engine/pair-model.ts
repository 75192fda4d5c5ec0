import type { Tensor } from 'onnxruntime-common';
import { abortError, InvalidArgumentError, ModelFormatError } from '../errors.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import type { TruncationStrategy } from '../tokenize/truncation.js';
import { SINGLE_WINDOW, type ChunkSettings } from '../tokenize/windows.js';
import type { Activation, ScoringStats, TextPair } from '../types.js';
import { describe } from '../validate.js';
import { activate, type ResolvedActivation } from './activation.js';
import { finiteScore, pairResult } from './row-scores.js';
import type { ModelConfig } from './config.js';
import type { DecoderFiles } from './decoder-files.js';
import { TextModel, type TextModelSpec } from './text-model.js';

/** Everything needed to open a pair model: plain data, so it can cross to a worker thread. */
export interface PairModelSpec extends TextModelSpec {
  maxLength: number | undefined;
  /** Padded tokens one forward pass may hold; `undefined` picks the default for the model's width. */
  maxBatchTokens: number | undefined;
  truncation: TruncationStrategy;
  activation: Activation;
  /** The task description a reranker on a language model reads; `undefined` keeps the model's own. */
  instruction?: string | undefined;
  /** The files only such a reranker reads. */
  decoder?: DecoderFiles;
  /** GGUF weights for llama.cpp to run in place of the ONNX file (rerankers on a language model only). */
  ggufPath?: string | undefined;
}

/** What an opened model turned out to be. */
export interface PairModelInfo {
  inputs: readonly string[];
  numLabels: number;
  maxLength: number;
  /** Most padded tokens (pairs times the longest) in one forward pass. */
  maxBatchTokens: number;
  activation: ResolvedActivation;
}

/** One scoring request. `shouldStop` is polled between batches. */
export interface PairScoreRequest {
  pairs: readonly TextPair[];
  batchSize: number;
  /** Overrides the model's activation for this request only. */
  activation: Activation | undefined;
  /** How passages longer than the window are split. @default one window (truncation) */
  chunks?: ChunkSettings;
  /** The task description for this request only (rerankers on a language model). */
  instruction?: string | undefined;
  shouldStop?: () => boolean;
}

/** Scores of one request in the caller's order, with the window each came from and what it cost. */
export interface PairScores {
  scores: Float64Array;
  /** The best window of each pair, -1 for a pair that fit in one window; only when passages may be split. */
  windows: Int32Array | undefined;
  stats: ScoringStats;
}

// Measured on DL19 BM25 top-100 (bench/results/levers.md): against fixed batches of 32 pairs, which pad a third of
// their tokens, 1024 padded tokens per pass made MiniLM-L6 about 25% faster. A narrow model pays more for each
// extra pass than it saves in padding and does best near 2048.
const DEFAULT_BATCH_TOKENS = 1024;
const NARROW_MODEL_BATCH_TOKENS = 2048;
const NARROW_HIDDEN_SIZE = 256;

/**
 * A tokenizer and an ONNX session that turn text pairs into scores. It runs wherever it is opened: inside the
 * scoring worker normally, or on the calling thread when workers are turned off.
 */
export class PairModel {
  readonly info: PairModelInfo;
  readonly #model: TextModel;
  readonly #truncation: TruncationStrategy;

  private constructor(model: TextModel, truncation: TruncationStrategy, info: PairModelInfo) {
    this.info = info;
    this.#model = model;
    this.#truncation = truncation;
  }

  static async open(spec: PairModelSpec): Promise<PairModel> {
    if (spec.instruction !== undefined) throw noInstruction('options.instruction');
    const model = await TextModel.open(spec, 'logits');
    try {
      const numLabels = model.outputWidth ?? model.config.numLabels ?? 1;
      if (numLabels !== 1 && numLabels !== 2) {
        throw new ModelFormatError(
          `${spec.onnxPath} outputs ${numLabels} logits per pair; a reranker outputs 1 (relevance) or 2 ` +
            '(irrelevant, relevant). Use a model trained for reranking.',
          { file: spec.onnxPath },
        );
      }
      const info: PairModelInfo = {
        inputs: model.inputs,
        numLabels,
        maxLength: resolveMaxLength(spec.maxLength, model),
        maxBatchTokens: spec.maxBatchTokens ?? defaultMaxBatchTokens(model.config),
        activation: resolveActivation(spec.activation, numLabels, model.config, 'options.activation'),
      };
      return new PairModel(model, spec.truncation, info);
    } catch (error) {
      await model.release();
      throw error;
    }
  }

  /** The model input for one pair after truncation. */
  encode(query: string, passage: string): Promise<AssembledPair> {
    return this.#model.tokenizer.encodePair(query, passage, this.info.maxLength, this.#truncation);
  }

  /** The activation a request asks for, checked against this model. */
  activationFor(requested: Activation | undefined): ResolvedActivation {
    return requested === undefined
      ? this.info.activation
      : resolveActivation(requested, this.info.numLabels, this.#model.config, 'options.activation');
  }

  /**
   * Scores pairs in length-sorted batches; the result is in the caller's order. A pair split into windows scores
   * as its best window.
   */
  async score(request: PairScoreRequest): Promise<PairScores> {
    if (request.instruction !== undefined) throw noInstruction('options.instruction');
    const activation = this.activationFor(request.activation);
    const chunks = request.chunks ?? SINGLE_WINDOW;
    const tokenizeStart = performance.now();
    const encoded = await this.#model.tokenizer.encodeWindows(
      request.pairs,
      this.info.maxLength,
      this.#truncation,
      chunks,
    );
    const tokenizeMs = performance.now() - tokenizeStart;
    const { rows, owners } = encoded;
    const rowScores = new Float64Array(rows.length);
    const width = this.info.numLabels;
    const column = width === 2 ? 1 : 0;
    let inferenceMs = 0;
    let paddedTokens = 0;
    let batchStarted = 0;
    const limits = {
      batchSize: request.batchSize,
      maxTokens: this.info.maxBatchTokens,
      beforeBatch: () => {
        if (request.shouldStop?.()) throw abortError('Scoring');
        batchStarted = performance.now();
      },
    };
    await this.#model.runBatches(rows, limits, (output, batch) => {
      inferenceMs += performance.now() - batchStarted;
      const widest = Math.max(...batch.map((row) => (rows[row] as AssembledPair).ids.length));
      paddedTokens += widest * batch.length;
      const logits = this.#logits(output, batch.length);
      batch.forEach((rowIndex, row) => {
        const score = activate(logits.subarray(row * width, (row + 1) * width), column, activation);
        rowScores[rowIndex] = finiteScore(score, owners[rowIndex] as number);
      });
    });
    return pairResult(rowScores, encoded, request.pairs.length, chunks.maxChunks > 1, {
      paddedTokens,
      tokenizeMs,
      inferenceMs,
    });
  }

  release(): Promise<void> {
    return this.#model.release();
  }

  #logits(output: Tensor | undefined, rows: number): Float32Array {
    const onnxPath = this.#model.onnxPath;
    const expected = rows * this.info.numLabels;
    if (output === undefined || output.data.length !== expected) {
      throw new ModelFormatError(
        `${onnxPath} returned ${output?.data.length ?? 'no'} values for ${rows} pairs; expected ${expected}.`,
        { file: onnxPath },
      );
    }
    if (output.data instanceof Float32Array) return output.data;
    // ONNX Runtime hands float16 outputs back as raw 16-bit patterns.
    return Float32Array.from(output.data as Uint16Array, halfToFloat);
  }
}

/** The padded-token budget per forward pass when the caller sets none. */
export function defaultMaxBatchTokens(config: ModelConfig): number {
  return (config.hiddenSize ?? NARROW_HIDDEN_SIZE) < NARROW_HIDDEN_SIZE
    ? NARROW_MODEL_BATCH_TOKENS
    : DEFAULT_BATCH_TOKENS;
}

/** A cross-encoder reads the query and passage alone: an instruction has no place in its input. */
function noInstruction(parameter: string): InvalidArgumentError {
  return new InvalidArgumentError(
    parameter,
    'this model is a cross-encoder and takes no instruction; instructions are for rerankers on a language model ' +
      '(such as Qwen3-Reranker). Leave it unset.',
  );
}

/** Decodes one IEEE 754 half-precision bit pattern. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function resolveActivation(
  requested: Activation,
  numLabels: number,
  config: ModelConfig,
  parameter: string,
): ResolvedActivation {
  switch (requested) {
    case 'sigmoid':
    case 'none':
      return requested;
    case 'softmax':
      if (numLabels < 2) {
        throw new InvalidArgumentError(
          parameter,
          "softmax needs a two-class model; use 'sigmoid' or 'none' for one logit.",
        );
      }
      return requested;
    case 'auto':
      // One score per pair from two classes needs the softmax; sentence-transformers saves Identity for any
      // multi-label model only because it returns whole rows.
      if (numLabels === 2) return 'softmax';
      return config.savedActivation === 'none' ? 'none' : 'sigmoid';
    default:
      throw new InvalidArgumentError(
        parameter,
        `expected 'auto', 'sigmoid', 'softmax' or 'none', got ${describe(requested)}.`,
      );
  }
}

function resolveMaxLength(requested: number | undefined, model: TextModel): number {
  if (requested === undefined) return model.maxLength;
  const smallest = model.tokenizer.addedTokens + 2;
  if (!Number.isInteger(requested) || requested < smallest) {
    throw new InvalidArgumentError(
      'options.maxLength',
      `expected an integer of at least ${smallest} tokens, got ${describe(requested)}.`,
    );
  }
  return Math.min(requested, model.maxLength);
}
