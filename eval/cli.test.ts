import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { EmbeddingsInterface } from '@langchain/core/embeddings';

import { DEFAULT_EMBEDDING_MODEL, type Scorer } from '../src/index.js';
import { formatRun, HELP, runCli } from './cli.js';
import { createProgress } from './progress.js';

const root = mkdtempSync(join(tmpdir(), 'eval-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A tiny BEIR-layout dataset with one shipped run.
const data = join(root, 'tiny');
mkdirSync(join(data, 'qrels'), { recursive: true });
mkdirSync(join(data, 'runs'));
writeFileSync(
  join(data, 'corpus.jsonl'),
  [
    '{"_id":"d1","title":"","text":"red apples"}',
    '{"_id":"d2","title":"","text":"green pears"}',
    '{"_id":"d3","title":"","text":"blue sky"}',
  ].join('\n'),
);
writeFileSync(join(data, 'queries.jsonl'), '{"_id":"q1","text":"green pears"}\n{"_id":"q2","text":"red apples"}\n');
writeFileSync(join(data, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td1\t1\n');
writeFileSync(
  join(data, 'runs', 'first.top100.trec'),
  'q1 Q0 d1 1 3 r\nq1 Q0 d3 2 2 r\nq1 Q0 d2 3 1 r\nq2 Q0 d1 1 1 r\n',
);

function capture(isTTY = false) {
  let text = '';
  return { stream: { isTTY, write: (s: string) => ((text += s), true) }, text: () => text };
}

// Scores a passage by how many of the query's words it contains; ties keep the given order.
const overlap: Scorer = {
  async score(pairs) {
    return pairs.map(([q, p]) => q.split(' ').filter((w) => p.includes(w)).length);
  },
  async rank(query, documents) {
    const scores = await overlap.score(documents.map((d) => [query, d] as const));
    return scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index);
  },
};

// Bag-of-words vectors over the toy vocabulary: a deterministic stand-in for a bi-encoder.
const WORDS = ['red', 'apples', 'green', 'pears', 'blue', 'sky'];
function toyEmbeddings(): EmbeddingsInterface & { dispose(): Promise<void>; disposed: number } {
  const vec = (t: string) => WORDS.map((w) => (t.split(' ').includes(w) ? 1 : 0));
  return {
    disposed: 0,
    async embedDocuments(texts) {
      return texts.map(vec);
    },
    async embedQuery(text) {
      return vec(text);
    },
    async dispose() {
      this.disposed++;
    },
  };
}

async function run(argv: string[], scorer: Scorer = overlap) {
  const out = capture();
  const err = capture();
  const loaded: string[] = [];
  const variants: string[] = [];
  const encoders: string[] = [];
  let disposed = 0;
  const code = await runCli(argv, {
    loadScorer: async (model, { variant }) => {
      loaded.push(model);
      variants.push(variant);
      return { ...scorer, rank: scorer.rank, score: scorer.score, dispose: async () => void disposed++ };
    },
    loadEmbeddings: async (model, { variant }) => {
      encoders.push(`${model}:${variant}`);
      const e = toyEmbeddings();
      const dispose = e.dispose.bind(e);
      e.dispose = async () => {
        disposed++;
        await dispose();
      };
      return e;
    },
    stdout: out.stream,
    stderr: err.stream,
  });
  return { code, stdout: out.text(), stderr: err.text(), loaded, variants, encoders, disposed: () => disposed };
}

describe('runCli', () => {
  it('prints help with exit code 0', async () => {
    for (const argv of [['--help'], ['eval', '-h']]) {
      const r = await run(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(HELP);
    }
  });

  it.each([
    [[], /missing command "eval"/],
    [['rank'], /unknown command "rank"/],
    [['eval'], /--data <dataset dir> is required/],
    [['eval', '--data', '/no/such/dir'], /is not a folder/],
    [['eval', '--data', data, '--top-k', '0'], /--top-k must be a positive integer/],
    [['eval', '--data', data, '--max-queries', 'x'], /--max-queries must be a positive integer/],
    [['eval', '--data', data, '--relevance-threshold', 'two'], /--relevance-threshold must be a number/],
    [['eval', '--data', data, '--run', 'nope'], /--run: no file "nope" \(runs in .*: first\.top100\.trec\)/],
    [['eval', '--data', data, '--run', 'first', '--first-stage', 'bm25'], /either --run or --first-stage/],
    [['eval', '--data', data, '--first-stage', 'sparse'], /--first-stage must be bm25 or dense/],
    [['eval', '--data', data, '--reranker', 'llm'], /--reranker must be cross-encoder or bi-encoder/],
    [['eval', '--data', data, '--variant', 'fp16'], /--variant must be fp32 or int8/],
    [['eval', '--data', data, '--wat'], /Unknown option '--wat'/],
    [['eval', '--data', data, '--position'], /--position scores with the reranker: give --model/],
    [['eval', '--data', data, '--model', 'm', '--position', '--position-offsets', '0'], /--position-offsets must be/],
  ])('exits 2 on %j', async (argv, message) => {
    const r = await run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/--help/);
  });

  it('reports the position spread with --position, in the text and the JSON', async () => {
    const json = join(root, 'position.json');
    // overlap counts query words in the window wherever they sit: a position-blind scorer, spread 0.
    const argv = ['eval', '--data', data, '--model', 'm', '--position', '--position-filler-words', '2'];
    const r = await run([...argv, '--position-offsets', '3', '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/position: the answer at 3 offsets of 2 filler words, 2 queries/);
    expect(r.stdout).toMatch(/spread \(max - min over offsets\): mean 0\.0000/);
    const record = JSON.parse(readFileSync(json, 'utf8'));
    expect(record.position).toMatchObject({ probes: 2, offsets: 3, meanSpread: 0, meanScoreByOffset: [2, 2, 2] });
  });

  it('measures a named run, reranks it with the injected model and writes JSON', async () => {
    const json = join(root, 'out.json');
    const r = await run(['eval', '--data', data, '--run', 'first', '--model', 'my/model', '--json', json]);
    expect(r.code).toBe(0);
    expect(r.loaded).toEqual(['my/model']);
    expect(r.disposed()).toBe(1);
    expect(r.stdout).toMatch(/tiny \(test\): 2 queries evaluated, 3 documents/);
    expect(r.stdout).toMatch(/first stage\s+0\.7500\s+0\.6667\s+1\.0000/);
    expect(r.stdout).toMatch(/reranked\s+1\.0000\s+1\.0000\s+1\.0000/);
    expect(r.stdout).toMatch(/change\s+\+0\.2500\s+\+0\.3333\s+\+0\.0000/);
    expect(r.stderr).toMatch(/reranking .*2\/2/);
    const record = JSON.parse(readFileSync(json, 'utf8'));
    expect(record.model).toBe('my/model');
    expect(record.settings).toMatchObject({ relevanceThreshold: 1, topK: 100, ndcgCutoff: 10, firstStage: 'run' });
    expect(record.reranked.perQuery.q1).toEqual({ ndcg: 1, mrr: 1, recall: 1 });
    expect(Object.keys(record.firstStage.perQuery)).toEqual(['q1', 'q2']);
    expect(record.timings.pairs).toBe(4);
  });

  it('defaults to BM25 and notes that the dataset ships runs', async () => {
    const r = await run(['eval', '--data', data, '--max-queries', '1', '--relevance-threshold', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 queries evaluated/);
    expect(r.stdout).toMatch(/first stage: bm25/);
    expect(r.stdout).not.toMatch(/reranked/);
    expect(r.stderr).toMatch(/ships first-stage runs/);
  });

  it('retrieves with the dense first stage, caches the corpus vectors and saves the run', async () => {
    const cacheDir = join(root, 'vectors');
    const saved = join(root, 'dense.trec');
    const json = join(root, 'dense.json');
    const argv = ['eval', '--data', data, '--first-stage', 'dense', '--cache-dir', cacheDir, '--save-run', saved];
    const r = await run([...argv, '--json', json, '--embedding-model', 'enc']);
    expect(r.code).toBe(0);
    expect(r.encoders).toEqual(['enc:fp32']);
    expect(r.disposed()).toBe(1);
    expect(r.stderr).toMatch(/embedding the corpus; caching vectors/);
    expect(r.stderr).toMatch(/embedding corpus 100% 3\/3/);
    expect(r.stdout).toMatch(/first stage\s+1\.0000\s+1\.0000\s+1\.0000/);
    const lines = readFileSync(saved, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^q1 Q0 d2 1 (1|0\.9999\d*) first-stage$/);
    expect(lines).toHaveLength(6);
    const record = JSON.parse(readFileSync(json, 'utf8'));
    expect(record.embeddingModel).toBe('enc');
    expect(record.candidates).toBeUndefined();
    const again = await run([...argv, '--embedding-model', 'enc']);
    expect(again.stderr).toMatch(/using cached vectors/);
  });

  it('names the recall depth the first stage kept and counts corpus embedding in the first-stage time', async () => {
    // The shipped run keeps at most 3 candidates per query, so Recall@100 is Recall@3.
    const shallow = await run(['eval', '--data', data, '--run', 'first']);
    expect(shallow.stdout).toMatch(/Recall@3 count judgment/);
    expect(shallow.stdout).toMatch(/stage\s+nDCG@10\s+MRR@10\s+Recall@3\n/);
    expect(shallow.stdout).not.toMatch(/corpus embedding/);
    const dense = await run(['eval', '--data', data, '--first-stage', 'dense', '--cache-dir', join(root, 'v2')]);
    expect(dense.code).toBe(0);
    expect(dense.stdout).toMatch(/time: first stage \d+\.\d s \(corpus embedding \d+\.\d s\)/);
  });

  it('defaults the embedding model to a hub id, not a path inside this repository', async () => {
    const r = await run(['eval', '--data', data, '--first-stage', 'dense', '--cache-dir', join(root, 'v3')]);
    expect(r.encoders).toEqual([`${DEFAULT_EMBEDDING_MODEL}:fp32`]);
    expect(DEFAULT_EMBEDDING_MODEL).toMatch(/^[\w.-]+\/[\w.-]+$/);
    expect(HELP).toContain(`default ${DEFAULT_EMBEDDING_MODEL}`);
  });

  it('reranks with the bi-encoder and passes --variant to the cross-encoder', async () => {
    const bi = await run(['eval', '--data', data, '--run', 'first', '--reranker', 'bi-encoder', '--model', 'enc']);
    expect(bi.code).toBe(0);
    expect(bi.loaded).toEqual([]);
    expect(bi.encoders).toEqual(['enc:fp32']);
    expect(bi.disposed()).toBe(1);
    expect(bi.stdout).toMatch(/reranked top 100 with bi-encoder enc \(cosine, fp32\)/);
    expect(bi.stdout).toMatch(/reranked\s+1\.0000\s+1\.0000\s+1\.0000/);
    const ce = await run(['eval', '--data', data, '--run', 'first', '--model', 'm', '--variant', 'int8']);
    expect(ce.code).toBe(0);
    expect(ce.variants).toEqual(['int8']);
    expect(ce.stdout).toMatch(/with m \(int8\)/);
  });

  it('exits 1 for dense retrieval when the host cannot load a bi-encoder', async () => {
    const err = capture();
    const code = await runCli(['eval', '--data', data, '--first-stage', 'dense'], {
      loadScorer: async () => overlap,
      stdout: capture().stream,
      stderr: err.stream,
    });
    expect(code).toBe(1);
    expect(err.text()).toMatch(/cannot load a bi-encoder/);
  });

  it('formats a TREC run', () => {
    expect(
      formatRun(
        {
          q: [
            { id: 'a', score: 2 },
            { id: 'b', score: 1 },
          ],
        },
        1,
      ),
    ).toBe('q Q0 a 1 2 first-stage\n');
    expect(formatRun({}, 5)).toBe('');
  });

  it('exits 1 when the model fails to load or the data is malformed', async () => {
    const failing = await runCli(['eval', '--data', data, '--model', 'x'], {
      loadScorer: async () => {
        throw new Error('no such model');
      },
      stdout: capture().stream,
      stderr: capture().stream,
    });
    expect(failing).toBe(1);
    const broken = join(root, 'broken');
    mkdirSync(join(broken, 'qrels'), { recursive: true });
    writeFileSync(join(broken, 'corpus.jsonl'), '{"_id":"d1","text":"x"}\nnot json\n');
    writeFileSync(join(broken, 'queries.jsonl'), '{"_id":"q1","text":"x"}\n');
    writeFileSync(join(broken, 'qrels', 'test.tsv'), 'q1\td1\t1\n');
    const r = await run(['eval', '--data', broken]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/corpus\.jsonl:2: invalid JSON/);
  });
});

describe('createProgress', () => {
  it('prints about every 10% when not a TTY', () => {
    const out = capture(false);
    const bar = createProgress('work', 100, out.stream);
    for (let i = 1; i <= 100; i++) bar.update(i);
    bar.finish();
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toMatch(/^work 100% 100\/100/);
  });

  it('redraws one line on a TTY', () => {
    const out = capture(true);
    const bar = createProgress('work', 4, out.stream);
    bar.update(2);
    bar.finish();
    expect(out.text()).toMatch(/^\r\x1b\[2Kwork \[#{12}\.{12}\]\s+50% 2\/4/);
    expect(out.text().endsWith('\n')).toBe(true);
  });
});
