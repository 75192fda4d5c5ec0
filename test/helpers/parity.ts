import { join } from 'node:path';
import { expect } from 'vitest';
import { CrossEncoder, type ModelVariant } from '../../src/index.js';
import { openPairTokenizer } from '../../src/engine/model-files.js';
import type { PairTokenizer } from '../../src/tokenize/tokenizer.js';
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
  return openPairTokenizer({
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

/**
 * Pairs that Python orders one way and we order the other, ignoring golden gaps of `tieGap` or less: float32
 * noise (about 1e-7 here) may swap exact and near ties, which no reranker user can tell apart.
 */
export function discordantPairs(ours: readonly number[], theirs: readonly number[], tieGap: number): number {
  let count = 0;
  for (let i = 0; i < theirs.length; i++) {
    for (let j = 0; j < theirs.length; j++) {
      if ((theirs[i] as number) - (theirs[j] as number) > tieGap && !((ours[i] as number) > (ours[j] as number)))
        count++;
    }
  }
  return count;
}

/** Asserts fp32 parity: every logit within `tolerance` of Python's, and the same ranking of all pairs. */
export async function expectScoreParity(golden: CrossEncoderGolden, tolerance = 1e-4): Promise<void> {
  for (const maxLength of [512, 128]) {
    const { errors, ours, theirs } = await maxLogitError(golden, { maxLength });
    expect(Math.max(...errors)).toBeLessThan(tolerance);
    expect(discordantPairs(ours, theirs, 1e-5)).toBe(0);
  }
}
