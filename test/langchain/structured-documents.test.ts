// Records as documents (Cohere's rank_fields) and CohereRerank's per-call options, as a user switching would call
// them: `rerank(docs, query, { topN, model, maxChunksPerDoc, rankFields })`.
import { Document } from '@langchain/core/documents';
import { describe, expect, it, vi } from 'vitest';
import {
  CrossEncoder,
  CrossEncoderReranker,
  DisposedError,
  InvalidArgumentError,
  type TextPair,
} from '../../src/index.js';
import { FakeScorer } from '../../src/testing/index.js';
import { modelDir } from '../helpers/models.js';
import { deepFreeze } from './freeze.js';

/** A FakeScorer that also remembers every passage it was given, to show what the model read. */
function recordingScorer() {
  const passages: string[] = [];
  const scorer = new FakeScorer({
    scoreFn: (query, passage) => {
      passages.push(passage);
      return passage.includes('waterproof') ? 1 : passage.includes('shoe') ? 0.5 : 0;
    },
  });
  return { scorer, passages };
}

const PRODUCTS = deepFreeze([
  { title: 'Road shoe', body: 'Light and fast.', price: 99 },
  { title: 'Umbrella', body: 'Large canopy.', price: 25 },
  { title: 'Trail shoe', body: 'A waterproof upper.', price: 129, tags: ['trail', 'wet'] },
]);

describe('structured documents in rerank()', () => {
  it('renders a record without rankFields as key: value lines, nested values indented, never [object Object]', async () => {
    const { scorer, passages } = recordingScorer();
    const reranker = new CrossEncoderReranker({ model: scorer, topN: 3 });
    const order = await reranker.rerank([...PRODUCTS], 'waterproof shoe');
    expect(order.map((r) => r.index)).toEqual([2, 0, 1]);
    expect(passages).toContain('title: Trail shoe\nbody: A waterproof upper.\nprice: 129\ntags:\n  - trail\n  - wet');
    for (const passage of passages) expect(passage).not.toContain('[object Object]');
  });

  it('reads only rankFields, in the order given, set on the reranker or per call', async () => {
    const { scorer, passages } = recordingScorer();
    const reranker = new CrossEncoderReranker({ model: scorer, topN: 3, rankFields: ['title'] });
    const byTitle = await reranker.rerank([...PRODUCTS], 'waterproof shoe');
    expect(passages.slice(0, 3)).toEqual(['title: Road shoe', 'title: Umbrella', 'title: Trail shoe']);
    // Titles alone do not say "waterproof": both shoes tie and keep input order.
    expect(byTitle.map((r) => r.index)).toEqual([0, 2, 1]);

    passages.length = 0;
    const byBody = await reranker.rerank([...PRODUCTS], 'waterproof shoe', { rankFields: ['body', 'title'] });
    expect(passages[2]).toBe('body: A waterproof upper.\ntitle: Trail shoe');
    expect(byBody[0]?.index).toBe(2);

    passages.length = 0;
    await reranker.rerank([...PRODUCTS], 'q', { rankFields: (p) => `${String(p['title'])} at ${String(p['price'])}` });
    expect(passages).toEqual(['Road shoe at 99', 'Umbrella at 25', 'Trail shoe at 129']);
  });

  it('reads a Document through rankFields as its metadata fields plus pageContent', async () => {
    const { scorer, passages } = recordingScorer();
    const docs = deepFreeze([
      new Document({ pageContent: 'A waterproof upper.', metadata: { title: 'Trail shoe', sku: 'T-1' } }),
      new Document({ pageContent: 'Large canopy.', metadata: { title: 'Umbrella', sku: 'U-1' } }),
    ]);
    const reranker = new CrossEncoderReranker({ model: scorer, topN: 2, rankFields: ['title', 'pageContent'] });
    const out = await reranker.compressDocuments(docs, 'waterproof shoe');
    expect(passages).toEqual([
      'title: Trail shoe\npageContent: A waterproof upper.',
      'title: Umbrella\npageContent: Large canopy.',
    ]);
    expect(out[0]?.pageContent).toBe('A waterproof upper.');
    expect(out[0]?.metadata).toMatchObject({ title: 'Trail shoe', sku: 'T-1', relevanceScore: 1 });

    // Without rankFields a Document, and a record with a string pageContent, are their pageContent, as with Cohere.
    passages.length = 0;
    await new CrossEncoderReranker({ model: scorer }).rerank([docs[0] as Document, { pageContent: 'x', id: '7' }], 'q');
    expect(passages).toEqual(['A waterproof upper.', 'x']);
  });

  it('refuses bad rankFields and documents with a typed error naming the parameter', async () => {
    const scorer = new FakeScorer();
    expect(() => new CrossEncoderReranker({ model: scorer, rankFields: [] })).toThrow(InvalidArgumentError);
    expect(() => new CrossEncoderReranker({ model: scorer, rankFields: 'title' as never })).toThrow(/rankFields/);
    const reranker = new CrossEncoderReranker({ model: scorer });
    await expect(reranker.rerank([PRODUCTS[0] as never], 'q', { rankFields: ['a', 'a'] })).rejects.toThrow(
      /options\.rankFields\[1\].*named twice/,
    );
    await expect(reranker.rerank(['a', 42 as never], 'q')).rejects.toThrow(/documents\[1\]/);
    await expect(reranker.rerank(['a'], 'q', { rankFields: () => 3 as never })).resolves.toHaveLength(1); // strings ignore rankFields
    await expect(reranker.rerank([{ t: 1 }], 'q', { rankFields: () => 3 as never })).rejects.toThrow(
      /documents\[0\].*return the text/,
    );
  });
});

