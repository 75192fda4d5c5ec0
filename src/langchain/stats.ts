import type { CallbackManagerForRetrieverRun } from '@langchain/core/callbacks/manager';
import type { ScoringStats } from '../types.js';
import type { RerankStats } from './options.js';

const ENGINE_FIGURES = [
  'pairs',
  'truncatedPairs',
  'chunks',
  'paddedTokens',
  'queuedMs',
  'tokenizeMs',
  'inferenceMs',
] as const;

/** What one call cost, gathered as it runs: the engine's figures summed over its batches, and its own times. */
export class CallStats {
  readonly #started = performance.now();
  readonly #stats: RerankStats;

  constructor(documents: number) {
    this.#stats = { documents, reranked: 0, loadMs: 0, totalMs: 0 };
  }

  /** Adds one scoring call's figures; handed to the scorer as its `onStats`. */
  readonly add = (part: ScoringStats): void => {
    for (const key of ENGINE_FIGURES) this.#stats[key] = (this.#stats[key] ?? 0) + part[key];
  };

  /** When the call started, for a budget counted from it. */
  get started(): number {
    return this.#started;
  }

  /** Waits for the model, counting the wait as `loadMs` even when the load fails: a fallback shows the attempt. */
  async timeLoad<T>(loading: Promise<T>): Promise<T> {
    const from = performance.now();
    try {
      return await loading;
    } finally {
      this.#stats.loadMs = performance.now() - from;
    }
  }

  reranked(count: number): void {
    this.#stats.reranked = count;
  }

  fellBack(error: unknown): void {
    this.#stats.fallback = {
      code: (error as { code?: unknown } | null)?.code?.toString() ?? 'UNKNOWN',
      message: error instanceof Error ? error.message : String(error),
    };
  }

  /** The call's figures once it is over, handed to `onStats`. */
  finish(onStats: ((stats: RerankStats) => void) | undefined): RerankStats {
    this.#stats.totalMs = performance.now() - this.#started;
    const stats = { ...this.#stats };
    onStats?.({ ...stats });
    return stats;
  }
}

/** The figures as custom events of the reranker's run, so they appear in traces: a fallback first, then the stats. */
export async function reportStats(run: CallbackManagerForRetrieverRun | undefined, stats: RerankStats): Promise<void> {
  if (run === undefined) return;
  if (stats.fallback !== undefined) await run.handleCustomEvent?.('cross_encoder_fallback', stats.fallback);
  await run.handleCustomEvent?.('cross_encoder_stats', stats);
}
