import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { BaseRetriever } from '@langchain/core/retrievers';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CrossEncoder,
  CrossEncoderReranker,
  DisposedError,
  InvalidArgumentError,
  ModelNotFoundError,
} from '../../src/index.js';
import { FakeScorer, wordOverlapScore } from '../../src/testing/index.js';
import { deepFreeze } from './freeze.js';

const TINY = path.resolve('models/tiny');

const docs = (): Document[] => [
  new Document({ pageContent: 'red apples grow on trees', metadata: { source: 'a', tags: ['fruit'] }, id: 'a' }),
  new Document({ pageContent: 'the sky is blue', metadata: { source: 'b', nested: { deep: 1 } }, id: 'b' }),
  new Document({ pageContent: 'red apples and green apples', metadata: { source: 'c' } }),
  new Document({ pageContent: 'apples', metadata: { source: 'd' }, id: 'd' }),
  new Document({ pageContent: 'nothing relevant here', metadata: { source: 'e' }, id: 'e' }),
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CrossEncoderReranker.compressDocuments', () => {
  it('returns new documents, best first, at most topN (3 by default), scored in metadata.relevanceScore', async () => {
    const input = deepFreeze(docs());
    const reranker = new CrossEncoderReranker({ model: new FakeScorer() });
    const out = await reranker.compressDocuments(input, 'red apples trees');
    expect(out.map((d) => d.metadata['source'])).toEqual(['a', 'c', 'd']);
    expect(out.map((d) => d.metadata['relevanceScore'])).toEqual([1, 2 / 3, 1 / 3]);
    expect(out[0]).toBeInstanceOf(Document);
    expect(out[0]?.id).toBe('a');
    expect(out[0]?.metadata['tags']).toEqual(['fruit']);
    expect(out[1]?.id).toBeUndefined();
    for (const doc of out) expect(input).not.toContain(doc);
    for (const doc of input) expect(doc.metadata).not.toHaveProperty('relevanceScore');
  });

  it('returns [] for no documents without loading a model', async () => {
    const load = vi.spyOn(CrossEncoder, 'load');
    const reranker = new CrossEncoderReranker({ model: '/nowhere/at/all' });
    expect(await reranker.compressDocuments([], 'anything')).toEqual([]);
    expect(load).not.toHaveBeenCalled();
  });

  it('drops documents below minScore even when fewer than topN remain', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 5, minScore: 0.5 });
    const out = await reranker.compressDocuments(docs(), 'red apples trees');
    expect(out.map((d) => d.metadata['source'])).toEqual(['a', 'c']);
  });

  it('refuses topN 0 where it is given, as Cohere refuses top_n 0, instead of returning nothing', async () => {
    const scorer = new FakeScorer();
    expect(() => new CrossEncoderReranker({ model: scorer, topN: 0 })).toThrow(/^topN: expected a positive integer/);
    const reranker = new CrossEncoderReranker({ model: scorer });
    await expect(reranker.rerank(['apples'], 'apples', { topN: 0 })).rejects.toThrow(/^options\.topN:/);
    expect(() => (reranker.topN = 0)).toThrow(InvalidArgumentError);
    expect(reranker.topN).toBe(3);
    expect(scorer.calls).toEqual([]);
  });

  it('passes batchSize to the scorer', async () => {
    const scorer = new FakeScorer();
    await new CrossEncoderReranker({ model: scorer, batchSize: 2 }).compressDocuments(docs(), 'apples');
    expect(scorer.calls).toEqual([{ pairs: 5, batchSize: 2 }]);
  });

  it('rejects a document without a string pageContent, naming its position', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer() });
    const bad = [...docs(), { pageContent: 42, metadata: {} } as unknown as DocumentInterface];
    await expect(reranker.compressDocuments(bad, 'apples')).rejects.toThrow(/documents\[5\]/);
    await expect(reranker.compressDocuments(docs(), '  ')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('CrossEncoderReranker.rerank', () => {
  it('matches CohereRerank: {index, relevanceScore} best first, for Documents, strings and records', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 2 });
    const mixed = deepFreeze(['the sky is blue', { pageContent: 'red apples' }, docs()[0] as Document]);
    expect(await reranker.rerank(mixed, 'red apples trees')).toEqual([
      { index: 2, relevanceScore: 1 },
      { index: 1, relevanceScore: 2 / 3 },
    ]);
    expect(await reranker.rerank(mixed, 'red apples trees', { topN: 5 })).toHaveLength(3);
    expect(await reranker.rerank([], 'red apples')).toEqual([]);
  });

  it('ranks records without pageContent by their fields, and rejects non-documents and bad per-call options', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer() });
    await expect(reranker.rerank([{ text: 'x' }, { text: 'q' }], 'q')).resolves.toEqual([
      { index: 1, relevanceScore: 1 },
      { index: 0, relevanceScore: 0 },
    ]);
    await expect(reranker.rerank([null as never], 'q')).rejects.toThrow(/documents\[0\]/);
    await expect(reranker.rerank(['x'], 'q', { topN: -1 })).rejects.toThrow(/options\.topN/);
  });
});

