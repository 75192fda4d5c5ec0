// Measures the reranker's long-document windows and first-stage fusion through the public API:
//   npm run eval:rerank-options -- [--model models/ce-minilm-l6-ict] [--data ../shared/data] [--only chunking|fusion]
//                                  [--write]   also replace its tables in docs/evaluation.md
// Data, BM25 and metrics come from the evaluation toolkit; scoring goes through CrossEncoderReranker only.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Document } from '@langchain/core/documents';
import {
  CrossEncoder,
  CrossEncoderReranker,
  type CrossEncoderRerankerOptions,
  type RankResult,
  type RerankStats,
  type Scorer,
  type TextPair,
} from '../src/index.js';
import { Bm25Index } from './bm25.js';
import { defaultRelevanceThreshold, loadDataset, passageText, readTrecRun, type Dataset } from './datasets.js';
import { evaluateRankings, type ScoredDoc } from './metrics.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'models/ce-minilm-l6-ict' },
    data: { type: 'string', default: '../shared/data' },
    only: { type: 'string' },
    write: { type: 'boolean', default: false },
  },
});
const MODEL = resolve(values.model as string);
const DATA = resolve(values.data as string);

/** First-stage candidates per judged query: ids and scores, best first. */
type Candidates = Map<string, ScoredDoc[]>;

function bm25Candidates(dataset: Dataset, depth: number): Candidates {
  const index = Bm25Index.build(
    (function* () {
      for (const doc of dataset.corpus.values()) yield { id: doc.id, text: passageText(doc) };
    })(),
  );
  const out: Candidates = new Map();
  for (const [qid, text] of dataset.queries) if (dataset.qrels.has(qid)) out.set(qid, index.search(text, depth));
  return out;
}

async function runCandidates(dataset: Dataset, file: string, depth: number): Promise<Candidates> {
  const run = await readTrecRun(file);
  const out: Candidates = new Map();
  for (const [qid, entries] of run) if (dataset.qrels.has(qid)) out.set(qid, entries.slice(0, depth));
  return out;
}

