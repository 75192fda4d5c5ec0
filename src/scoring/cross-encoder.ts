import type * as ort from 'onnxruntime-node';
import { AbortError, DisposedError, InvalidArgumentError, ModelFormatError, NonFiniteScoreError } from '../errors.js';
import { DEFAULT_MODEL_ID, resolveModelFiles, type HubOptions } from '../hub/index.js';
import { openSession, type LoadedSession, type SessionOptions } from '../engine/session.js';
import { parseModelConfig, type ModelConfig } from '../model/config.js';
import { onnxPathFor, type ModelVariant } from '../model/variant.js';
import { buildFeeds, planBatches, type FeedLayout } from '../tokenize/batches.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { PairTokenizer, readJsonObject } from '../tokenize/tokenizer.js';
import type { TruncationStrategy } from '../tokenize/truncation.js';
import { activate, type ResolvedActivation } from './activation.js';
import type { Activation, RankOptions, RankResult, Scorer, ScoreOptions, TextPair } from './scorer.js';
import { describe, requireQuery, requireText, validateBatchSize, validateTopK } from './validate.js';

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
   * Longest pair in tokens, special tokens included. Capped to what the model supports
   * (the tokenizer's `model_max_length` and the position embeddings).
   * @default the model's maximum, or 512 when the model declares none
   */
  maxLength?: number;
  /**
   * Pairs per forward pass.
   * @default 32
   */
  batchSize?: number;
  /**
   * How logits become scores. `'auto'` uses the activation the model was saved with, else sigmoid for a
   * one-logit model and softmax (probability of the second class) for a two-class model. `'none'` gives raw logits.
   * @default 'auto'
   */
  activation?: Activation;
  /**
   * How an over-long pair is cut.
   * @default 'longest_first'
   */
  truncation?: TruncationStrategy;
}

/** What a loaded model turned out to be. */
export interface CrossEncoderInfo {
  /** The hub id or local folder it was loaded from. */
  model: string;
  source: 'local' | 'hub';
  /** Absolute path of the ONNX file in use. */
  onnxPath: string;
  /** Graph inputs fed, e.g. without `token_type_ids` for XLM-R rerankers. */
  inputs: readonly string[];
  /** Logits per pair. */
  numLabels: number;
  /** Effective maximum pair length in tokens. */
  maxLength: number;
  /** Effective activation. */
  activation: ResolvedActivation;
}

const DEFAULT_BATCH_SIZE = 32;
const FALLBACK_MAX_LENGTH = 512;

/** Per-call options of {@link CrossEncoder.score}. */
export interface CrossEncoderScoreOptions extends ScoreOptions {
  /** Activation for this call only; the model's setting is unchanged for later calls. */
  activation?: Activation;
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
  readonly #loaded: LoadedSession;
  readonly #tokenizer: PairTokenizer;
  readonly #config: ModelConfig;
  readonly #batchSize: number;
  readonly #truncation: TruncationStrategy;
  readonly #layout: FeedLayout;
  #disposed = false;

  private constructor(init: {
    info: CrossEncoderInfo;
    loaded: LoadedSession;
    tokenizer: PairTokenizer;
    config: ModelConfig;
    batchSize: number;
    truncation: TruncationStrategy;
  }) {
    this.info = Object.freeze(init.info);
    this.#loaded = init.loaded;
    this.#tokenizer = init.tokenizer;
    this.#config = init.config;
    this.#batchSize = init.batchSize;
    this.#truncation = init.truncation;
    this.#layout = { inputs: init.loaded.inputs, int32: init.loaded.int32Inputs, padId: init.tokenizer.padId };
  }

  /**
   * Loads a model from a local folder (hub layout: `config.json`, `tokenizer.json`, `onnx/model.onnx`) or a
   * Hugging Face hub id, downloading it once into the cache.
   */
  static async load(model: string = DEFAULT_MODEL, options: CrossEncoderOptions = {}): Promise<CrossEncoder> {
    if (typeof model !== 'string' || model.trim() === '') {
      throw new InvalidArgumentError('model', `expected a hub id or a local folder, got ${describe(model)}.`);
    }
    const batchSize = validateBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE, 'options.batchSize');
    const truncation = options.truncation ?? 'longest_first';
    if (truncation !== 'longest_first' && truncation !== 'only_second') {
      throw new InvalidArgumentError(
        'options.truncation',
        `expected 'longest_first' or 'only_second', got ${describe(truncation)}.`,
      );
    }
    const onnxFile = onnxPathFor(options.variant, options.onnxFile);
    const resolved = await resolveModelFiles(
      model,
      [
        { path: 'config.json' },
        { path: 'tokenizer.json' },
        { path: 'tokenizer_config.json', optional: true },
        { path: onnxFile },
        { path: `${onnxFile}_data`, optional: true },
      ],
      options,
    );
    const file = (path: string) => resolved.files.get(path);
    const configPath = file('config.json') as string;
    const config = parseModelConfig(await readJsonObject(configPath), configPath);
    const tokenizer = await PairTokenizer.fromFiles({
      tokenizerJson: file('tokenizer.json') as string,
      tokenizerConfig: file('tokenizer_config.json'),
    });
    const onnxPath = file(onnxFile) as string;
    const loaded = await openSession(onnxPath, options);

