import { join } from 'node:path';
import { expect } from 'vitest';
import { CrossEncoder, type ModelVariant } from '../../src/index.js';
import { PairTokenizer } from '../../src/tokenize/tokenizer.js';
import { modelDir, readGolden } from './models.js';

/** What tools/golden.py writes for a cross-encoder. */
export interface CrossEncoderGolden {
  model: string;
  num_labels: number;
  onnx_inputs: string[];
  default_activation_fn: string;
  pairs: [string, string][];
  sources: string[];
  tokenization: {
    by_max_length: Record<string, { input_ids: number[][]; token_type_ids: number[][] }>;
    only_second_32: { input_ids: (number[] | null)[]; token_type_ids: (number[] | null)[] };
    untruncated_lengths: number[];
  };
  /** Raw logits: one number per pair for one label, a [2] row per pair for two. */
  logits: number[] | number[][];
  scores: number[] | number[][];
  logits_128: number[] | number[][];
}

export function loadGolden(name: string): Promise<CrossEncoderGolden> {
  return readGolden<CrossEncoderGolden>(name);
}

export function pairTokenizer(name: string): Promise<PairTokenizer> {
  const dir = modelDir(name);
  return PairTokenizer.fromFiles({
    tokenizerJson: join(dir, 'tokenizer.json'),
    tokenizerConfig: join(dir, 'tokenizer_config.json'),
  });
}

/** The score column a reranker reports from a golden logit row. */
export function relevanceLogit(row: number | number[]): number {
  return Array.isArray(row) ? (row[1] as number) : row;
}

/** Largest absolute difference between our raw logits and Python's, over every golden pair. */
export async function maxLogitError(
  golden: CrossEncoderGolden,
  options: { variant?: ModelVariant; maxLength?: number } = {},
): Promise<{ errors: number[]; ours: number[]; theirs: number[] }> {
  const model = await CrossEncoder.load(modelDir(golden.model), options);
  try {
    const ours = await model.score(golden.pairs, { activation: 'none' });
    const reference = options.maxLength === 128 ? golden.logits_128 : golden.logits;
    const theirs = reference.map(relevanceLogit);
    return { errors: ours.map((v, i) => Math.abs(v - (theirs[i] as number))), ours, theirs };
  } finally {
    await model.dispose();
  }
}

/** Ranks by score, ties by index: the order a reranker would return. */
export function order(scores: readonly number[]): number[] {
  return scores
    .map((score, index) => ({ score, index }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map((r) => r.index);
}

/** Asserts fp32 parity: every score within `tolerance` of Python's and the same full ranking. */
export async function expectScoreParity(golden: CrossEncoderGolden, tolerance = 1e-4): Promise<void> {
  for (const maxLength of [512, 128]) {
    const { errors, ours, theirs } = await maxLogitError(golden, { maxLength });
    expect(Math.max(...errors)).toBeLessThan(tolerance);
    expect(order(ours)).toEqual(order(theirs));
  }
}
