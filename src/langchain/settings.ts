import {
  checkLoadOptions,
  CrossEncoder,
  DEFAULT_MODEL,
  type CrossEncoderOptions,
  type Scorer,
} from '../cross-encoder.js';
import { validateRankFields, type RankFields } from '../documents/render.js';
import { InvalidArgumentError } from '../errors.js';
import { validateModelId } from '../hub/index.js';
import type { Activation } from '../types.js';
import { checkInstruction, describe, validateTimeoutMs } from '../validate.js';
import { validateFusion, type Fusion } from './fusion.js';
import { Lazy, LOAD_BACKOFF } from './lazy.js';
import { RerankerModels } from './models.js';
import type { CrossEncoderRerankerOptions, RerankStats } from './options.js';
import type { ScoringSettings } from './windows.js';

/** A reranker's options once checked, each where it enters: here, in the constructor. */
export interface RerankerSettings extends ScoringSettings {
  model: string;
  topN: number;
  activation: Activation | undefined;
  minScore: number | undefined;
  timeoutMs: number | undefined;
  maxChunksPerDoc: number | undefined;
  fusion: Fusion | undefined;
  budgetMs: number | undefined;
  fallback: 'throw' | 'first-stage';
  rankFields: RankFields | undefined;
  onStats: ((stats: RerankStats) => void) | undefined;
  models: RerankerModels;
}

// Keys the reranker handles itself; any other option is a loading option of the engine.
const OWN_KEYS = new Set([
  'model',
  'topN',
  'batchSize',
  'activation',
  'minScore',
  'timeoutMs',
  'maxChunksPerDoc',
  'instruction',
  'chunkTokens',
  'chunkStride',
  'fusion',
  'budgetMs',
  'fallback',
  'onStats',
  'rankFields',
]);

export function readSettings(fields: CrossEncoderRerankerOptions): RerankerSettings {
  if (typeof fields !== 'object' || fields === null) {
    throw new InvalidArgumentError('options', `expected an object, got ${describe(fields)}.`);
  }
  const { model = DEFAULT_MODEL, topN = 3, fallback = 'throw', onStats, batchSize, activation, minScore } = fields;
  const { timeoutMs, maxChunksPerDoc, instruction, chunkTokens, chunkStride, fusion, budgetMs, rankFields } = fields;
  const loadOptions = Object.fromEntries(Object.entries(fields).filter(([key]) => !OWN_KEYS.has(key)));
  if (fallback !== 'throw' && fallback !== 'first-stage') {
    throw new InvalidArgumentError('fallback', `expected 'throw' or 'first-stage', got ${describe(fallback)}.`);
  }
  if (onStats !== undefined && typeof onStats !== 'function') {
    throw new InvalidArgumentError('onStats', `expected a function, got ${describe(onStats)}.`);
  }
  // What the scorer reads is checked by the engine's own checker, as if loading; named as the reranker names it.
  const scoring = { batchSize, activation, maxChunksPerDoc, chunkTokens, chunkStride };
  const settings = {
    topN: validateTopN(topN, 'topN'),
    ...scoring,
    instruction: checkInstruction(instruction, 'instruction'),
    minScore: validateMinScore(minScore, 'minScore'),
    timeoutMs: validateTimeoutMs(timeoutMs, 'timeoutMs'),
    fusion: validateFusion(fusion, 'fusion'),
    budgetMs: validateTimeoutMs(budgetMs, 'budgetMs'),
    fallback,
    rankFields: validateRankFields(rankFields, 'rankFields'),
    onStats,
  };
  const defined = (options: object) => Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  if (typeof model === 'string') {
    const name = checkModelName(model, 'model');
    const options: CrossEncoderOptions = { ...defined(loadOptions), ...defined({ batchSize, activation }) };
    // Checked here, not at the first call: a mistyped option must not wait for a call, nor hide behind `fallback`.
    asOwnOptions(() => checkLoadOptions({ ...options, ...defined(scoring) }));
    const own = new Lazy<Scorer>(() => CrossEncoder.load(name, options), LOAD_BACKOFF);
    return { ...settings, model: name, models: new RerankerModels(own, name, false, options) };
  }
  if (!isScorer(model)) {
    throw new InvalidArgumentError(
      'model',
      `expected a hub id, a local model folder or a Scorer (an object with score and rank), got ${describe(model)}.`,
    );
  }
  const loadKeys = Object.entries(fields)
    .filter(([key, value]) => value !== undefined && !OWN_KEYS.has(key))
    .map(([key]) => key);
  if (loadKeys.length > 0) {
    throw new InvalidArgumentError(
      loadKeys[0] as string,
      `${loadKeys.join(', ')} only apply when the reranker loads the model itself; ` +
        'pass them to CrossEncoder.load() when building the shared scorer.',
    );
  }
  asOwnOptions(() => checkLoadOptions(defined(scoring)));
  const name = model instanceof CrossEncoder ? model.info.model : (model.constructor?.name ?? 'Scorer');
  const own = new Lazy(() => Promise.resolve(model));
  // A model named per call is loaded with the reranker's batching and activation.
  return { ...settings, model: name, models: new RerankerModels(own, name, true, defined({ batchSize, activation })) };
}

/**
 * A model named by a string: one written as a path or URL is left to the loader, anything else must be a
 * well-formed hub id (checked here, so a typo fails where it was written, not at the first call).
 */
export function checkModelName(model: unknown, parameter: string): string {
  if (typeof model !== 'string' || model.trim() === '') {
    throw new InvalidArgumentError(
      parameter,
      `expected a hub id, a local model folder or a Scorer, got ${typeof model === 'string' ? '""' : describe(model)}.`,
    );
  }
  if (/^(\/|~|\.{1,2}([\\/]|$)|[A-Za-z]:[\\/]|[a-z][a-z0-9+.-]*:\/\/)/i.test(model) || model.includes('\\')) {
    return model;
  }
  try {
    return validateModelId(model, parameter);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    throw new InvalidArgumentError(
      parameter,
      `${error.message.slice(parameter.length + 2)} A local folder: write it as a path, e.g. ./${model}.`,
    );
  }
}

export function validateTopN(value: unknown, parameter: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      parameter,
      `expected a positive integer, got ${describe(value)}. To keep every document, pass the number of documents.`,
    );
  }
  return value;
}

export function validateMinScore(value: unknown, parameter: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new InvalidArgumentError(parameter, `expected a number, got ${describe(value)}.`);
  }
  return value;
}

/** Runs the engine's checker, naming the reranker's own options as the caller wrote them (`batchSize`, not `options.batchSize`). */
function asOwnOptions(check: () => void): void {
  try {
    check();
  } catch (error) {
    const own = error instanceof InvalidArgumentError ? error.parameter.replace(/^options\./, '') : undefined;
    if (own === undefined || !OWN_KEYS.has(own) || !(error instanceof InvalidArgumentError)) throw error;
    throw new InvalidArgumentError(own, error.message.slice(error.parameter.length + 2));
  }
}

function isScorer(value: unknown): value is Scorer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Scorer).score === 'function' &&
    typeof (value as Scorer).rank === 'function'
  );
}