describe("CohereRerank's per-call options (tiny model)", () => {
  it('model ranks this call with another model, loaded once and freed by dispose()', async () => {
    const reranker = new CrossEncoderReranker({ model: modelDir('tiny'), topN: 3 });
    const other = await CrossEncoder.load(modelDir('tiny-2label'));
    const own = await CrossEncoder.load(modelDir('tiny'));
    const load = vi.spyOn(CrossEncoder, 'load');
    const loadsOf = (dir: string) => load.mock.calls.filter(([id]) => id === dir).length;
    try {
      const docs = ['the capital of france is paris', 'bread and cheese', 'a river city'];
      const query = 'capital of france';
      const expected = await other.rank(query, docs);
      const first = await reranker.rerank(docs, query, { topN: 3, model: modelDir('tiny-2label') });
      expect(first.map((r) => r.index)).toEqual(expected.map((r) => r.index));
      first.forEach((r, i) => expect(r.relevanceScore).toBeCloseTo(expected[i]?.score as number, 6));
      await reranker.rerank(docs, query, { model: modelDir('tiny-2label') });
      expect(loadsOf(modelDir('tiny-2label'))).toBe(1);
      // Without it, and naming the reranker's own model, the call uses the reranker's model.
      const ownScores = await own.rank(query, docs);
      for (const options of [{}, { model: modelDir('tiny') }]) {
        const ranked = await reranker.rerank(docs, query, options);
        ranked.forEach((r, i) => expect(r.relevanceScore).toBeCloseTo(ownScores[i]?.score as number, 6));
      }
      expect(loadsOf(modelDir('tiny'))).toBe(1);
      await expect(reranker.rerank(docs, query, { model: '' })).rejects.toThrow(/options\.model/);
      // dispose() frees it with the reranker's own model; a later call is refused rather than loading it again.
      const freed = vi.spyOn(CrossEncoder.prototype, 'dispose');
      await reranker.dispose();
      expect(freed).toHaveBeenCalledTimes(2);
      await expect(reranker.rerank(docs, query, { model: modelDir('tiny-2label') })).rejects.toBeInstanceOf(
        DisposedError,
      );
      expect(loadsOf(modelDir('tiny-2label'))).toBe(1);
    } finally {
      load.mockRestore();
      await reranker.dispose();
      await other.dispose();
      await own.dispose();
    }
  });

  it('maxChunksPerDoc splits long documents in this call only; chunk is set on split documents alone', async () => {
    const words = 'paris capital france river city museum bread cheese wine tower history'.split(' ');
    const longText = Array.from({ length: 60 }, (_, i) => words[(i * 7) % words.length]).join(' ');
    const reranker = new CrossEncoderReranker({ model: modelDir('tiny'), maxLength: 24, topN: 2 });
    const model = await CrossEncoder.load(modelDir('tiny'), { maxLength: 24 });
    try {
      const query = 'capital of france';
      const plain = await reranker.rerank([longText, 'paris'], query);
      for (const r of plain) expect(r).not.toHaveProperty('chunk');
      const split = await reranker.rerank([longText, 'paris'], query, { maxChunksPerDoc: 8 });
      const expected = await model.rank(query, [longText, 'paris'], { maxChunksPerDoc: 8 });
      expect(split).toEqual(
        expected.map((r) => ({ index: r.index, relevanceScore: r.score, ...('chunk' in r ? { chunk: r.chunk } : {}) })),
      );
      expect(split.find((r) => r.index === 0)).toHaveProperty('chunk');
      expect(split.find((r) => r.index === 1)).not.toHaveProperty('chunk');
      const [pair] = await model.score([[query, longText] as TextPair]);
      expect(plain.find((r) => r.index === 0)?.relevanceScore).toBeCloseTo(pair as number, 6);
      await expect(reranker.rerank([longText], query, { maxChunksPerDoc: 0 })).rejects.toThrow(
        /options\.maxChunksPerDoc/,
      );
    } finally {
      await reranker.dispose();
      await model.dispose();
    }
  });
});