    const numLabels = loaded.outputWidth ?? config.numLabels ?? 1;
    if (numLabels !== 1 && numLabels !== 2) {
      await loaded.session.release();
      throw new ModelFormatError(
        `${onnxPath} outputs ${numLabels} logits per pair; a reranker outputs 1 (relevance) or 2 (irrelevant, relevant). ` +
          'Use a model trained for reranking.',
        { file: onnxPath },
      );
    }
    const activation = resolveActivation(options.activation ?? 'auto', numLabels, config, 'options.activation');
    const maxLength = resolveMaxLength(options.maxLength, tokenizer, config);
    return new CrossEncoder({
      info: { model, source: resolved.source, onnxPath, inputs: loaded.inputs, numLabels, maxLength, activation },
      loaded,
      tokenizer,
      config,
      batchSize,
      truncation,
    });
  }

  /**
   * Scores (query, passage) pairs, one number per pair in the order given (sentence-transformers' `predict`).
   * Pairs are sorted by length into batches so padding stays small; the order of the result is the caller's.
   */
  async score(pairs: readonly TextPair[], options: CrossEncoderScoreOptions = {}): Promise<number[]> {
    this.#assertUsable();
    if (!Array.isArray(pairs))
      throw new InvalidArgumentError('pairs', `expected an array of [query, passage] pairs, got ${describe(pairs)}.`);
    const batchSize = validateBatchSize(options.batchSize ?? this.#batchSize, 'options.batchSize');
    const activation =
      options.activation === undefined
        ? this.info.activation
        : resolveActivation(options.activation, this.info.numLabels, this.#config, 'options.activation');
    if (pairs.length === 0) return [];
    throwIfAborted(options.signal);

    const encoded = pairs.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new InvalidArgumentError(
          `pairs[${i}]`,
          `expected a [query, passage] pair of strings, got ${describe(pair)}.`,
        );
      }
      return this.#encode(requireText(pair[0], `pairs[${i}][0]`), requireText(pair[1], `pairs[${i}][1]`));
    });
    return this.#run(encoded, batchSize, activation, options.signal);
  }

  /**
   * Ranks `documents` for `query`, best first (sentence-transformers' `rank`). `index` points into `documents`;
   * equal scores keep the caller's order.
   */
  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<RankResult[]> {
    this.#assertUsable();
    requireQuery(query, 'query');
    if (!Array.isArray(documents))
      throw new InvalidArgumentError('documents', `expected an array of strings, got ${describe(documents)}.`);
    const topK = validateTopK(options.topK, documents.length);
    if (documents.length === 0) return [];
    documents.forEach((doc, i) => requireText(doc, `documents[${i}]`));
    const scores = await this.score(
      documents.map((doc): TextPair => [query, doc]),
      options,
    );
    return scores
      .map((score, index) => ({ index, score }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, topK);
  }

  /** The model input for one pair, after truncation: what parity tests compare with Python. */
  encode(query: string, passage: string): { ids: number[]; typeIds: number[] } {
    this.#assertUsable();
    return this.#encode(requireQuery(query, 'query'), requireText(passage, 'passage'));
  }

  /** Frees the ONNX session. Later calls throw `DisposedError`; calling it twice is harmless. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await this.#loaded.session.release();
  }

  #encode(query: string, passage: string): AssembledPair {
    return this.#tokenizer.encodePair(query, passage, this.info.maxLength, this.#truncation);
  }

  async #run(
    encoded: readonly AssembledPair[],
    batchSize: number,
    activation: ResolvedActivation,
    signal: AbortSignal | undefined,
  ): Promise<number[]> {
    const scores = new Array<number>(encoded.length);
    const column = this.info.numLabels === 2 ? 1 : 0;
    const width = this.info.numLabels;
    for (const batch of planBatches(
      encoded.map((pair) => pair.ids.length),
      batchSize,
    )) {
      throwIfAborted(signal);
      this.#assertUsable();
      const output = await this.#forward(buildFeeds(encoded, batch, this.#layout));
      const logits = output.data as Float32Array;
      if (logits.length !== batch.length * width) {
        throw new ModelFormatError(
          `${this.info.onnxPath} returned ${logits.length} values for ${batch.length} pairs; expected ${width} per pair.`,
          { file: this.info.onnxPath },
        );
      }
      batch.forEach((pairIndex, row) => {
        const score = activate(logits.subarray(row * width, (row + 1) * width), column, activation);
        if (!Number.isFinite(score)) {
          throw new NonFiniteScoreError(
            `The model returned ${score} for pair ${pairIndex}. The weights may be broken, or an fp16 model overflowed: ` +
              "try variant 'fp32'.",
          );
        }
        scores[pairIndex] = score;
      });
    }
    return scores;
  }

  async #forward(feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
    const result = await this.#loaded.session.run(feeds);
    const output = result[this.#loaded.outputName];
    if (output === undefined || (output.type !== 'float32' && output.type !== 'float16')) {
      throw new ModelFormatError(
        `${this.info.onnxPath}: output "${this.#loaded.outputName}" is ${output?.type ?? 'missing'}, not float logits.`,
        { file: this.info.onnxPath },
      );
    }
    if (output.type === 'float16')
      return { ...output, data: Float32Array.from(output.data as ArrayLike<number>) } as ort.Tensor;
    return output;
  }

  #assertUsable(): void {
    if (this.#disposed) throw new DisposedError();
  }
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
      if (numLabels < 2)
        throw new InvalidArgumentError(
          parameter,
          "softmax needs a two-class model; use 'sigmoid' or 'none' for one logit.",
        );
      return requested;
    case 'auto': {
      const saved = config.savedActivation;
      if (saved === 'softmax' && numLabels < 2) return 'sigmoid';
      return saved ?? (numLabels === 1 ? 'sigmoid' : 'softmax');
    }
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

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('Scoring was aborted.', { cause: signal.reason });
}
