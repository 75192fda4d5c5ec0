import { ModelFormatError } from '../errors.js';

/** What the engine needs from a model's `config.json`. */
export interface ModelConfig {
  modelType: string | undefined;
  /** Outputs per pair: 1 for a relevance logit, 2 for (irrelevant, relevant) classes. */
  numLabels: number | undefined;
  /** Longest sequence the position embeddings cover, when the config says. */
  maxPositions: number | undefined;
  /** Width of the hidden states, when the config says (`hidden_size`, or `dim` / `d_model` in some families). */
  hiddenSize: number | undefined;
  /** The activation sentence-transformers saved with the model, mapped to ours, when it saved one. */
  savedActivation: 'sigmoid' | 'none' | 'softmax' | undefined;
}

/**
 * Reads the fields that decide activation and length limits; every field is optional in the wild.
 * `sentenceTransformersConfig` is `config_sentence_transformers.json`, where sentence-transformers 4+ saves the
 * activation; older releases wrote it into `config.json`. Pass it only when the model folder also has `modules.json`:
 * without one, sentence-transformers loads the folder as a plain transformers model and never reads that file.
 */
export function parseModelConfig(
  config: Record<string, unknown>,
  file: string,
  sentenceTransformersConfig: Record<string, unknown> = {},
): ModelConfig {
  const modelType = typeof config['model_type'] === 'string' ? config['model_type'] : undefined;
  const positions =
    typeof config['max_position_embeddings'] === 'number' ? config['max_position_embeddings'] : undefined;
  return {
    modelType,
    numLabels: readNumLabels(config, file),
    maxPositions: positions === undefined ? undefined : positions - positionOffset(positions, config['pad_token_id']),
    hiddenSize: [config['hidden_size'], config['dim'], config['d_model']].find(
      (value): value is number => typeof value === 'number' && value > 0,
    ),
    savedActivation: savedActivation(config, sentenceTransformersConfig),
  };
}

/**
 * Positions a RoBERTa-style model reserves: it numbers tokens from `pad_token_id + 1`, so its table holds a power of
 * two plus that many rows (514 = 512 + 2 with padding index 1). BERT-style tables (512 with padding 0) reserve none.
 */
function positionOffset(positions: number, padTokenId: unknown): number {
  if (typeof padTokenId !== 'number' || !Number.isInteger(padTokenId) || padTokenId < 1) return 0;
  const usable = positions - padTokenId - 1;
  return usable >= 64 && (usable & (usable - 1)) === 0 ? padTokenId + 1 : 0;
}

/**
 * The activation sentence-transformers 6 applies by default, as its CrossEncoder decides it: the one saved in
 * `config_sentence_transformers.json` when that file belongs to a CrossEncoder (its `model_type`), else the one in
 * `config.json` (`sentence_transformers.activation_fn`, or the pre-4.0 `sbert_ce_default_activation_function`);
 * only `torch.` class paths count without remote code. `undefined` leaves the default to the label count.
 */
function savedActivation(
  config: Record<string, unknown>,
  stConfig: Record<string, unknown>,
): ModelConfig['savedActivation'] {
  const fromSt = stConfig['model_type'] === 'CrossEncoder' ? trusted(stConfig['activation_fn']) : undefined;
  if (fromSt !== undefined) return readSavedActivation(fromSt);
  return readSavedActivation(trusted(legacyActivation(config)));
}

function trusted(path: unknown): string | undefined {
  return typeof path === 'string' && path.startsWith('torch.') ? path : undefined;
}

function readNumLabels(config: Record<string, unknown>, file: string): number | undefined {
  if (typeof config['num_labels'] === 'number') return config['num_labels'];
  const labels = config['id2label'];
  if (labels === undefined) return undefined;
  if (typeof labels !== 'object' || labels === null) {
    throw new ModelFormatError(`${file}: "id2label" should be an object mapping ids to label names.`, { file });
  }
  return Object.keys(labels).length;
}

function legacyActivation(config: Record<string, unknown>): unknown {
  const st = config['sentence_transformers'];
  if (typeof st === 'object' && st !== null && 'activation_fn' in st) {
    return (st as Record<string, unknown>)['activation_fn'];
  }
  return config['sbert_ce_default_activation_function'];
}

/** sentence-transformers stores the class path of its activation; only the ones a reranker uses are recognised. */
function readSavedActivation(name: unknown): ModelConfig['savedActivation'] {
  if (typeof name !== 'string') return undefined;
  if (name.endsWith('Sigmoid')) return 'sigmoid';
  if (name.endsWith('Identity')) return 'none';
  if (name.endsWith('Softmax')) return 'softmax';
  return undefined;
}