describe('options', () => {
  it.each([
    [{ topN: -1 }, 'topN'],
    [{ topN: 1.5 }, 'topN'],
    [{ batchSize: 0 }, 'batchSize'],
    [{ minScore: Number.NaN }, 'minScore'],
    [{ model: '' }, 'model'],
    [{ model: {} as never }, 'model'],
  ])('rejects %o naming %s', (options, parameter) => {
    expect(() => new CrossEncoderReranker(options)).toThrow(InvalidArgumentError);
    expect(() => new CrossEncoderReranker(options)).toThrow(new RegExp(`^${parameter}:`));
  });

  it('refuses loading options next to a shared scorer: they would be silently ignored', () => {
    expect(() => new CrossEncoderReranker({ model: new FakeScorer(), maxLength: 128 })).toThrow(
      /maxLength only apply when the reranker loads the model itself/,
    );
  });

  it('defaults to topN 3 and the engine default model', () => {
    const reranker = new CrossEncoderReranker();
    expect(reranker.topN).toBe(3);
    expect(reranker.model).toBe('Xenova/ms-marco-MiniLM-L-6-v2');
  });
});

describe('loading', () => {
  it('loads once for concurrent calls, passing the loading options through', async () => {
    const load = vi.spyOn(CrossEncoder, 'load');
    const reranker = new CrossEncoderReranker({ model: TINY, maxLength: 64, batchSize: 4, activation: 'none' });
    const [a, b] = await Promise.all([
      reranker.compressDocuments(docs(), 'apples'),
      reranker.rerank(['x', 'y'], 'apples'),
      reranker.warmup(),
    ]);
    expect(load).toHaveBeenCalledTimes(1);
    expect(load.mock.calls[0]?.[1]).toMatchObject({ maxLength: 64, batchSize: 4, activation: 'none' });
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(2);
    await reranker.dispose();
  });

  it('does not remember a failed load for long: a retry after the model appears (and the backoff) succeeds', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'reranker-retry-'));
    const model = path.join(dir, 'model');
    const real = performance.now.bind(performance);
    try {
      const reranker = new CrossEncoderReranker({ model });
      await expect(reranker.warmup()).rejects.toBeInstanceOf(ModelNotFoundError);
      await cp(TINY, model, { recursive: true });
      // Within the first second after a failure, calls get that failure without a new load.
      await expect(reranker.warmup()).rejects.toBeInstanceOf(ModelNotFoundError);
      vi.spyOn(performance, 'now').mockImplementation(() => real() + 1_100);
      expect(await reranker.compressDocuments(docs(), 'apples')).toHaveLength(3);
      await reranker.dispose();
    } finally {
      vi.mocked(performance.now).mockRestore?.();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('disposes a model it loaded and refuses later calls as a disposed CrossEncoder does, never a shared one', async () => {
    const owned = new CrossEncoderReranker({ model: TINY });
    await owned.warmup();
    const dispose = vi.spyOn(CrossEncoder.prototype, 'dispose');
    const load = vi.spyOn(CrossEncoder, 'load');
    await owned.dispose();
    expect(dispose).toHaveBeenCalledTimes(1);
    await expect(owned.rerank(['a', 'b'], 'q')).rejects.toBeInstanceOf(DisposedError);
    await expect(owned.compressDocuments(docs(), 'q')).rejects.toBeInstanceOf(DisposedError);
    await expect(owned.warmup()).rejects.toBeInstanceOf(DisposedError);
    expect(load).not.toHaveBeenCalled(); // nothing is loaded again behind the caller's back
    await owned.dispose(); // twice is harmless

    const shared = new FakeScorer();
    const one = new CrossEncoderReranker({ model: shared });
    const two = new CrossEncoderReranker({ model: shared, topN: 1 });
    await one.dispose();
    expect(shared.disposed).toBe(false);
    await expect(one.rerank(['apples'], 'apples')).rejects.toBeInstanceOf(DisposedError);
    expect(await two.rerank(['apples', 'pears'], 'apples')).toEqual([{ index: 0, relevanceScore: 1 }]);
  });
});

