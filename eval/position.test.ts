import { describe, expect, it } from 'vitest';

import type { RankResult, Scorer, TextPair } from '../src/index.js';
import type { Dataset } from './datasets.js';
import {
  buildPositionProbes,
  formatPosition,
  leadingSentences,
  measurePosition,
  offsetsFor,
  spread,
} from './position.js';

/** A Scorer from a pure function of the pair. */
function scorerOf(score: (query: string, passage: string) => number): Scorer {
  return {
    async score(pairs: readonly TextPair[]) {
      return pairs.map(([q, p]) => score(q, p));
    },
    async rank(query: string, documents: readonly string[]): Promise<RankResult[]> {
      return documents.map((d, index) => ({ index, score: score(query, d) }));
    },
  };
}

const words = (n: number, stem: string) => Array.from({ length: n }, (_, i) => `${stem}${i}`).join(' ');

const dataset: Dataset = {
  name: 'toy',
  dir: '/toy',
  split: 'test',
  corpus: new Map(
    [
      ['a', '', 'Tides are caused by the pull of the Moon. They rise twice a day.'],
      ['b', '', `${words(40, 'bee')}.`],
      ['c', '', `${words(40, 'cow')}.`],
      ['d', '', `${words(40, 'dog')}.`],
      ['long', '', `${words(80, 'long')}. Second sentence.`],
    ].map(([id, title, text]) => [id!, { id: id!, title: title!, text: text! }]),
  ),
  queries: new Map([
    ['q1', 'what causes tides'],
    ['q2', 'bees'],
    ['q3', 'cows'],
    ['q4', 'dogs'],
    ['q5', 'long'],
  ]),
  qrels: new Map([
    [
      'q1',
      new Map([
        ['a', 2],
        ['b', 0], // judged for q1, so never its filler
      ]),
    ],
    ['q2', new Map([['b', 1]])],
    ['q3', new Map([['c', 1]])],
    ['q4', new Map([['d', 1]])],
    ['q5', new Map([['long', 1]])],
  ]),
};

describe('position probes', () => {
  const { probes, skipped } = buildPositionProbes(dataset, ['q1', 'q2', 'q5'], { offsets: 5, fillerWords: 60 });
  const q1 = probes.find((p) => p.queryId === 'q1')!;

  it('places the whole answer after exactly `offset` filler words, the filler the same in every window', () => {
    expect(q1.answer).toBe('Tides are caused by the pull of the Moon. They rise twice a day.');
    expect(q1.offsets).toEqual([0, 15, 30, 45, 60]);
    const fillers = q1.windows.map((w, i) => {
      const at = w.indexOf(q1.answer);
      expect(at).toBeGreaterThanOrEqual(0);
      const before = w.slice(0, at).split(/\s+/).filter(Boolean);
      expect(before.length).toBe(q1.offsets[i]);
      return [
        ...before,
        ...w
          .slice(at + q1.answer.length)
          .split(/\s+/)
          .filter(Boolean),
      ];
    });
    expect(new Set(fillers.map((f) => f.join(' '))).size).toBe(1);
    expect(fillers[0]).toHaveLength(60);
  });

  it('takes filler only from passages the query has no judgment for', () => {
    expect(q1.windows[0]).not.toMatch(/bee\d/);
    expect(q1.windows[0]).toMatch(/cow0/);
  });

  it('skips a query whose first sentence alone is longer than the answer limit', () => {
    expect(skipped).toEqual(['q5']);
  });

  it('leadingSentences and offsetsFor', () => {
    expect(leadingSentences('One two. Three four five. Six.', 5)).toBe('One two. Three four five.');
    expect(leadingSentences('One two three.', 2)).toBeUndefined();
    expect(offsetsFor(3, 10)).toEqual([0, 5, 10]);
    expect(offsetsFor(1, 10)).toEqual([0]);
    expect(spread([0.2, 0.9, 0.5])).toBeCloseTo(0.7, 12);
    expect(spread([0.4])).toBe(0);
  });
});

describe('measurePosition', () => {
  const { probes, skipped } = buildPositionProbes(dataset, ['q1', 'q2', 'q3'], { offsets: 3, fillerWords: 40 });

  it('is 0 for a scorer that ignores where the answer sits', async () => {
    const blind = scorerOf((q, p) => (p.includes('Moon') ? 0.9 : 0.1));
    const report = await measurePosition(blind, probes, { skipped, fillerWords: 40 });
    expect(report.meanSpread).toBe(0);
    expect(report.maxSpread).toBe(0);
  });

  it('is the max - min of the scores over offsets, averaged over queries', async () => {
    // Score falls linearly with the answer's word offset: 1 at the start, 1 - 40/100 = 0.6 at the end.
    const answers = new Map(probes.map((p) => [p.query, p.answer]));
    const biased = scorerOf((q, p) => {
      const before = p
        .slice(0, p.indexOf(answers.get(q)!))
        .split(/\s+/)
        .filter(Boolean).length;
      return (q === 'bees' ? 0.5 : 1) * (1 - before / 100);
    });
    const report = await measurePosition(biased, probes, { skipped, fillerWords: 40 });
    expect(report.probes).toBe(3);
    // Spreads: 0.4, 0.2 (bees, halved), 0.4.
    expect(report.perQuery.q1!.spread).toBeCloseTo(0.4, 12);
    expect(report.perQuery.q2!.spread).toBeCloseTo(0.2, 12);
    expect(report.meanSpread).toBeCloseTo(1 / 3, 12);
    expect(report.medianSpread).toBeCloseTo(0.4, 12);
    expect(report.maxSpread).toBeCloseTo(0.4, 12);
    expect(report.meanScoreByOffset).toHaveLength(3);
    expect(report.meanScoreByOffset[0]! - report.meanScoreByOffset[2]!).toBeCloseTo(1 / 3, 12);
    expect(formatPosition(report)).toMatch(/mean 0\.3333, median 0\.4000, max 0\.4000/);
  });

  it('refuses to measure nothing', async () => {
    await expect(
      measurePosition(
        scorerOf(() => 0),
        [],
        { fillerWords: 40 },
      ),
    ).rejects.toThrow(/nothing to measure/);
  });
});
