import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { InvalidArgumentError } from '../src/index.js';
import { compareTrec, evaluateRun, ndcgAt, recallAt, reciprocalRankAt, trecRanking } from './metrics.js';

const j = (entries: Record<string, number>) => new Map(Object.entries(entries));
const log2 = Math.log2;

describe('ndcgAt', () => {
  it('uses graded gains with a log2(rank + 1) discount and an ideal over all judged docs', () => {
    const judgments = j({ a: 3, b: 2, c: 0, d: 1, e: 2 }); // e is never retrieved
    const ranking = ['x', 'b', 'a', 'c', 'd']; // x is unjudged
    const dcg = 2 / log2(3) + 3 / log2(4) + 1 / log2(6);
    const idcg = 3 / log2(2) + 2 / log2(3) + 2 / log2(4) + 1 / log2(5);
    expect(ndcgAt(ranking, judgments, 10)).toBeCloseTo(dcg / idcg, 12);
    // At k = 2 only the top two ranks and the top two ideal gains count.
    expect(ndcgAt(ranking, judgments, 2)).toBeCloseTo(2 / log2(3) / (3 + 2 / log2(3)), 12);
  });

  it('gives 0 gain to unjudged and negatively judged docs, which still take a rank', () => {
    const judgments = j({ a: 1, n: -1 });
    expect(ndcgAt(['n', 'u', 'a'], judgments, 10)).toBeCloseTo(1 / log2(4), 12);
  });

  it('is 0 for a query with no relevant judgment and for an empty ranking', () => {
    expect(ndcgAt(['a', 'b'], j({ a: 0, b: 0 }), 10)).toBe(0);
    expect(ndcgAt([], j({ a: 2 }), 10)).toBe(0);
  });

  it('accepts k larger than the list', () => {
    expect(ndcgAt(['a'], j({ a: 1 }), 1000)).toBe(1);
  });

  it('rejects a bad cutoff', () => {
    expect(() => ndcgAt(['a'], j({ a: 1 }), 0)).toThrow(InvalidArgumentError);
  });
});

describe('reciprocalRankAt and recallAt', () => {
  const judgments = j({ a: 1, b: 2, c: 3, d: 2 });

  it('apply the relevance threshold', () => {
    const ranking = ['a', 'x', 'b', 'c'];
    expect(reciprocalRankAt(ranking, judgments, 10, 1)).toBe(1);
    expect(reciprocalRankAt(ranking, judgments, 10, 2)).toBeCloseTo(1 / 3, 15);
    expect(reciprocalRankAt(ranking, judgments, 2, 2)).toBe(0);
    expect(recallAt(ranking, judgments, 100, 1)).toBe(3 / 4);
    expect(recallAt(ranking, judgments, 100, 2)).toBe(2 / 3);
    expect(recallAt(ranking, judgments, 3, 2)).toBe(1 / 3);
  });

  it('are 0 when nothing is relevant', () => {
    expect(reciprocalRankAt(['a'], j({ a: 1 }), 10, 2)).toBe(0);
    expect(recallAt(['a'], j({ a: 1 }), 10, 2)).toBe(0);
  });
});

describe('trec_eval ordering', () => {
  it('sorts by score descending, then by id descending, ignoring input order', () => {
    const docs = [
      { id: 'b', score: 1 },
      { id: 'a', score: 2 },
      { id: 'c', score: 1 },
      { id: 'd10', score: 1 },
      { id: 'd9', score: 1 },
    ];
    expect(trecRanking(docs)).toEqual(['a', 'd9', 'd10', 'c', 'b']);
    expect([...docs].sort(compareTrec).map((d) => d.id)).toEqual(['a', 'd9', 'd10', 'c', 'b']);
  });

  it('changes nDCG when a tie straddles the cutoff, the way trec_eval does', () => {
    const run = new Map([
      [
        'q',
        [
          { id: 'rel', score: 1 },
          { id: 'zzz', score: 1 },
        ],
      ],
    ]);
    const qrels = new Map([['q', j({ rel: 1 })]]);
    // zzz sorts first (id descending), so the relevant doc lands at rank 2.
    expect(evaluateRun(qrels, run, { ndcgCutoff: 1 }).mean.ndcg).toBe(0);
    expect(evaluateRun(qrels, run).mean.ndcg).toBeCloseTo(1 / log2(3), 12);
  });

  it('rejects duplicate documents within a query', () => {
    expect(() =>
      trecRanking(
        [
          { id: 'a', score: 1 },
          { id: 'a', score: 2 },
        ],
        'q1',
      ),
    ).toThrow(/query q1 lists document a more than once/);
  });
});