describe('callbacks', () => {
  class Recorder extends BaseCallbackHandler {
    name = 'recorder';
    events: { event: string; name?: string; runId: string; parentRunId?: string; payload?: unknown }[] = [];
    override handleRetrieverStart(
      _retriever: unknown,
      query: string,
      runId: string,
      parentRunId?: string,
      _tags?: string[],
      _metadata?: Record<string, unknown>,
      name?: string,
    ) {
      this.events.push({ event: 'start', runId, parentRunId, name, payload: query });
    }
    override handleRetrieverEnd(documents: DocumentInterface[], runId: string) {
      this.events.push({ event: 'end', runId, payload: documents.map((d) => d.metadata['source']) });
    }
    override handleRetrieverError(error: Error, runId: string) {
      this.events.push({ event: 'error', runId, payload: error.message });
    }
  }

  class ListRetriever extends BaseRetriever {
    override lc_namespace = ['test'];
    override async _getRelevantDocuments(): Promise<DocumentInterface[]> {
      return docs();
    }
  }

  it('reports reranking as a child retriever run of ContextualCompressionRetriever', async () => {
    const recorder = new Recorder();
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: new CrossEncoderReranker({ model: new FakeScorer(), topN: 2 }),
      baseRetriever: new ListRetriever(),
    });
    await retriever.invoke('red apples trees', { callbacks: [recorder] });
    await awaitAllCallbacks();
    const outer = recorder.events.find((e) => e.event === 'start' && e.parentRunId === undefined);
    const child = recorder.events.find((e) => e.name === 'CrossEncoderReranker');
    expect(child).toMatchObject({ event: 'start', parentRunId: outer?.runId, payload: 'red apples trees' });
    expect(recorder.events.find((e) => e.event === 'end' && e.runId === child?.runId)?.payload).toEqual(['a', 'c']);
  });

  it('reports a scoring failure on the child run and rethrows it', async () => {
    const recorder = new Recorder();
    const failing = new FakeScorer({
      scoreFn: () => {
        throw new Error('scorer broke');
      },
    });
    const reranker = new CrossEncoderReranker({ model: failing });
    await expect(reranker.compressDocuments(docs(), 'apples', [recorder])).rejects.toThrow('scorer broke');
    await awaitAllCallbacks();
    expect(recorder.events.map((e) => e.event)).toEqual(['start', 'error']);
    expect(recorder.events[1]?.payload).toBe('scorer broke');
  });
});

describe('invariants (property-based, fake scorer)', () => {
  const WORDS = ['red', 'green', 'apple', 'pear', 'sky', 'blue', 'tree', 'sea'];
  const text = fc.array(fc.constantFrom(...WORDS), { minLength: 0, maxLength: 6 }).map((w) => w.join(' '));
  const query = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 3 }).map((w) => w.join(' '));
  const documents = fc.array(
    fc.record({ pageContent: text, source: fc.string(), id: fc.option(fc.uuid(), { nil: undefined }) }),
    { maxLength: 12 },
  );

  it('compressDocuments: a sorted subset, each document once, at most topN, finite scores, inputs untouched', async () => {
    await fc.assert(
      fc.asyncProperty(documents, query, fc.integer({ min: 1, max: 15 }), async (records, q, topN) => {
        const input = deepFreeze(
          records.map((r) => new Document({ pageContent: r.pageContent, metadata: { source: r.source }, id: r.id })),
        );
        const out = await new CrossEncoderReranker({ model: new FakeScorer(), topN }).compressDocuments(input, q);
        expect(out.length).toBe(Math.min(topN, input.length));
        const scores = out.map((d) => d.metadata['relevanceScore'] as number);
        expect(scores.every(Number.isFinite)).toBe(true);
        for (let i = 1; i < scores.length; i++) expect(scores[i - 1]).toBeGreaterThanOrEqual(scores[i] as number);
        // Map each result back to its input by rerank's index: same text, metadata and id, score as computed.
        const ranked = await new CrossEncoderReranker({ model: new FakeScorer(), topN }).rerank(input, q);
        expect(new Set(ranked.map((r) => r.index)).size).toBe(ranked.length);
        ranked.forEach((r, i) => {
          const source = input[r.index] as Document;
          expect(out[i]?.pageContent).toBe(source.pageContent);
          expect(out[i]?.id).toBe(source.id);
          expect(out[i]?.metadata).toEqual({ ...source.metadata, relevanceScore: r.relevanceScore });
          expect(r.relevanceScore).toBe(wordOverlapScore(q, source.pageContent));
        });
      }),
      { numRuns: 100 },
    );
  });

  it('rerank with minScore keeps exactly the top documents at or above it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { maxLength: 10 }),
        query,
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (texts, q, min) => {
          const all = await new CrossEncoderReranker({ model: new FakeScorer(), topN: 100 }).rerank(texts, q);
          const kept = await new CrossEncoderReranker({ model: new FakeScorer(), topN: 100, minScore: min }).rerank(
            texts,
            q,
          );
          expect(kept).toEqual(all.filter((r) => r.relevanceScore >= min));
          expect(all.map((r) => r.index).sort((a, b) => a - b)).toEqual(texts.map((_, i) => i));
        },
      ),
      { numRuns: 100 },
    );
  });
});
