import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { InferenceError } from '../errors.js';
import type { ModelFileSpec, ResolvedModel } from '../hub/index.js';
import { platform } from '../platform/current.js';
import { planBatches } from '../tokenize/batches.js';
import type { AssembledPair } from '../tokenize/pair-template.js';
import type { PairTokenizer } from '../tokenize/tokenizer.js';
import { parseModelConfig, type ModelConfig } from './config.js';
import { buildFeeds, type FeedLayout } from './feeds.js';
import { openPairTokenizer, readJsonObject } from './model-files.js';
import { openSession, type GraphKind, type LoadedSession, type SessionOptions } from './session.js';

/**
 * Where a text model's files are (paths on Node, URLs in browsers, as the platform's model store gave them): plain
 * data, so it can cross to a worker.
 */
export interface TextModelSpec {
  configPath: string;
  /** `config_sentence_transformers.json`, when the model has one. */
  sentenceTransformersConfigPath: string | undefined;
  tokenizerJsonPath: string;
  tokenizerConfigPath: string | undefined;
  onnxPath: string;
  /** The graph's external weights (`<file>.onnx_data`), when it has them. */
  onnxDataPath?: string | undefined;
  session: SessionOptions;
}

/** Longest input when neither the tokenizer nor the config states a limit. */
const FALLBACK_MAX_LENGTH = 512;

/** Inputs per forward pass when the caller sets none. */
export const DEFAULT_BATCH_SIZE = 32;

/**
 * The files every text model reads, plus the `extra` optional ones a kind of model wants. `weightsFile` is an ONNX
 * file, whose external weights are looked for beside it, or (with `externalData` false) a file that has none.
 */
export function textModelFiles(
  weightsFile: string,
  extra: readonly string[] = [],
  externalData = true,
): ModelFileSpec[] {
  return [
    { path: 'config.json' },
    { path: 'tokenizer.json' },
    { path: 'tokenizer_config.json', optional: true },
    ...extra.map((path) => ({ path, optional: true })),
    { path: weightsFile },
    ...(externalData ? [{ path: `${weightsFile}_data`, optional: true }] : []),
  ];
}

/** The spec of resolved files; the session options are picked from `options`, nothing else of them is kept. */
export function textModelSpec(resolved: ResolvedModel, onnxFile: string, options: SessionOptions): TextModelSpec {
  const file = (path: string) => resolved.files.get(path) as string;
  return {
    configPath: file('config.json'),
    // sentence-transformers reads its own config only for a folder in its layout, which modules.json marks.
    sentenceTransformersConfigPath:
      resolved.files.get('modules.json') === undefined
        ? undefined
        : resolved.files.get('config_sentence_transformers.json'),
    tokenizerJsonPath: file('tokenizer.json'),
    tokenizerConfigPath: resolved.files.get('tokenizer_config.json'),
    onnxPath: file(onnxFile),
    onnxDataPath: resolved.files.get(`${onnxFile}_data`),
    session: {
      ...(options.threads === undefined ? {} : { threads: options.threads }),
      ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
      ...(options.wasmPaths === undefined ? {} : { wasmPaths: options.wasmPaths }),
      ...(options.ortOptions === undefined ? {} : { ortOptions: options.ortOptions }),
    },
  };
}

/**
 * The core both kinds of model stand on: the model's config, its own tokenizer and an ONNX session, fed in
 * length-sorted batches with only the inputs the graph declares.
 */
export class TextModel {
  readonly config: ModelConfig;
  readonly tokenizer: PairTokenizer;
  readonly onnxPath: string;
  readonly #loaded: LoadedSession;
  readonly #layout: FeedLayout;

  private constructor(
    config: ModelConfig,
    tokenizer: PairTokenizer,
    loaded: LoadedSession,
    onnxPath: string,
    tensor: FeedLayout['Tensor'],
  ) {
    this.config = config;
    this.tokenizer = tokenizer;
    this.onnxPath = onnxPath;
    this.#loaded = loaded;
    this.#layout = { Tensor: tensor, inputs: loaded.inputs, int32: loaded.int32Inputs, padId: tokenizer.padId };
  }

  /** Reads the config and tokenizer, then opens the graph and checks it outputs the `kind` expected. */
  static async open(spec: TextModelSpec, kind: GraphKind): Promise<TextModel> {
    const stConfig =
      spec.sentenceTransformersConfigPath === undefined
        ? {}
        : await readJsonObject(spec.sentenceTransformersConfigPath);
    const config = parseModelConfig(await readJsonObject(spec.configPath), spec.configPath, stConfig);
    const tokenizer = await openPairTokenizer({
      tokenizerJson: spec.tokenizerJsonPath,
      tokenizerConfig: spec.tokenizerConfigPath,
    });
    const { Tensor } = await platform.onnx();
    let loaded: LoadedSession;
    try {
      loaded = await openSession({ onnx: spec.onnxPath, externalData: spec.onnxDataPath }, spec.session, kind);
    } catch (error) {
      tokenizer.dispose();
      throw error;
    }
    return new TextModel(config, tokenizer, loaded, spec.onnxPath, Tensor);
  }

  /** Graph inputs fed. */
  get inputs(): readonly string[] {
    return this.#loaded.inputs;
  }

  /** The last output dimension when the graph states it. */
  get outputWidth(): number | undefined {
    return this.#loaded.outputWidth;
  }

  /** The longest input the model takes: the smaller of the tokenizer's limit and the position embeddings. */
  get maxLength(): number {
    const limits = [this.tokenizer.settings.modelMaxLength, this.config.maxPositions].filter(
      (n): n is number => n !== undefined,
    );
    return limits.length > 0 ? Math.min(...limits) : FALLBACK_MAX_LENGTH;
  }

  /**
   * Runs `encoded` in batches of similar length (at most `batchSize` rows and `maxTokens` padded tokens) and hands
   * each batch's output to `take` with the indices it holds. `beforeBatch` runs before every batch and stops the
   * run by throwing (an abort, a disposed model).
   */
  async runBatches(
    encoded: readonly AssembledPair[],
    limits: { batchSize: number; maxTokens?: number; beforeBatch?: () => void },
    take: (output: Tensor | undefined, batch: readonly number[]) => void,
  ): Promise<void> {
    const batches = planBatches(
      encoded.map((e) => e.ids.length),
      limits.batchSize,
      limits.maxTokens,
    );
    for (const batch of batches) {
      limits.beforeBatch?.();
      const result = await this.#run(buildFeeds(encoded, batch, this.#layout));
      take(result[this.#loaded.outputName], batch);
    }
  }

  async #run(feeds: Record<string, Tensor>): Promise<InferenceSession.OnnxValueMapType> {
    try {
      return await this.#loaded.session.run(feeds);
    } catch (cause) {
      const shapes = Object.entries(feeds)
        .map(([name, tensor]) => `${name} [${tensor.dims.join(', ')}] ${tensor.type}`)
        .join(', ');
      throw new InferenceError(
        `ONNX Runtime failed running ${this.onnxPath} on ${shapes}: ${(cause as Error)?.message ?? String(cause)}. ` +
          'If the sequence length is past what the model takes, pass a smaller maxLength.',
        { file: this.onnxPath, cause },
      );
    }
  }

  async release(): Promise<void> {
    try {
      await this.#loaded.session.release();
    } finally {
      this.tokenizer.dispose();
    }
  }
}
