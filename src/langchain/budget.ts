import { CrossEncoderError } from '../errors.js';
import type { RankResult } from '../types.js';
import type { RerankDeadline } from './deadline.js';

/** Settles with `work`, or with `undefined` once the budget's end passes first. */
export function withinBudget<T>(work: Promise<T>, budgetEnd: number | undefined): Promise<T | undefined> {
  if (budgetEnd === undefined) return work;
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), Math.max(0, budgetEnd - performance.now()));
    timer.unref?.();
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Scores `texts` in input order, `step` at a time, until the budget's end passes; later ones stay unscored. */
export async function scoreInSteps(
  rank: (texts: string[]) => Promise<RankResult[]>,
  texts: readonly string[],
  step: number,
  budgetEnd: number,
): Promise<RankResult[]> {
  const scored: RankResult[] = [];
  for (let start = 0; start < texts.length && performance.now() < budgetEnd; start += step) {
    const part = await rank(texts.slice(start, start + step));
    for (const r of part) scored.push({ ...r, index: r.index + start });
  }
  return scored;
}

/**
 * Whether a failed call falls back to the first-stage order: with `fallback: 'first-stage'`, for a failed load, a
 * failed scoring or the call's own timeout. The caller's abort, `dispose()` and a wrong argument always reject.
 */
export function fallsBack(fallback: 'throw' | 'first-stage', error: unknown, deadline: RerankDeadline): boolean {
  if (fallback !== 'first-stage' || deadline.stoppedFromOutside) return false;
  return !(CrossEncoderError.isInstance(error) && error.code === 'INVALID_ARGUMENT');
}
