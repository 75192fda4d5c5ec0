import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { AsyncCaller } from '@langchain/core/utils/async_caller';
import { EmbeddingModel } from '../engine/embedding-model.js';
import type { SessionOptions } from '../engine/session.js';
import { DEFAULT_BATCH_SIZE } from '../engine/text-model.js';
import { onnxPathFor, type ModelVariant } from '../engine/variant.js';
import { InvalidArgumentError } from '../errors.js';
import type { HubOptions } from '../hub/index.js';
import { describe, requireText, validateBatchSize } from '../validate.js';
import { Lazy, LOAD_BACKOFF } from './lazy.js';

/** The embedding model used when none is named: all-MiniLM-L6-v2 (384 dimensions) in the transformers.js layout. */
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

/** How {@link OnnxEmbeddings} loads its model and embeds. */
export interface OnnxEmbeddingsOptions extends HubOptions, SessionOptions, EmbeddingsParams {
  /**
   * A hub id or a local folder holding `config.json`, `tokenizer.json` and `onnx/model.onnx` of a BERT-style encoder
   * whose graph outputs `last_hidden_state`.
   * @default DEFAULT_EMBEDDING_MODEL ('Xenova/all-MiniLM-L6-v2')
   */
  model?: string;
  /**
   * Which weights to run: `fp32` (`onnx/model.onnx`), `int8` (`onnx/model_quantized.onnx`) or `fp16`.
   * @default 'fp32'
   */
  variant?: ModelVariant;
  /** A path inside the model to an ONNX file of another name; overrides `variant`. */
  onnxFile?: string;
  /**
   * Longest text in tokens, special tokens included; longer texts are truncated.
   * @default `max_seq_length` from the model's sentence_bert_config.json, else the model's maximum
   */
  maxLength?: number;
  /**
   * Texts per forward pass.
   * @default 32
   */
  batchSize?: number;
  /**
   * Scale each vector to unit length, so a dot product is the cosine similarity (as sentence-transformers'
   * `Normalize` module does for all-MiniLM-L6-v2).
   * @default true
   */
  normalize?: boolean;
  /**
   * Most `embedDocuments`/`embedQuery` calls computing at once; the rest wait their turn.
   * @default no limit (calls queue inside the engine)
   */
  maxConcurrency?: number;
  /**
   * Not supported: a local model's failures (a bad file, a bad input) do not go away on retry, so the option is
   * refused rather than ignored.
   */
  maxRetries?: never;
}

/**
 * LangChain embeddings from a local ONNX sentence-transformers bi-encoder: mean pooling over the attention mask,
 * then L2 normalisation, batched by length. Loads lazily on the first call.
 *
 * @example
 * const embeddings = new OnnxEmbeddings({ model: 'models/all-MiniLM-L6-v2' });
 * const store = await MemoryVectorStore.fromDocuments(docs, embeddings);
 */
export class OnnxEmbeddings extends Embeddings {
  /** The hub id or local folder the model is loaded from. */
  readonly model: string;
  /** Texts per forward pass. */
  readonly batchSize: number;
  /** Whether vectors are L2-normalised (so a dot product is the cosine). */
  readonly normalize: boolean;
  readonly #model: Lazy<EmbeddingModel>;
  readonly #calls: AsyncCaller;

  constructor(options: OnnxEmbeddingsOptions = {}) {
    super(checkCallerOptions(options));
    const { maxConcurrency } = options;
    this.#calls = new AsyncCaller({ maxConcurrency: maxConcurrency ?? Infinity, maxRetries: 0 });
    const model = options.model ?? DEFAULT_EMBEDDING_MODEL;
    if (typeof model !== 'string' || model.trim() === '') {
      throw new InvalidArgumentError('model', `expected a hub id or a local folder, got ${describe(model)}.`);
    }
    this.model = model;
    this.batchSize = validateBatchSize(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize');
    this.normalize = options.normalize ?? true;
    if (options.maxLength !== undefined && (!Number.isInteger(options.maxLength) || options.maxLength < 3)) {
      throw new InvalidArgumentError(
        'maxLength',
        `expected an integer of at least 3, got ${describe(options.maxLength)}.`,
      );
    }
    // onnxPathFor validates variant and onnxFile now rather than at the first query.
    onnxPathFor(options.variant, options.onnxFile);
    const loadOptions = { ...options };
    this.#model = new Lazy(() => EmbeddingModel.load(model, loadOptions), LOAD_BACKOFF);
  }

  /** The effective maximum text length in tokens, once loaded. */
  async maxLength(): Promise<number> {
    return (await this.#model.get()).maxLength;
  }

  /** Loads the model now instead of on the first call. */
  async warmup(): Promise<void> {
    await this.#model.get();
  }

  /** Frees the ONNX session; a later call loads the model again. A call still running rejects with `DisposedError`. */
  async dispose(): Promise<void> {
    await this.#model.reset((model) => model.release());
  }

  override async embedDocuments(documents: string[]): Promise<number[][]> {
    if (!Array.isArray(documents)) {
      throw new InvalidArgumentError('documents', `expected an array of strings, got ${describe(documents)}.`);
    }
    documents.forEach((text, i) => requireText(text, `documents[${i}]`));
    if (documents.length === 0) return [];
    return this.#embed(documents);
  }

  override async embedQuery(document: string): Promise<number[]> {
    requireText(document, 'query');
    return (await this.#embed([document]))[0] as number[];
  }

  async #embed(texts: string[]): Promise<number[][]> {
    return this.#calls.call(async () => (await this.#model.get()).embed(texts, this.batchSize, this.normalize));
  }
}

/** Checked before LangChain's base class reads them (it would fail on its own terms, or ignore them). */
function checkCallerOptions(options: OnnxEmbeddingsOptions): OnnxEmbeddingsOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', `expected an options object, got ${describe(options)}.`);
  }
  if ((options as { maxRetries?: unknown }).maxRetries !== undefined) {
    throw new InvalidArgumentError(
      'maxRetries',
      'local embeddings are not retried: a failure of a local model (a bad file, a bad input) repeats on retry. ' +
        'Leave maxRetries out.',
    );
  }
  if (options.maxConcurrency !== undefined) validateBatchSize(options.maxConcurrency, 'maxConcurrency');
  return options;
}
