import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import { EmbeddingModel } from '../engine/embedding-model.js';
import type { SessionOptions } from '../engine/session.js';
import { DEFAULT_BATCH_SIZE } from '../engine/text-model.js';
import { onnxPathFor, type ModelVariant } from '../engine/variant.js';
import { InvalidArgumentError } from '../errors.js';
import type { HubOptions } from '../hub/index.js';
import { describe, requireText, validateBatchSize } from '../validate.js';

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
  readonly model: string;
  readonly batchSize: number;
  readonly normalize: boolean;
  readonly #options: OnnxEmbeddingsOptions;
  #loading: Promise<EmbeddingModel> | undefined;

  constructor(options: OnnxEmbeddingsOptions = {}) {
    super(options);
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
    this.#options = { ...options };
  }

  /** The effective maximum text length in tokens, once loaded. */
  async maxLength(): Promise<number> {
    return (await this.#load()).maxLength;
  }

  /** Loads the model now instead of on the first call. */
  async warmup(): Promise<void> {
    await this.#load();
  }

  /** Frees the ONNX session; a later call loads the model again. A call still running rejects with `DisposedError`. */
  async dispose(): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
    if (loading === undefined) return;
    let loaded: EmbeddingModel;
    try {
      loaded = await loading;
    } catch {
      return; // A load that failed has nothing to free.
    }
    await loaded.release();
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
    return (await this.#load()).embed(texts, this.batchSize, this.normalize);
  }

  #load(): Promise<EmbeddingModel> {
    if (this.#loading === undefined) {
      const loading = EmbeddingModel.load(this.model, this.#options);
      this.#loading = loading;
      loading.catch(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
    }
    return this.#loading;
  }
}
