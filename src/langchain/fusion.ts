import { InvalidArgumentError } from '../errors.js';
import type { RankResult } from '../types.js';
import { describe } from '../validate.js';

/**
 * How the cross-encoder's order is blended with the first stage's (the retriever that found the documents).
 * - `rrf`: reciprocal rank fusion of the input order and the cross-encoder's order, needing no scores.
 * - `weighted`: a weighted sum of both scores, each min-max normalized over the call's documents; the first-stage
 *   score is read from `metadata[scoreKey]` (higher is better).
 */
export interface FusionOptions {
  /** `rrf` blends ranks, `weighted` blends min-max normalised scores. */
  method: 'rrf' | 'weighted';
  /**
   * The cross-encoder's share of the blend, from 0 (first stage only) to 1 (cross-encoder only).
   * @default 0.5
   */
  weight?: number;
  /** `weighted` only, and required there: the metadata key holding each document's first-stage score. */
  scoreKey?: string;
  /**
   * `rrf` only: the constant added to each rank, damping the lead of the top few.
   * @default 60
   */
  k?: number;
}

/** Checked fusion settings with their defaults filled in. */
export interface Fusion {
  method: 'rrf' | 'weighted';
  weight: number;
  scoreKey: string | undefined;
  k: number;
}

/** One scored document going into fusion: its input position, cross-encoder score and first-stage score. */
export interface FusionInput {
  index: number;
  score: number;
  firstStage: number | undefined;
}

const DEFAULT_WEIGHT = 0.5;
const DEFAULT_RRF_K = 60;

export function validateFusion(value: unknown, parameter: string): Fusion | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidArgumentError(parameter, `expected { method: 'rrf' | 'weighted', ... }, got ${describe(value)}.`);
  }
  const { method, weight = DEFAULT_WEIGHT, scoreKey, k = DEFAULT_RRF_K } = value as FusionOptions;
  if (method !== 'rrf' && method !== 'weighted') {
    throw new InvalidArgumentError(`${parameter}.method`, `expected 'rrf' or 'weighted', got ${describe(method)}.`);
  }
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
    throw new InvalidArgumentError(`${parameter}.weight`, `expected a number from 0 to 1, got ${describe(weight)}.`);
  }
  if (typeof k !== 'number' || !Number.isFinite(k) || k < 0) {
    throw new InvalidArgumentError(`${parameter}.k`, `expected a non-negative number, got ${describe(k)}.`);
  }
  if (method === 'weighted' && (typeof scoreKey !== 'string' || scoreKey === '')) {
    throw new InvalidArgumentError(
      `${parameter}.scoreKey`,
      `weighted fusion needs the metadata key of the first-stage score, got ${describe(scoreKey)}.`,
    );
  }
  return { method, weight, scoreKey: method === 'weighted' ? scoreKey : undefined, k };
}

/**
 * Fused scores, higher is better, keyed by input position. First-stage ranks are input positions among the
 * documents given, so the retriever's order is the first stage's ranking.
 */
export function fuse(inputs: readonly FusionInput[], fusion: Fusion): Map<number, number> {
  const fused = new Map<number, number>();
  if (fusion.method === 'rrf') {
    const byModel = [...inputs].sort((a, b) => b.score - a.score || a.index - b.index);
    const byInput = [...inputs].sort((a, b) => a.index - b.index);
    const inputRank = new Map(byInput.map((d, rank) => [d.index, rank + 1]));
    byModel.forEach((d, rank) => {
      const first = inputRank.get(d.index) as number;
      fused.set(d.index, fusion.weight / (fusion.k + rank + 1) + (1 - fusion.weight) / (fusion.k + first));
    });
    return fused;
  }
  const model = normalizer(inputs.map((d) => d.score));
  const first = normalizer(inputs.map((d) => d.firstStage as number));
  for (const d of inputs) {
    fused.set(d.index, fusion.weight * model(d.score) + (1 - fusion.weight) * first(d.firstStage as number));
  }
  return fused;
}

/** Min-max scaling to [0, 1] over `values`; all-equal values map to 0, so they leave the order to the other side. */
function normalizer(values: readonly number[]): (value: number) => number {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  return (value) => (span > 0 ? (value - min) / span : 0);
}

/** One document's place in a call's result. */
export interface Ranked {
  index: number;
  /** The cross-encoder's score, the fused score with fusion, `NaN` when unscored. */
  relevanceScore: number;
  reranked: boolean;
  crossEncoderScore?: number;
  chunk?: number;
}

/** Each document's first-stage score, read for weighted fusion; a missing or non-numeric one is an error. */
export function firstStageScores(documents: readonly unknown[], fusion: Fusion | undefined): number[] | undefined {
  const key = fusion?.scoreKey;
  if (key === undefined) return undefined;
  return documents.map((doc, i) => {
    const value = (doc as { metadata?: Record<string, unknown> } | null)?.metadata?.[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new InvalidArgumentError(
        `documents[${i}].metadata.${key}`,
        `weighted fusion reads the first-stage score from metadata.${key}; expected a finite number, got ` +
          `${describe(value)}. Set fusion.scoreKey to the key your retriever writes, or use { method: 'rrf' }.`,
      );
    }
    return value;
  });
}

/** Documents `from`..`to` unscored, in input order. */
export function firstStageOrder(from: number, to: number): Ranked[] {
  return Array.from({ length: to - from }, (_, i) => ({
    index: from + i,
    relevanceScore: Number.NaN,
    reranked: false,
  }));
}

/**
 * The call's result: scored documents at or above `minScore`, best first (fused with the first stage when asked,
 * ties in input order), then the unscored ones in input order, cut to `topN`.
 */
export function orderResults(
  scored: readonly RankResult[],
  count: number,
  settings: {
    fusion: Fusion | undefined;
    firstStage: number[] | undefined;
    minScore: number | undefined;
    topN: number;
  },
): Ranked[] {
  const { fusion, firstStage, minScore, topN } = settings;
  const kept = minScore === undefined ? scored : scored.filter((r) => r.score >= minScore);
  const fused =
    fusion === undefined
      ? undefined
      : fuse(
          kept.map((r) => ({ index: r.index, score: r.score, firstStage: firstStage?.[r.index] })),
          fusion,
        );
  const ranked: Ranked[] = kept.map((r) =>
    fused === undefined
      ? { index: r.index, relevanceScore: r.score, reranked: true, chunk: r.chunk }
      : {
          index: r.index,
          relevanceScore: fused.get(r.index) as number,
          crossEncoderScore: r.score,
          reranked: true,
          chunk: r.chunk,
        },
  );
  ranked.sort((a, b) => b.relevanceScore - a.relevanceScore || a.index - b.index);
  const seen = new Set(scored.map((r) => r.index));
  const unscored = firstStageOrder(0, count).filter((r) => !seen.has(r.index));
  return [...ranked, ...unscored].slice(0, topN);
}
