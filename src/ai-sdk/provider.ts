import type { CrossEncoderOptions, Scorer } from '../cross-encoder.js';
import { InvalidArgumentError, NoSuchModelTypeError } from '../errors.js';
import { isScorer, ScorerPool } from '../scorer-pool.js';
import { describe } from '../validate.js';
import { CrossEncoderRerankingModel, type CrossEncoderRerankingSettings } from './reranking-model.js';
import { SPECIFICATION_VERSION } from './specification.js';

/** How a {@link createCrossEncoder} provider loads its models. */
export interface CrossEncoderProviderSettings extends CrossEncoderOptions {
  /**
   * Ranks with this scorer instead of loading models: a `RemoteScorer` for a rerank server, a `FakeScorer` in tests,
   * or a `CrossEncoder` shared with other code (the provider never disposes it). Model ids then only name the model
   * in results and telemetry.
   * @default undefined (each model id is a hub id or local folder, loaded on first use)
   */
  scorer?: Scorer;
  /**
   * The provider name the AI SDK reports in telemetry and warnings.
   * @default 'cross-encoder'
   */
  name?: string;
}

/**
 * A Vercel AI SDK provider whose reranking models are local cross-encoders; it offers no other kind of model. It is a
 * `ProviderV3`, which `ai` 6 and 7 both take (in `createProviderRegistry`, `customProvider`).
 */
export interface CrossEncoderProvider {
  /** The provider specification version the AI SDK checks before using the provider. */
  readonly specificationVersion: typeof SPECIFICATION_VERSION;
  /** A reranking model for `rerank()` from `ai`: a hub id or local model folder, loaded once per provider. */
  rerankingModel(modelId: string, settings?: CrossEncoderRerankingSettings): CrossEncoderRerankingModel;
  /** Shorthand for {@link CrossEncoderProvider.rerankingModel}. */
  reranking(modelId: string, settings?: CrossEncoderRerankingSettings): CrossEncoderRerankingModel;
  /** Frees every model this provider loaded; a later call loads it again. A `scorer` passed in is left alone. */
  dispose(): Promise<void>;
  /** Throws a {@link NoSuchModelTypeError}: the provider has reranking models only. */
  languageModel(modelId: string): never;
  /** Throws a {@link NoSuchModelTypeError}: the provider has reranking models only. */
  embeddingModel(modelId: string): never;
  /** Throws a {@link NoSuchModelTypeError}: the provider has reranking models only. */
  imageModel(modelId: string): never;
}

/**
 * A provider of cross-encoder reranking models for the Vercel AI SDK.
 *
 * @example
 * import { rerank } from 'ai';
 * const crossEncoder = createCrossEncoder({ cacheDir: './models' });
 * const { ranking } = await rerank({
 *   model: crossEncoder.rerankingModel('Xenova/ms-marco-MiniLM-L-6-v2'),
 *   query: 'how do ships navigate at night',
 *   documents: ['Lighthouses guide ships.', 'Bread rises with yeast.'],
 *   topN: 1,
 * });
 */
export function createCrossEncoder(settings: CrossEncoderProviderSettings = {}): CrossEncoderProvider {
  if (typeof settings !== 'object' || settings === null) {
    throw new InvalidArgumentError('settings', `expected an object of provider settings, got ${describe(settings)}.`);
  }
  const { scorer, name = 'cross-encoder', ...loadOptions } = settings;
  if (scorer !== undefined && !isScorer(scorer)) {
    throw new InvalidArgumentError(
      'settings.scorer',
      `expected a Scorer (with score and rank), got ${describe(scorer)}.`,
    );
  }
  // Loading options beside a ready scorer would be silently ignored: refuse them, as the other adapters do.
  const ignored = Object.keys(loadOptions).find((key) => loadOptions[key as keyof typeof loadOptions] !== undefined);
  if (scorer !== undefined && ignored !== undefined) {
    throw new InvalidArgumentError(
      `settings.${ignored}`,
      'loading options only apply when the provider loads models itself; pass them to the scorer you built.',
    );
  }
  if (typeof name !== 'string' || name === '') {
    throw new InvalidArgumentError('settings.name', `expected a non-empty string, got ${describe(name)}.`);
  }
  const pool = new ScorerPool(loadOptions);
  const rerankingModel = (modelId: string, modelSettings?: CrossEncoderRerankingSettings) => {
    if (typeof modelId !== 'string' || modelId.trim() === '') {
      throw new InvalidArgumentError('modelId', `expected a hub id or local model folder, got ${describe(modelId)}.`);
    }
    return new CrossEncoderRerankingModel(modelId, scorer ?? modelId, pool, `${name}.reranking`, modelSettings);
  };
  const noSuchModel =
    (modelType: 'languageModel' | 'embeddingModel' | 'imageModel') =>
    (modelId: string): never => {
      throw new NoSuchModelTypeError(
        modelId,
        modelType,
        `The ${name} provider only has reranking models; use rerankingModel('${modelId}').`,
      );
    };
  return {
    specificationVersion: SPECIFICATION_VERSION,
    rerankingModel,
    reranking: rerankingModel,
    languageModel: noSuchModel('languageModel'),
    embeddingModel: noSuchModel('embeddingModel'),
    imageModel: noSuchModel('imageModel'),
    dispose: () => pool.dispose(),
  };
}

/** The default provider: models from the Hugging Face hub cache with default loading options. */
export const crossEncoder: CrossEncoderProvider = createCrossEncoder();
