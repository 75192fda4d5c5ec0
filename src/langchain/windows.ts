import type { ScoringStats } from '../types.js';
import type { Activation } from '../types.js';

/** What the reranker hands its scorer with every call: batching, activation, the windows of long documents. */
export interface ScoringSettings {
  batchSize: number | undefined;
  activation: Activation | undefined;
  instruction: string | undefined;
  chunkTokens: number | undefined;
  chunkStride: number | undefined;
}

/** Pairs a budgeted call scores per step when no `batchSize` is set: a `CrossEncoder`'s default batch. */
const BUDGET_STEP = 32;

/** The options of one scorer call; unset ones are left out, so the scorer's own defaults apply. */
export function scorerOptions(
  settings: ScoringSettings,
  call: {
    shared: boolean;
    maxChunksPerDoc: number | undefined;
    signal: AbortSignal;
    onStats: (stats: ScoringStats) => void;
  },
): Record<string, unknown> {
  const options: Record<string, unknown> = { signal: call.signal, onStats: call.onStats };
  if (settings.batchSize !== undefined) options['batchSize'] = settings.batchSize;
  // A model the reranker loads got the activation when it was loaded; a shared scorer gets it with every call.
  if (call.shared && settings.activation !== undefined) options['activation'] = settings.activation;
  if (call.maxChunksPerDoc !== undefined) options['maxChunksPerDoc'] = call.maxChunksPerDoc;
  if (settings.instruction !== undefined) options['instruction'] = settings.instruction;
  if (settings.chunkTokens !== undefined) options['chunkTokens'] = settings.chunkTokens;
  if (settings.chunkStride !== undefined) options['chunkStride'] = settings.chunkStride;
  return options;
}

/**
 * Documents per budget step: one engine batch of windows, so a budget overruns by at most one batch however many
 * windows each document is split into.
 */
export function budgetStep(batchSize: number | undefined, maxChunksPerDoc: number | undefined): number {
  return Math.max(1, Math.floor((batchSize ?? BUDGET_STEP) / (maxChunksPerDoc ?? 1)));
}
