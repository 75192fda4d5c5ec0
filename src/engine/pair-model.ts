import type * as ort from 'onnxruntime-node';
import { AbortError, InvalidArgumentError, ModelFormatError, NonFiniteScoreError } from '../errors.js';
import { parseModelConfig, type ModelConfig } from '../model/config.js';
import { activate, type ResolvedActivation } from '../scoring/activation.js';
import type { Activation, ScoringStats, TextPair } from '../scoring/scorer.js';
import { describe } from '../scoring/validate.js';
import { buildFeeds, planBatches, type FeedLayout } from '../tokenize/batches.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { PairTokenizer, readJsonObject } from '../tokenize/tokenizer.js';
import type { TruncationStrategy } from '../tokenize/truncation.js';
import { SINGLE_WINDOW, type ChunkSettings } from '../tokenize/windows.js';
import { openSession, type LoadedSession, type SessionOptions } from './session.js';

/** Everything needed to open a model: plain data, so it can cross to a worker thread. */
export interface PairModelSpec {
  configPath: string;
  /** `config_sentence_transformers.json`, when the model has one. */
  sentenceTransformersConfigPath: string | undefined;
  tokenizerJsonPath: string;
  tokenizerConfigPath: string | undefined;
  onnxPath: string;
  session: SessionOptions;
  maxLength: number | undefined;
  /** Padded tokens one forward pass may hold; `undefined` picks the default for the model's width. */
  maxBatchTokens: number | undefined;
  truncation: TruncationStrategy;
  activation: Activation;
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
  shouldStop?: () => boolean;
}

/** Scores of one request in the caller's order, with the window each came from and what it cost. */
export interface PairScores {
  scores: Float64Array;
  /** The best window of each pair; only when passages may be split. */
  windows: Int32Array | undefined;
  stats: ScoringStats;
}

