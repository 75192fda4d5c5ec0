import { Embeddings, type EmbeddingsParams } from '@langchain/core/embeddings';
import type * as ort from 'onnxruntime-node';
import { DisposedError, InvalidArgumentError, ModelFormatError, NonFiniteScoreError } from '../errors.js';
import { openSession, type LoadedSession, type SessionOptions } from '../engine/session.js';
import { resolveModelFiles, type HubOptions } from '../hub/index.js';
import { parseModelConfig } from '../model/config.js';
import { onnxPathFor, type ModelVariant } from '../model/variant.js';
import { buildFeeds, planBatches } from '../tokenize/batches.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { PairTokenizer, readJsonObject } from '../tokenize/tokenizer.js';
import { describe, requireText, validateBatchSize } from '../scoring/validate.js';

/** The embedding model used when none is named: all-MiniLM-L6-v2 (384 dimensions) in the transformers.js layout. */
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/all-MiniLM-L6-v2';

const DEFAULT_BATCH_SIZE = 32;
const FALLBACK_MAX_LENGTH = 512;

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

interface Loaded {
  session: LoadedSession;
  released: boolean;
  tokenizer: PairTokenizer;
  maxLength: number;
  onnxPath: string;
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
  #loading: Promise<Loaded> | undefined;

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
    let loaded: Loaded;
    try {
      loaded = await loading;
    } catch {
      return; // A load that failed has nothing to free.
    }
    if (loaded.released) return;
    loaded.released = true;
    await loaded.session.session.release();
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
    const loaded = await this.#load();
    const encoded = await loaded.tokenizer.encodeSingles(texts, loaded.maxLength);
    const layout = {
      inputs: loaded.session.inputs,
      int32: loaded.session.int32Inputs,
      padId: loaded.tokenizer.padId,
    };
    const vectors = new Array<number[]>(texts.length);
    for (const batch of planBatches(
      encoded.map((e) => e.ids.length),
      this.batchSize,
    )) {
      if (loaded.released) throw new DisposedError();
      const result = await loaded.session.session.run(buildFeeds(encoded, batch, layout));
      const output = result[loaded.session.outputName];
      const pooled = meanPool(output, encoded, batch, loaded.onnxPath);
      batch.forEach((textIndex, row) => {
        const vector = pooled[row] as number[];
        vectors[textIndex] = this.normalize ? l2Normalize(vector) : vector;
      });
    }
    return vectors;
  }

  #load(): Promise<Loaded> {
    if (this.#loading === undefined) {
      const loading = loadEncoder(this.model, this.#options);
      this.#loading = loading;
      loading.catch(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
    }
    return this.#loading;
  }
}

async function loadEncoder(model: string, options: OnnxEmbeddingsOptions): Promise<Loaded> {
  const onnxFile = onnxPathFor(options.variant, options.onnxFile);
  const resolved = await resolveModelFiles(
    model,
    [
      { path: 'config.json' },
      { path: 'tokenizer.json' },
      { path: 'tokenizer_config.json', optional: true },
      { path: 'sentence_bert_config.json', optional: true },
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
  const stConfigPath = file('sentence_bert_config.json');
  const stMax = stConfigPath === undefined ? undefined : (await readJsonObject(stConfigPath))['max_seq_length'];
  const limits = [tokenizer.settings.modelMaxLength, config.maxPositions].filter((n): n is number => n !== undefined);
  const modelMax = limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_LENGTH;
  const preferred = options.maxLength ?? (typeof stMax === 'number' && stMax > 0 ? stMax : modelMax);
  const onnxPath = file(onnxFile) as string;
  const session = await openSession(onnxPath, options, 'hidden-states');
  return { session, released: false, tokenizer, maxLength: Math.min(preferred, modelMax), onnxPath };
}

/** Averages token states over real (unpadded) tokens: sentence-transformers' `Pooling(mode='mean')`. */
function meanPool(
  output: ort.Tensor | undefined,
  encoded: readonly AssembledPair[],
  batch: readonly number[],
  onnxPath: string,
): number[][] {
  if (output === undefined || output.type !== 'float32' || output.dims.length !== 3) {
    throw new ModelFormatError(
      `${onnxPath}: expected token states [batch, tokens, hidden] as float32, got ${output?.type ?? 'nothing'} ` +
        `[${output?.dims.join(', ') ?? ''}]. Use an fp32 or int8 embedding model with a last_hidden_state output.`,
      { file: onnxPath },
    );
  }
  const [rows, width, hidden] = output.dims as [number, number, number];
  if (rows !== batch.length) {
    throw new ModelFormatError(`${onnxPath} returned ${rows} rows for ${batch.length} texts.`, { file: onnxPath });
  }
  const data = output.data as Float32Array;
  return batch.map((textIndex, row) => {
    const length = (encoded[textIndex] as AssembledPair).ids.length;
    const sum = new Array<number>(hidden).fill(0);
    for (let t = 0; t < length; t++) {
      const offset = (row * width + t) * hidden;
      for (let h = 0; h < hidden; h++) sum[h] = (sum[h] as number) + (data[offset + h] as number);
    }
    const divisor = Math.max(length, 1);
    const mean = sum.map((value) => value / divisor);
    if (!mean.every(Number.isFinite)) {
      throw new NonFiniteScoreError(
        `${onnxPath} produced a non-finite embedding for text ${textIndex}. The weights may be broken; try variant 'fp32'.`,
      );
    }
    return mean;
  });
}

function l2Normalize(vector: number[]): number[] {
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  // sentence-transformers divides by max(norm, 1e-12): a zero vector stays zero.
  const scale = 1 / Math.max(norm, 1e-12);
  return vector.map((value) => value * scale);
}
