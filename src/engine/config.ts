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

// RoBERTa-family models reserve the first positions for padding offsets.
const POSITION_OFFSET: Record<string, number> = { roberta: 2, 'xlm-roberta': 2, camembert: 2, longformer: 2 };

/**
 * Reads the fields that decide activation and length limits; every field is optional in the wild.
 * `sentenceTransformersConfig` is `config_sentence_transformers.json`, where sentence-transformers 4+ saves the
 * activation; older releases wrote it into `config.json`.
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
    maxPositions: positions === undefined ? undefined : positions - (POSITION_OFFSET[modelType ?? ''] ?? 0),
    hiddenSize: [config['hidden_size'], config['dim'], config['d_model']].find(
      (value): value is number => typeof value === 'number' && value > 0,
    ),
    savedActivation:
      readSavedActivation(sentenceTransformersConfig['activation_fn']) ?? readSavedActivation(legacyActivation(config)),
  };
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
  if (typeof st === 'object' && st !== null) return (st as Record<string, unknown>)['activation_fn'];
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
