import type { RankResult } from '../types.js';
import { scoreInSteps, withinBudget } from './budget.js';
import type { RerankDeadline } from './deadline.js';
import type { ModelLease } from './models.js';
import type { CallStats } from './stats.js';
import { budgetStep, scorerOptions, type ScoringSettings } from './windows.js';

/**
 * Cross-encoder scores for the documents the call reaches, all under the call's one deadline: every document, or
 * with a budget those it allows in input order, the wait for the model included.
 */
export async function scoreDocuments(
  query: string,
  texts: readonly string[],
  call: {
    lease: ModelLease;
    deadline: RerankDeadline;
    stats: CallStats;
    settings: ScoringSettings;
    maxChunksPerDoc: number | undefined;
    budgetMs: number | undefined;
  },
): Promise<RankResult[]> {
  const { deadline, stats, settings, maxChunksPerDoc } = call;
  const budgetEnd = call.budgetMs === undefined ? undefined : stats.started + call.budgetMs;
  const scorer = await stats.timeLoad(deadline.race(withinBudget(call.lease.loaded.get(), budgetEnd)));
  if (scorer === undefined) return []; // the budget ran out while the model loaded
  const options = scorerOptions(settings, {
    shared: call.lease.shared,
    maxChunksPerDoc,
    signal: deadline.signal,
    onStats: stats.add,
  });
  const rank = (part: readonly string[]) => deadline.race(scorer.rank(query, part, options));
  if (budgetEnd === undefined) return rank(texts);
  return scoreInSteps(rank, texts, budgetStep(settings.batchSize, maxChunksPerDoc), budgetEnd);
}