/** Remembers scores by pair so several fusion settings reuse one pass of the model. */
class Memo implements Scorer {
  readonly #cache = new Map<string, number>();
  constructor(readonly inner: Scorer) {}
  async score(pairs: readonly TextPair[]): Promise<number[]> {
    const todo = pairs.filter(([q, p]) => !this.#cache.has(`${q}\u0000${p}`));
    if (todo.length > 0) {
      const scores = await this.inner.score(todo);
      todo.forEach(([q, p], i) => this.#cache.set(`${q}\u0000${p}`, scores[i] as number));
    }
    return pairs.map(([q, p]) => this.#cache.get(`${q}\u0000${p}`) as number);
  }
  async rank(query: string, documents: readonly string[]): Promise<RankResult[]> {
    const scores = await this.score(documents.map((d): TextPair => [query, d]));
    return scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index);
  }
}

interface Outcome {
  ndcg: number;
  ms: number;
  stats: Required<Pick<RerankStats, 'pairs' | 'chunks' | 'truncatedPairs'>>;
}

/** nDCG@10 of a reranker over the candidates, with the time it took and the engine's counts. */
async function measure(
  dataset: Dataset,
  candidates: Candidates,
  options: CrossEncoderRerankerOptions,
): Promise<Outcome> {
  const totals = { pairs: 0, chunks: 0, truncatedPairs: 0 };
  const reranker = new CrossEncoderReranker({
    ...options,
    onStats: (s) => {
      totals.pairs += s.pairs ?? 0;
      totals.chunks += s.chunks ?? 0;
      totals.truncatedPairs += s.truncatedPairs ?? 0;
    },
  });
  const rankings = new Map<string, string[]>();
  const started = performance.now();
  for (const [qid, docs] of candidates) {
    const input = docs.map(
      (d) =>
        new Document({ pageContent: passageText(dataset.corpus.get(d.id)!), metadata: { id: d.id, bm25: d.score } }),
    );
    const out = await reranker.compressDocuments(input, dataset.queries.get(qid)!);
    rankings.set(
      qid,
      out.map((d) => d.metadata['id'] as string),
    );
  }
  const ms = performance.now() - started;
  await reranker.dispose();
  const relevanceThreshold = defaultRelevanceThreshold(dataset.name);
  return { ndcg: evaluateRankings(dataset.qrels, rankings, { relevanceThreshold }).mean.ndcg, ms, stats: totals };
}

function firstStageNdcg(dataset: Dataset, candidates: Candidates): number {
  const rankings = new Map([...candidates].map(([qid, docs]) => [qid, docs.map((d) => d.id)]));
  return evaluateRankings(dataset.qrels, rankings, { relevanceThreshold: defaultRelevanceThreshold(dataset.name) }).mean
    .ndcg;
}

const fmt = (n: number) => n.toFixed(4);
const lines: string[] = [];
const say = (line: string) => {
  lines.push(line);
  console.log(line);
};

async function chunking(): Promise<void> {
  const dataset = await loadDataset(join(DATA, 'scifact'));
  const candidates = bm25Candidates(dataset, 10);
  say(`\n### Long documents: SciFact, BM25 top-10, maxLength 128 (${candidates.size} queries)\n`);
  say('| setting | nDCG@10 | windows scored | truncated pairs | time (s) |');
  say('| --- | ---: | ---: | ---: | ---: |');
  say(`| BM25 alone | ${fmt(firstStageNdcg(dataset, candidates))} | | | |`);
  const base = { model: MODEL, topN: 10, maxLength: 128 } as const;
  for (const [name, extra] of [
    ['truncated', {}],
    ['maxChunksPerDoc 4', { maxChunksPerDoc: 4 }],
    ['maxChunksPerDoc 8', { maxChunksPerDoc: 8 }],
  ] as const) {
    const r = await measure(dataset, candidates, { ...base, ...extra });
    say(`| ${name} | ${fmt(r.ndcg)} | ${r.stats.chunks} | ${r.stats.truncatedPairs} | ${(r.ms / 1000).toFixed(1)} |`);
  }
}

async function fusion(): Promise<void> {
  const sets: [string, Dataset, Candidates][] = [];
  const dl19 = await loadDataset(join(DATA, 'trec-dl-2019-passage'));
  sets.push([
    'TREC DL 2019, BM25 top-100',
    dl19,
    await runCandidates(dl19, join(dl19.dir, 'runs/bm25.top100.trec'), 100),
  ]);
  const scifact = await loadDataset(join(DATA, 'scifact'));
  sets.push(['SciFact, BM25 top-10', scifact, bm25Candidates(scifact, 10)]);
  for (const [name, dataset, candidates] of sets) {
    const model = await CrossEncoder.load(MODEL);
    const memo = new Memo(model);
    const topN = Math.max(...[...candidates.values()].map((c) => c.length));
    say(`\n### Fusion: ${name} (${candidates.size} queries)\n`);
    say('| setting | nDCG@10 |');
    say('| --- | ---: |');
    say(`| BM25 alone | ${fmt(firstStageNdcg(dataset, candidates))} |`);
    const alone = await measure(dataset, candidates, { model: memo, topN });
    say(
      `| cross-encoder alone (${candidates.size * topN} pairs or fewer, ${(alone.ms / 1000).toFixed(1)} s) | ${fmt(alone.ndcg)} |`,
    );
    for (const weight of [0.3, 0.5, 0.7]) {
      const rrf = await measure(dataset, candidates, { model: memo, topN, fusion: { method: 'rrf', weight } });
      say(`| rrf, weight ${weight} | ${fmt(rrf.ndcg)} |`);
    }
    for (const weight of [0.3, 0.5, 0.7]) {
      const w = await measure(dataset, candidates, {
        model: memo,
        topN,
        fusion: { method: 'weighted', weight, scoreKey: 'bm25' },
      });
      say(`| weighted (min-max BM25), weight ${weight} | ${fmt(w.ndcg)} |`);
    }
    await model.dispose();
  }
}

const only = values.only;
if (only === undefined || only === 'fusion') await fusion();
if (only === undefined || only === 'chunking') await chunking();
console.log('\n' + lines.join('\n'));
if (values.write) {
  // Its own section of docs/evaluation.md, found by heading, replaced whole; the rest of the file is left alone.
  const file = 'docs/evaluation.md';
  const heading = '## Reranker options: long documents and fusion';
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(heading);
  const next = start < 0 ? -1 : text.indexOf('\n## ', start + heading.length);
  const section = `${heading}\n\nMeasured with \`npm run eval:rerank-options\` (model ${values.model}).\n${lines.join('\n')}\n`;
  const before = start < 0 ? `${text.trimEnd()}\n\n` : text.slice(0, start);
  writeFileSync(file, before + section + (next < 0 ? '' : text.slice(next + 1)));
}
