import type { Tensor } from 'onnxruntime-common';
import { DisposedError, ModelFormatError, NonFiniteScoreError } from '../errors.js';
import { resolveAndOpen, validateRepoPath, type HubOptions } from '../hub/index.js';
import { platform } from '../platform/current.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import { readJsonObject } from './model-files.js';
import { checkExecutionProviders, type SessionOptions } from './session.js';
import { halfToFloat } from './pair-model.js';
import { TextModel, textModelFiles, textModelSpec } from './text-model.js';
import { onnxPathFor, type ModelVariant } from './variant.js';

/** How an {@link EmbeddingModel} is found and opened. */
export interface EmbeddingModelOptions extends HubOptions, SessionOptions {
  variant?: ModelVariant;
  onnxFile?: string;
  /** Longest text in tokens; capped to the model's maximum. */
  maxLength?: number;
}

/**
 * A sentence-transformers bi-encoder on the text-model core: mean pooling over the attention mask, then optional
 * L2 normalisation, in length-sorted batches. Runs on the calling thread.
 */
export class EmbeddingModel {
  /** Effective longest text in tokens. */
  readonly maxLength: number;
  readonly #model: TextModel;
  #released = false;

  private constructor(model: TextModel, maxLength: number) {
    this.#model = model;
    this.maxLength = maxLength;
  }

  /** Resolves the model (local folder or hub id, with the cache's self-repair) and opens it. */
  static async load(model: string, options: EmbeddingModelOptions): Promise<EmbeddingModel> {
    await checkExecutionProviders(options);
    const onnxFile = validateRepoPath(onnxPathFor(options.variant, options.onnxFile), 'options.onnxFile');
    const files = textModelFiles(onnxFile, ['sentence_bert_config.json']);
    const { opened } = await resolveAndOpen(platform.models, model, files, onnxFile, options, async (resolved) => {
      const text = await TextModel.open(textModelSpec(resolved, onnxFile, options), 'hidden-states');
      const stConfigPath = resolved.files.get('sentence_bert_config.json');
      try {
        const stMax = stConfigPath === undefined ? undefined : (await readJsonObject(stConfigPath))['max_seq_length'];
        const preferred = options.maxLength ?? (typeof stMax === 'number' && stMax > 0 ? stMax : text.maxLength);
        return new EmbeddingModel(text, Math.min(preferred, text.maxLength));
      } catch (error) {
        await text.release();
        throw error;
      }
    });
    return opened;
  }

  /** One vector per text, in the order given. */
  async embed(texts: readonly string[], batchSize: number, normalize: boolean): Promise<number[][]> {
    const encoded = await this.#model.tokenizer.encodeSingles(texts, this.maxLength);
    const vectors = new Array<number[]>(texts.length);
    const beforeBatch = () => {
      if (this.#released) throw new DisposedError();
    };
    await this.#model.runBatches(encoded, { batchSize, beforeBatch }, (output, batch) => {
      const pooled = meanPool(output, encoded, batch, this.#model.onnxPath);
      batch.forEach((textIndex, row) => {
        const vector = pooled[row] as number[];
        vectors[textIndex] = normalize ? l2Normalize(vector) : vector;
      });
    });
    return vectors;
  }

  /** Frees the session; a call still running rejects with `DisposedError` at its next batch. Idempotent. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#model.release();
  }
}

/** Averages token states over real (unpadded) tokens: sentence-transformers' `Pooling(mode='mean')`. */
function meanPool(
  output: Tensor | undefined,
  encoded: readonly AssembledPair[],
  batch: readonly number[],
  onnxPath: string,
): number[][] {
  if (output === undefined || (output.type !== 'float32' && output.type !== 'float16') || output.dims.length !== 3) {
    throw new ModelFormatError(
      `${onnxPath}: expected token states [batch, tokens, hidden] as float32 or float16, got ${output?.type ?? 'nothing'} ` +
        `[${output?.dims.join(', ') ?? ''}]. Use an embedding model with a last_hidden_state output.`,
      { file: onnxPath },
    );
  }
  const [rows, width, hidden] = output.dims as [number, number, number];
  if (rows !== batch.length) {
    throw new ModelFormatError(`${onnxPath} returned ${rows} rows for ${batch.length} texts.`, { file: onnxPath });
  }
  // ONNX Runtime hands float16 outputs back as raw 16-bit patterns (an fp16 variant).
  const data =
    output.data instanceof Float32Array ? output.data : Float32Array.from(output.data as Uint16Array, halfToFloat);
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