const FALLBACK_MAX_LENGTH = 512;

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
  readonly #loaded: LoadedSession;
  readonly #tokenizer: PairTokenizer;
  readonly #config: ModelConfig;
  readonly #truncation: TruncationStrategy;
  readonly #layout: FeedLayout;
  readonly #onnxPath: string;

  private constructor(
    spec: PairModelSpec,
    loaded: LoadedSession,
    tokenizer: PairTokenizer,
    config: ModelConfig,
    info: PairModelInfo,
  ) {
    this.info = info;
    this.#loaded = loaded;
    this.#tokenizer = tokenizer;
    this.#config = config;
    this.#truncation = spec.truncation;
    this.#onnxPath = spec.onnxPath;
    this.#layout = { inputs: loaded.inputs, int32: loaded.int32Inputs, padId: tokenizer.padId };
  }

  static async open(spec: PairModelSpec): Promise<PairModel> {
    const stConfig =
      spec.sentenceTransformersConfigPath === undefined
        ? {}
        : await readJsonObject(spec.sentenceTransformersConfigPath);
    const config = parseModelConfig(await readJsonObject(spec.configPath), spec.configPath, stConfig);
    const tokenizer = await PairTokenizer.fromFiles({
      tokenizerJson: spec.tokenizerJsonPath,
      tokenizerConfig: spec.tokenizerConfigPath,
    });
    const loaded = await openSession(spec.onnxPath, spec.session);
    try {
      const numLabels = loaded.outputWidth ?? config.numLabels ?? 1;
      if (numLabels !== 1 && numLabels !== 2) {
        throw new ModelFormatError(
          `${spec.onnxPath} outputs ${numLabels} logits per pair; a reranker outputs 1 (relevance) or 2 ` +
            '(irrelevant, relevant). Use a model trained for reranking.',
          { file: spec.onnxPath },
        );
      }
      const info: PairModelInfo = {
        inputs: loaded.inputs,
        numLabels,
        maxLength: resolveMaxLength(spec.maxLength, tokenizer, config),
        maxBatchTokens: spec.maxBatchTokens ?? defaultMaxBatchTokens(config),
        activation: resolveActivation(spec.activation, numLabels, config, 'options.activation'),
      };
      return new PairModel(spec, loaded, tokenizer, config, info);
    } catch (error) {
      await loaded.session.release();
      throw error;
    }
  }

  /** The model input for one pair after truncation. */
  encode(query: string, passage: string): AssembledPair {
    return this.#tokenizer.encodePair(query, passage, this.info.maxLength, this.#truncation);
  }

  /** The activation a request asks for, checked against this model. */
  activationFor(requested: Activation | undefined): ResolvedActivation {
    return requested === undefined
      ? this.info.activation
      : resolveActivation(requested, this.info.numLabels, this.#config, 'options.activation');
  }

  /**
   * Scores pairs in length-sorted batches; the result is in the caller's order. A pair split into windows scores
   * as its best window.
   */
  async score(request: PairScoreRequest): Promise<PairScores> {
    const activation = this.activationFor(request.activation);
    const chunks = request.chunks ?? SINGLE_WINDOW;
    const tokenizeStart = performance.now();
    const encoded = this.#tokenizer.encodeWindows(request.pairs, this.info.maxLength, this.#truncation, chunks);
    const tokenizeMs = performance.now() - tokenizeStart;
    const { rows, owners } = encoded;
    const rowScores = new Float64Array(rows.length);
    const width = this.info.numLabels;
    const column = width === 2 ? 1 : 0;
    const batches = planBatches(
      rows.map((row) => row.ids.length),
      request.batchSize,
      this.info.maxBatchTokens,
    );
    let inferenceMs = 0;
    let paddedTokens = 0;
    for (const batch of batches) {
      if (request.shouldStop?.()) throw new AbortError('Scoring was aborted.');
      const widest = Math.max(...batch.map((row) => (rows[row] as AssembledPair).ids.length));
      paddedTokens += widest * batch.length;
      const started = performance.now();
      const logits = await this.#forward(buildFeeds(rows, batch, this.#layout), batch.length);
      inferenceMs += performance.now() - started;
      batch.forEach((rowIndex, row) => {
        const score = activate(logits.subarray(row * width, (row + 1) * width), column, activation);
        if (!Number.isFinite(score)) {
          throw new NonFiniteScoreError(
            `The model returned ${score} for pair ${owners[rowIndex] as number}. The weights may be broken, or an ` +
              "fp16 model overflowed: try variant 'fp32'.",
          );
        }
        rowScores[rowIndex] = score;
      });
    }
    // Rows of one pair are adjacent and in window order: the first best window wins a tie.
    const scores = new Float64Array(request.pairs.length).fill(Number.NEGATIVE_INFINITY);
    const windows = chunks.maxChunks > 1 ? new Int32Array(request.pairs.length) : undefined;
    rowScores.forEach((score, row) => {
      const owner = owners[row] as number;
      if (score > (scores[owner] as number)) {
        scores[owner] = score;
        if (windows !== undefined) windows[owner] = encoded.windows[row] as number;
      }
    });
    return {
      scores,
      windows,
      stats: {
        pairs: request.pairs.length,
        truncatedPairs: encoded.truncated,
        chunks: rows.length,
        paddedTokens,
        queuedMs: 0,
        tokenizeMs,
        inferenceMs,
      },
    };
  }

  async release(): Promise<void> {
    await this.#loaded.session.release();
  }

  async #forward(feeds: Record<string, ort.Tensor>, rows: number): Promise<Float32Array> {
    const result = await this.#loaded.session.run(feeds);
    const output = result[this.#loaded.outputName];
    const expected = rows * this.info.numLabels;
    if (output === undefined || output.data.length !== expected) {
      throw new ModelFormatError(
        `${this.#onnxPath} returned ${output?.data.length ?? 'no'} values for ${rows} pairs; expected ${expected}.`,
        { file: this.#onnxPath },
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

/** Decodes one IEEE 754 half-precision bit pattern. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function resolveActivation(
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

function resolveMaxLength(requested: number | undefined, tokenizer: PairTokenizer, config: ModelConfig): number {
  const limits = [tokenizer.settings.modelMaxLength, config.maxPositions].filter((n): n is number => n !== undefined);
  const modelMax = limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_LENGTH;
  if (requested === undefined) return modelMax;
  const smallest = tokenizer.addedTokens + 2;
  if (!Number.isInteger(requested) || requested < smallest) {
    throw new InvalidArgumentError(
      'options.maxLength',
      `expected an integer of at least ${smallest} tokens, got ${describe(requested)}.`,
    );
  }
  return Math.min(requested, modelMax);
}