describe('evaluateRun', () => {
  const qrels = new Map([
    ['q1', j({ a: 2, b: 1 })],
    ['q2', j({ c: 0 })], // judged, nothing relevant: counts as 0
    ['q3', j({ d: 1 })], // not in the run: skipped
  ]);
  const run = new Map([
    [
      'q1',
      [
        { id: 'a', score: 3 },
        { id: 'b', score: 2 },
      ],
    ],
    ['q2', [{ id: 'c', score: 1 }]],
    ['q9', [{ id: 'a', score: 1 }]], // not in the qrels: skipped
  ]);

  it('averages over queries in both qrels and run; judged queries without relevant docs score 0', () => {
    const result = evaluateRun(qrels, run);
    expect([...result.perQuery.keys()]).toEqual(['q1', 'q2']);
    expect(result.perQuery.get('q1')).toEqual({ ndcg: 1, mrr: 1, recall: 1 });
    expect(result.perQuery.get('q2')).toEqual({ ndcg: 0, mrr: 0, recall: 0 });
    expect(result.mean).toEqual({ ndcg: 0.5, mrr: 0.5, recall: 0.5 });
    expect(result.unjudged).toEqual(['q9']);
    expect(result.unretrieved).toEqual(['q3']);
    expect(result.withoutRelevant).toEqual(['q2']);
  });

  it('uses the threshold only for binary measures', () => {
    const result = evaluateRun(qrels, run, { relevanceThreshold: 2 });
    expect(result.perQuery.get('q1')).toEqual({ ndcg: 1, mrr: 1, recall: 1 });
    expect(result.settings.relevanceThreshold).toBe(2);
  });

  it('fails when no query can be evaluated', () => {
    expect(() => evaluateRun(qrels, new Map([['zz', [{ id: 'a', score: 1 }]]]))).toThrow(/no query has both/);
  });
});

describe('properties', () => {
  // A query: judgments over d0..d11 (some absent = unjudged) and a ranking of a subset of d0..d19.
  const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
  const judgmentsArb = fc
    .array(fc.tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: -1, max: 3 })), { maxLength: 12 })
    .map((pairs) => new Map(pairs.map(([d, g]) => [`d${d}`, g])));
  const rankingArb = fc.shuffledSubarray(ids);
  const kArb = fc.integer({ min: 1, max: 25 });

  it('nDCG lies in [0, 1]', () => {
    fc.assert(
      fc.property(judgmentsArb, rankingArb, kArb, (judgments, ranking, k) => {
        const v = ndcgAt(ranking, judgments, k);
        return v >= 0 && v <= 1 + 1e-12;
      }),
    );
  });

  it('a ranking by descending gain scores 1 when anything is relevant', () => {
    fc.assert(
      fc.property(judgmentsArb, kArb, (judgments, k) => {
        const ideal = [...judgments].sort((a, b) => b[1] - a[1]).map(([d]) => d);
        const hasRelevant = [...judgments.values()].some((g) => g > 0);
        return Math.abs(ndcgAt(ideal, judgments, k) - (hasRelevant ? 1 : 0)) < 1e-12;
      }),
    );
  });

  it('reordering documents below rank k changes nothing at k', () => {
    const keysArb = fc.array(fc.integer(), { minLength: 20, maxLength: 20 });
    fc.assert(
      fc.property(judgmentsArb, rankingArb, kArb, keysArb, (judgments, ranking, k, keys) => {
        const tail = ranking
          .slice(k)
          .map((id, i) => [keys[i]!, id] as const)
          .sort((a, b) => a[0] - b[0]);
        const shuffled = [...ranking.slice(0, k), ...tail.map(([, id]) => id)];
        return (
          ndcgAt(ranking, judgments, k) === ndcgAt(shuffled, judgments, k) &&
          reciprocalRankAt(ranking, judgments, k) === reciprocalRankAt(shuffled, judgments, k) &&
          recallAt(ranking, judgments, k) === recallAt(shuffled, judgments, k)
        );
      }),
    );
  });

  it('unjudged documents inserted below rank k change nothing at k', () => {
    fc.assert(
      fc.property(judgmentsArb, rankingArb, kArb, (judgments, ranking, k) => {
        const padded = [...ranking.slice(0, k), 'u1', 'u2', ...ranking.slice(k)];
        return ndcgAt(ranking, judgments, k) === ndcgAt(padded, judgments, k);
      }),
    );
  });

  it('MRR and Recall lie in [0, 1], and recall never falls as k grows', () => {
    fc.assert(
      fc.property(judgmentsArb, rankingArb, kArb, fc.integer({ min: 1, max: 3 }), (judgments, ranking, k, t) => {
        const mrr = reciprocalRankAt(ranking, judgments, k, t);
        const r = recallAt(ranking, judgments, k, t);
        return mrr >= 0 && mrr <= 1 && r >= 0 && r <= 1 && recallAt(ranking, judgments, k + 1, t) >= r;
      }),
    );
  });
});
