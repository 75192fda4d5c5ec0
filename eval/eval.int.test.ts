// End to end: the `eval` CLI core with the real engine (models/minilm, models/all-MiniLM-L6-v2
// from `npm run models`) on small slices of the shared data.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { OnnxEmbeddings } from '../src/index.js';
import { CrossEncoder } from '../src/index.js';
import { runCli, type CliDeps } from './cli.js';

const DATA = resolve('../shared/data');
const ready =
  existsSync('models/minilm/onnx/model.onnx') &&
  existsSync('models/all-MiniLM-L6-v2/onnx/model.onnx') &&
  existsSync(join(DATA, 'trec-dl-2019-passage')) &&
  existsSync(join(DATA, 'scifact'));

const root = mkdtempSync(join(tmpdir(), 'eval-int-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function capture() {
  let text = '';
  return { stream: { isTTY: false, write: (s: string) => ((text += s), true) }, text: () => text };
}

function deps(out = capture(), err = capture()): CliDeps & { out: typeof out; err: typeof err } {
  return {
    loadScorer: (model, { variant }) => CrossEncoder.load(model, { variant, worker: false }),
    loadEmbeddings: async (model, { variant }) => new OnnxEmbeddings({ model, variant }),
    stdout: out.stream,
    stderr: err.stream,
    out,
    err,
  };
}

/** SciFact's first 3 judged queries over a 150-document slice that holds their relevant abstracts. */
function scifactSlice(): string {
  const dir = join(root, 'scifact-slice');
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  const src = join(DATA, 'scifact');
  const qrels = readFileSync(join(src, 'qrels', 'test.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const queries = readFileSync(join(src, 'queries.jsonl'), 'utf8').trim().split('\n').slice(0, 3);
  const qids = new Set(queries.map((l) => JSON.parse(l)._id as string));
  const kept = qrels.filter((l) => qids.has(l.split('\t')[0]!));
  const wanted = new Set(kept.map((l) => l.split('\t')[1]!));
  const corpus = readFileSync(join(src, 'corpus.jsonl'), 'utf8').trim().split('\n');
  const slice = corpus.filter((l, i) => i < 150 || wanted.has(JSON.parse(l)._id as string));
  writeFileSync(join(dir, 'corpus.jsonl'), `${slice.join('\n')}\n`);
  writeFileSync(join(dir, 'queries.jsonl'), `${queries.join('\n')}\n`);
  writeFileSync(join(dir, 'qrels', 'test.tsv'), `query-id\tcorpus-id\tscore\n${kept.join('\n')}\n`);
  return dir;
}

const mean = expect.objectContaining({
  ndcg: expect.any(Number),
  mrr: expect.any(Number),
  recall: expect.any(Number),
});

describe.skipIf(!ready)('eval CLI end to end', () => {
  it('reranks 3 DL19 queries of the BM25 run with models/minilm and writes the JSON report', async () => {
    const json = join(root, 'dl19.json');
    const d = deps();
    const argv = ['eval', '--data', join(DATA, 'trec-dl-2019-passage'), '--run', 'bm25', '--model', 'models/minilm'];
    const code = await runCli([...argv, '--top-k', '20', '--max-queries', '3', '--variant', 'int8', '--json', json], d);
    expect(code, d.err.text()).toBe(0);
    expect(d.out.text()).toMatch(/3 queries evaluated/);
    expect(d.err.text()).toMatch(/reranking 100% 3\/3/);
    const r = JSON.parse(readFileSync(json, 'utf8'));
    expect(r).toMatchObject({ model: 'models/minilm', reranker: 'cross-encoder', variant: 'int8' });
    expect(r.settings).toMatchObject({ topK: 20, maxQueries: 3, relevanceThreshold: 2, reranked: true });
    expect(r.queries).toHaveLength(3);
    expect(r.firstStage.mean).toEqual(mean);
    expect(r.reranked.mean).toEqual(mean);
    expect(Object.keys(r.reranked.perQuery).sort()).toEqual([...r.queries].sort());
    expect(r.timings.pairs).toBe(60);
  });

  it('runs the dense first stage on a SciFact slice, reranks it with the bi-encoder, then hits the cache', async () => {
    const data = scifactSlice();
    const cache = join(root, 'cache');
    const json = join(root, 'scifact.json');
    const saved = join(root, 'scifact.trec');
    const argv = ['eval', '--data', data, '--first-stage', 'dense', '--cache-dir', cache, '--top-k', '10'];
    argv.push('--embedding-model', 'models/all-MiniLM-L6-v2');
    const d = deps();
    const code = await runCli([...argv, '--reranker', 'bi-encoder', '--json', json, '--save-run', saved], d);
    expect(code, d.err.text()).toBe(0);
    expect(d.err.text()).toMatch(/embedding corpus 100%/);
    const r = JSON.parse(readFileSync(json, 'utf8'));
    expect(r).toMatchObject({ reranker: 'bi-encoder', embeddingModel: 'models/all-MiniLM-L6-v2' });
    expect(r.queries).toHaveLength(3);
    // Cosine reranking of cosine retrieval changes nothing in the top 10.
    expect(r.reranked.mean.ndcg).toBeCloseTo(r.firstStage.mean.ndcg, 6);
    expect(r.firstStage.mean.ndcg).toBeGreaterThan(0.3);
    expect(readFileSync(saved, 'utf8').trim().split('\n')).toHaveLength(30);
    const again = deps();
    expect(await runCli(argv, again)).toBe(0);
    expect(again.err.text()).toMatch(/using cached vectors/);
    expect(again.out.text()).toMatch(/first stage: dense models\/all-MiniLM-L6-v2/);
  });
});
