import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import type { EmbeddingsInterface } from '@langchain/core/embeddings';

import type { Dataset } from './datasets.js';
import { BiEncoderScorer, corpusKey, denseFirstStage } from './dense.js';

const root = mkdtempSync(join(tmpdir(), 'eval-dense-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const VOCAB = ['apple', 'pear', 'sky', 'blue', 'green', 'red'];

/** Bag-of-words vectors over a fixed vocabulary: a deterministic stand-in for a bi-encoder. */
function fakeEmbeddings() {
  const calls = { documents: 0, queries: 0 };
  const vec = (text: string) => VOCAB.map((w) => text.split(/\W+/).filter((t) => t === w).length);
  const embeddings: EmbeddingsInterface = {
    async embedDocuments(texts) {
      calls.documents += texts.length;
      return texts.map(vec);
    },
    async embedQuery(text) {
      calls.queries++;
      return vec(text);
    },
  };
  return { embeddings, calls };
}

function dataset(docs: Record<string, string>): Dataset {
  return {
    name: 'toy',
    dir: root,
    split: 'test',
    corpus: new Map(Object.entries(docs).map(([id, text]) => [id, { id, title: '', text }])),
    queries: new Map(),
    qrels: new Map(),
  } as unknown as Dataset;
}

const docs = { d1: 'red apple', d2: 'green pear', d3: 'blue sky', d4: '   ', d5: 'green apple' };

describe('denseFirstStage', () => {
  it('returns the nearest documents by cosine, skipping empty passages', async () => {
    const { embeddings } = fakeEmbeddings();
    const retrieve = await denseFirstStage(dataset(docs), { embeddings, modelId: 'fake' });
    const hits = await retrieve({ id: 'q', text: 'green apple' }, 3);
    expect(hits.map((h) => h.id)).toEqual(['d5', 'd1', 'd2']);
    expect(hits[0]!.score).toBeCloseTo(1, 6);
    expect(hits[1]!.score).toBeCloseTo(0.5, 6);
    const all = await retrieve({ id: 'q', text: 'green apple' }, 10);
    expect(all.map((h) => h.id)).not.toContain('d4');
  });

  it('caches corpus vectors by model and corpus content, and reports progress', async () => {
    const cacheDir = join(root, 'cache');
    const first = fakeEmbeddings();
    const progress: number[] = [];
    const events: boolean[] = [];
    const a = await denseFirstStage(dataset(docs), {
      embeddings: first.embeddings,
      modelId: 'fake',
      cacheDir,
      chunkSize: 2,
      onProgress: (done) => progress.push(done),
      onCache: (e) => events.push(e.hit),
    });
    expect(first.calls.documents).toBe(4);
    expect(progress).toEqual([2, 4]);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.f32'))).toHaveLength(1);
    const second = fakeEmbeddings();
    const b = await denseFirstStage(dataset(docs), {
      embeddings: second.embeddings,
      modelId: 'fake',
      cacheDir,
      onCache: (e) => events.push(e.hit),
    });
    expect(second.calls.documents).toBe(0);
    expect(events).toEqual([false, true]);
    expect(await b({ id: 'q', text: 'blue sky' }, 2)).toEqual(await a({ id: 'q', text: 'blue sky' }, 2));
    // another model or other text: another key
    const k = corpusKey('fake', [{ id: 'd1', text: 'x' }]);
    expect(corpusKey('other', [{ id: 'd1', text: 'x' }])).not.toBe(k);
    expect(corpusKey('fake', [{ id: 'd1', text: 'y' }])).not.toBe(k);
    expect(existsSync(join(cacheDir, `${corpusKey('fake', [{ id: 'd1', text: 'red apple' }])}.f32`))).toBe(false);
  });

  it('rejects a bad chunk size', async () => {
    const { embeddings } = fakeEmbeddings();
    await expect(denseFirstStage(dataset(docs), { embeddings, modelId: 'f', chunkSize: 0 })).rejects.toThrow(
      /chunkSize/,
    );
  });
});

describe('BiEncoderScorer', () => {
  it('scores pairs by cosine and ranks best first, ties in the given order', async () => {
    const { embeddings, calls } = fakeEmbeddings();
    const scorer = new BiEncoderScorer(embeddings);
    expect(await scorer.score([])).toEqual([]);
    const scores = await scorer.score([
      ['red apple', 'red apple'],
      ['red apple', 'blue sky'],
      ['blue', 'blue sky'],
    ]);
    expect(scores[0]).toBeCloseTo(1, 6);
    expect(scores[1]).toBe(0);
    expect(scores[2]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(calls.queries).toBe(2); // one embedding per distinct query
    const ranked = await scorer.rank('green apple', ['blue sky', 'red apple', 'green pear', 'green apple']);
    expect(ranked.map((r) => r.index)).toEqual([3, 1, 2, 0]);
    expect(await scorer.rank('green apple', ['blue sky', 'red apple', 'green pear'], { topK: 1 })).toHaveLength(1);
    const tied = await scorer.rank('sky', ['red', 'pear', 'apple']);
    expect(tied.map((r) => r.index)).toEqual([0, 1, 2]);
  });

  it('stops on an aborted signal and forwards dispose', async () => {
    let disposed = 0;
    const { embeddings } = fakeEmbeddings();
    const scorer = new BiEncoderScorer(Object.assign(embeddings, { dispose: async () => void disposed++ }));
    await expect(scorer.score([['a', 'b']], { signal: AbortSignal.abort() })).rejects.toThrow();
    await scorer.dispose();
    expect(disposed).toBe(1);
  });
});
