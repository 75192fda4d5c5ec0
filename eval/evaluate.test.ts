import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import type { RankResult, Scorer, TextPair } from '../src/index.js';
import { type Dataset, listRuns, loadDataset, readQrels, readTrecRun } from './datasets.js';
import { evaluateReranking } from './evaluate.js';
import { evaluateRun, ndcgAt } from './metrics.js';

const DATA = process.env.EVAL_DATA_DIR ?? fileURLToPath(new URL('../../shared/data', import.meta.url));
const HAS_DATA = existsSync(join(DATA, 'README.md'));
if (!HAS_DATA) console.warn(`evaluate.test: skipping real-data tests, no evaluation data at ${DATA}`);

/** A Scorer from a pure scoring function; ties keep the caller's order, like CrossEncoder. */
function fakeScorer(score: (query: string, passage: string) => number): Scorer & { calls: number } {
  const scorer = {
    calls: 0,
    async score(pairs: readonly TextPair[]) {
      return pairs.map(([q, p]) => score(q, p));
    },
    async rank(query: string, documents: readonly string[], options?: { topK?: number }): Promise<RankResult[]> {
      scorer.calls++;
      const ranked = documents
        .map((d, index) => ({ index, score: score(query, d) }))
        .sort((a, b) => b.score - a.score || a.index - b.index);
      return ranked.slice(0, options?.topK ?? ranked.length);
    },
  };
  return scorer;
}

const words = (s: string) => new Set(s.toLowerCase().match(/[a-z0-9]+/g) ?? []);
const overlapScorer = () =>
  fakeScorer((q, p) => {
    const pw = words(p);
    return [...words(q)].filter((w) => pw.has(w)).length;
  });

describe('evaluateReranking on a toy dataset', () => {
  const dataset: Dataset = {
    name: 'toy',
    dir: '/toy',
    split: 'test',
    corpus: new Map(
      [
        ['d1', 'Cats', 'cats purr'],
        ['d2', '', 'dogs bark loudly'],
        ['d3', '', 'a cat and a dog'],
        ['d4', '', 'nothing here'],
      ].map(([id, title, text]) => [id!, { id: id!, title: title!, text: text! }]),
    ),
    queries: new Map([
      ['q1', 'cats purr'],
      ['q2', 'dogs bark'],
      ['q3', 'unjudged query'],
    ]),
    qrels: new Map([
      ['q1', new Map([['d1', 1]])],
      [
        'q2',
        new Map([
          ['d2', 2],
          ['d3', 1],
        ]),
      ],
    ]),
  };
  const run = new Map([
    [
      'q1',
      [
        { id: 'd4', score: 3 },
        { id: 'ghost', score: 2 },
        { id: 'd1', score: 1 },
      ],
    ],
    [
      'q2',
      [
        { id: 'd3', score: 2 },
        { id: 'd4', score: 1 },
        { id: 'd2', score: 0.5 },
      ],
    ],
    ['q3', [{ id: 'd1', score: 1 }]],
  ]);

  it('measures the first stage alone without a scorer', async () => {
    const report = await evaluateReranking({ dataset, firstStage: run });
    expect(report.queries).toEqual(['q1', 'q2']);
    expect(report.reranked).toBeUndefined();
    expect(report.settings.relevanceThreshold).toBe(1);
    expect(report.firstStage.perQuery.q1!.mrr).toBeCloseTo(1 / 3, 15);
  });

  it('reranks the top k, drops candidates missing from the corpus and keeps the tail', async () => {
    const scorer = overlapScorer();
    const progress: number[] = [];
    const report = await evaluateReranking({
      dataset,
      firstStage: run,
      scorer,
      topK: 2,
      onProgress: (done) => progress.push(done),
    });
    expect(progress).toEqual([1, 2]);
    expect(report.missingFromCorpus).toEqual({ candidates: 1, queries: 1 });
    // q1: top 2 = d4, ghost → ghost dropped, d4 reranked alone, d1 stays in the tail at rank 2.
    expect(report.reranked!.perQuery.q1!.mrr).toBe(1 / 2);
    // q2: top 2 = d3 ("dog" ≠ "dogs": 0 overlap), d4 (0) → tie keeps first-stage order; d2 in the tail.
    expect(report.reranked!.perQuery.q2!.ndcg).toBeCloseTo(report.firstStage.perQuery.q2!.ndcg, 15);
    // With the full list reranked, both relevant docs rise to the top.
    const full = await evaluateReranking({ dataset, firstStage: run, scorer: overlapScorer() });
    expect(full.reranked!.perQuery.q1).toEqual({ ndcg: 1, mrr: 1, recall: 1 });
    expect(full.reranked!.perQuery.q2!.mrr).toBe(1);
  });

  it('accepts a first-stage function and BM25, and honours maxQueries', async () => {
    const fn = (query: { id: string }) => (query.id === 'q1' ? [{ id: 'd1', score: 1 }] : []);
    const report = await evaluateReranking({ dataset, firstStage: fn });
    expect(report.queries).toEqual(['q1']);
    expect(report.skipped.noCandidates).toEqual(['q2']);
    const bm25 = await evaluateReranking({ dataset, firstStage: 'bm25', maxQueries: 1 });
    expect(bm25.queries).toEqual(['q1']);
    expect(bm25.firstStage.mean.ndcg).toBe(1);
  });

  it('rejects bad options', async () => {
    await expect(evaluateReranking({ dataset, firstStage: run, topK: 0 })).rejects.toThrow(/topK/);
    await expect(evaluateReranking({ dataset, firstStage: new Map() })).rejects.toThrow(/no judged query/);
  });
});

