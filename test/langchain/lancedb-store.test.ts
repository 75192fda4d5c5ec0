import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Document } from '@langchain/core/documents';
import { FakeEmbeddings } from '@langchain/core/utils/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FilterableLanceDB } from '../../examples/stores/lancedb.js';

// The example's LanceDB store, without a model: seeded unit vectors, checked against an exhaustive cosine search.
// @langchain/community's own LanceDB class fails every one of these with LanceDB 0.31 (filters dropped, ids lost,
// no scores, `_distance` in the metadata).

const N = 300;
const DIM = 4; // what FakeEmbeddings returns for the queries that asRetriever embeds
let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const unit = (v: number[]) => {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};
const vectors = Array.from({ length: N }, () => unit(Array.from({ length: DIM }, random)));
const docs = vectors.map(
  (_, i) => new Document({ pageContent: `document ${i}`, metadata: { shard: i % 4, title: `t${i}` }, id: `d${i}` }),
);
const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);

/** The exact top k by cosine similarity, optionally among one shard. */
function exhaustive(query: number[], k: number, shard?: number): [string, number][] {
  return docs
    .map((d, i): [string, number, number] => [d.id as string, dot(query, vectors[i] as number[]), i % 4])
    .filter(([, , s]) => shard === undefined || s === shard)
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([id, score]) => [id, score]);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lce-lancedb-'));
  await FilterableLanceDB.create(new FakeEmbeddings(), dir, 'docs', docs.slice(0, 100), vectors.slice(0, 100));
  const store = await FilterableLanceDB.open(new FakeEmbeddings(), dir, 'docs');
  await store?.append(docs.slice(100), vectors.slice(100));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FilterableLanceDB (examples/stores/lancedb.ts)', () => {
  it('reopens what was written, and says when a table is missing', async () => {
    expect(await (await FilterableLanceDB.open(new FakeEmbeddings(), dir, 'docs'))?.count()).toBe(N);
    expect(await FilterableLanceDB.open(new FakeEmbeddings(), dir, 'absent')).toBeUndefined();
  });

  for (const shard of [undefined, 2]) {
    it(`returns the exact cosine top k with ids, scores and clean metadata (${shard === undefined ? 'no filter' : `filter shard = ${shard}`})`, async () => {
      const store = (await FilterableLanceDB.open(new FakeEmbeddings(), dir, 'docs')) as FilterableLanceDB;
      for (let q = 0; q < 5; q++) {
        const query = unit(Array.from({ length: DIM }, random));
        const got = await store.similaritySearchVectorWithScore(
          query,
          10,
          shard === undefined ? undefined : `shard = ${shard}`,
        );
        const want = exhaustive(query, 10, shard);
        expect(got.map(([d]) => d.id)).toEqual(want.map(([id]) => id));
        got.forEach(([d, score], i) => {
          expect(score).toBeCloseTo(want[i]?.[1] as number, 5);
          const index = Number(d.id?.slice(1));
          expect(d.pageContent).toBe(`document ${index}`);
          expect(d.metadata).toEqual({ shard: index % 4, title: `t${index}` });
        });
      }
    });
  }

  it('passes the filter through similaritySearch and asRetriever, which embed the query', async () => {
    const store = (await FilterableLanceDB.open(new FakeEmbeddings(), dir, 'docs')) as FilterableLanceDB;
    const found = await store.asRetriever({ k: 8, filter: 'shard = 3' }).invoke('anything');
    expect(found).toHaveLength(8);
    for (const d of found) expect(d.metadata['shard']).toBe(3);
    const direct = await store.similaritySearch('anything', 5, 'shard = 1');
    for (const d of direct) expect(d.metadata['shard']).toBe(1);
  });
});