describe.skipIf(!HAS_DATA)('acceptance on the shared data', () => {
  it('DL19 BM25 run: nDCG@10 = 0.5058 (trec_eval gain), and the other runs match PROVENANCE.md', async () => {
    const dir = join(DATA, 'trec-dl-2019-passage');
    const qrels = await readQrels(join(dir, 'qrels', 'test.tsv'));
    const bm25 = evaluateRun(qrels, await readTrecRun(join(dir, 'runs', 'bm25.top100.trec')));
    console.log(`DL19 bm25 nDCG@10 = ${bm25.mean.ndcg}`);
    expect(bm25.perQuery.size).toBe(43);
    expect(bm25.mean.ndcg.toFixed(4)).toBe('0.5058');

    const expected: Record<string, [string, string]> = {
      'bm25-rm3.top100.trec': ['0.5216', '0.4821'],
      'bm25.top100.trec': ['0.5058', '0.4531'],
      'openai-ada2.top100.trec': ['0.7035', '0.5256'],
      'splade-pp-ed.top100.trec': ['0.7308', '0.5549'],
      'tasb.top100.trec': ['0.7210', '0.5158'],
    };
    for (const path of listRuns(dir)) {
      const run = await readTrecRun(path);
      const loose = evaluateRun(qrels, run, { relevanceThreshold: 1 });
      const strict = evaluateRun(qrels, run, { relevanceThreshold: 2 });
      console.log(
        `DL19 ${basename(path)}: nDCG@10 ${loose.mean.ndcg.toFixed(4)}, R@100 (>=1) ${loose.mean.recall.toFixed(4)}, ` +
          `MRR@10 (>=2) ${strict.mean.mrr.toFixed(4)}, R@100 (>=2) ${strict.mean.recall.toFixed(4)}`,
      );
      expect([loose.mean.ndcg.toFixed(4), loose.mean.recall.toFixed(4)]).toEqual(expected[basename(path)]);
    }
  });

  it('DL21 BM25 run: nDCG@10 = 0.4458, BM25+RM3 = 0.4455', async () => {
    const dir = join(DATA, 'trec-dl-2021-passage');
    const qrels = await readQrels(join(dir, 'qrels', 'test.tsv'));
    const bm25 = evaluateRun(qrels, await readTrecRun(join(dir, 'runs', 'bm25.top100.trec')));
    const rm3 = evaluateRun(qrels, await readTrecRun(join(dir, 'runs', 'bm25-rm3.top100.trec')));
    console.log(`DL21 bm25 nDCG@10 = ${bm25.mean.ndcg}, bm25-rm3 = ${rm3.mean.ndcg}`);
    expect(bm25.mean.ndcg.toFixed(4)).toBe('0.4458');
    expect(rm3.mean.ndcg.toFixed(4)).toBe('0.4455');
  });

  it('BM25 first stage on SciFact reaches a sensible nDCG@10', async () => {
    const dataset = await loadDataset(join(DATA, 'scifact'));
    const report = await evaluateReranking({ dataset, firstStage: 'bm25' });
    const { ndcg, mrr, recall } = report.firstStage.mean;
    console.log(
      `SciFact BM25 (flat title+text, k1=0.9 b=0.4, threshold 1): nDCG@10 ${ndcg.toFixed(4)}, MRR@10 ${mrr.toFixed(4)}, R@100 ${recall.toFixed(4)}, ${report.timings.firstStageMs.toFixed(0)} ms`,
    );
    expect(report.queries).toHaveLength(300);
    expect(ndcg).toBeGreaterThan(0.6);
  });

  it('BM25 first stage on Cranfield', async () => {
    const dataset = await loadDataset(join(DATA, 'cranfield'));
    const report = await evaluateReranking({ dataset, firstStage: 'bm25' });
    const { ndcg, mrr, recall } = report.firstStage.mean;
    console.log(
      `Cranfield BM25 (threshold 1): nDCG@10 ${ndcg.toFixed(4)}, MRR@10 ${mrr.toFixed(4)}, R@100 ${recall.toFixed(4)}`,
    );
    expect(report.queries).toHaveLength(225);
    expect(ndcg).toBeGreaterThan(0.25);
  });

  it('an oracle reranker reaches the ideal nDCG@10 over the DL19 BM25 candidates', async () => {
    const dataset = await loadDataset(join(DATA, 'trec-dl-2019-passage'));
    const run = await readTrecRun(join(dataset.dir, 'runs', 'bm25.top100.trec'));
    // The oracle sees only (query, passage text), so it maps text back to the judgment.
    const gainByText = new Map<string, Map<string, number>>();
    for (const [qid, judgments] of dataset.qrels) {
      const byText = new Map<string, number>();
      for (const entry of run.get(qid) ?? []) {
        const doc = dataset.corpus.get(entry.id)!;
        const gain = judgments.get(entry.id) ?? 0;
        byText.set(doc.text, Math.max(gain, byText.get(doc.text) ?? 0));
      }
      gainByText.set(dataset.queries.get(qid)!, byText);
    }
    const oracle = fakeScorer((q, p) => gainByText.get(q)!.get(p)!);
    const report = await evaluateReranking({ dataset, firstStage: run, scorer: oracle });

    let ideal = 0;
    for (const qid of report.queries) {
      const judgments = dataset.qrels.get(qid)!;
      const best = run
        .get(qid)!
        .map((e) => e.id)
        .sort((a, b) => (judgments.get(b) ?? 0) - (judgments.get(a) ?? 0));
      ideal += ndcgAt(best, judgments, 10);
    }
    ideal /= report.queries.length;
    console.log(
      `DL19 oracle over BM25 top-100: nDCG@10 ${report.reranked!.mean.ndcg.toFixed(4)} (ideal ${ideal.toFixed(4)}; first stage ${report.firstStage.mean.ndcg.toFixed(4)})`,
    );
    expect(report.reranked!.mean.ndcg).toBeCloseTo(ideal, 12);
    expect(report.reranked!.mean.recall).toBeCloseTo(report.firstStage.mean.recall, 12); // same 100 docs
    expect(report.missingFromCorpus.candidates).toBe(0);
    expect(oracle.calls).toBe(43);
  });

  it('reranking with a word-overlap scorer is deterministic', async () => {
    const dataset = await loadDataset(join(DATA, 'trec-dl-2019-passage'));
    const run = await readTrecRun(join(dataset.dir, 'runs', 'bm25.top100.trec'));
    const a = await evaluateReranking({ dataset, firstStage: run, scorer: overlapScorer() });
    const b = await evaluateReranking({ dataset, firstStage: run, scorer: overlapScorer() });
    console.log(
      `DL19 word-overlap rerank of BM25: nDCG@10 ${a.reranked!.mean.ndcg.toFixed(4)}, MRR@10 (>=2) ${a.reranked!.mean.mrr.toFixed(4)}`,
    );
    expect(a.reranked).toEqual(b.reranked);
    expect(a.settings.relevanceThreshold).toBe(2);
  });
});
