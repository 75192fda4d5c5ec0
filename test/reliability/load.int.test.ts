import { Document, type DocumentInterface } from '@langchain/core/documents';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AbortError, CrossEncoder, CrossEncoderReranker, InvalidArgumentError } from '../../src/index.js';
import { deepFreeze, modelDir } from '../helpers/models.js';

// Many concurrent compressDocuments calls on one shared model: all resolve, each with exactly the result it gets
// when run alone, and nothing rejects unhandled. Longer runs with memory figures: `npm run soak`.

const WORDS = (
  'paris france capital seine museum louvre bread flour yeast oven rain cloud weather tokyo 東京 japan café ' +
  'naïve 😀 river bridge tower history treaty science energy cell mitochondria music jazz piano'
).split(' ');

function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

interface Call {
  query: string;
  documents: DocumentInterface[];
}

/** `count` distinct calls, each with its own query and `docs` documents of 5 to 30 words, deep-frozen. */
function workload(count: number, docs: number, seed: number): Call[] {
  const random = rng(seed);
  const words = (min: number, max: number) =>
    Array.from(
      { length: min + Math.floor(random() * (max - min)) },
      () => WORDS[Math.floor(random() * WORDS.length)],
    ).join(' ');
  return deepFreeze(
    Array.from({ length: count }, (_, c) => ({
      query: words(2, 7),
      documents: Array.from(
        { length: docs },
        (_, d) => new Document({ pageContent: words(5, 30), metadata: { source: `${c}-${d}`, tags: ['x'] } }),
      ),
    })),
  );
}

const summary = (docs: DocumentInterface[]) => docs.map((d) => [d.metadata['source'], d.metadata['relevanceScore']]);

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await new Promise((resolve) => setTimeout(resolve, 20)); // let stray rejections surface
  expect(unhandled).toEqual([]);
  vi.restoreAllMocks();
});

describe('tiny model, 200 concurrent calls of 50 documents', () => {
  let model: CrossEncoder;
  beforeAll(async () => {
    model = await CrossEncoder.load(modelDir('tiny'));
  });
  afterAll(async () => {
    await model.dispose();
  });

  it('all resolve, each identical to the same call run alone', { timeout: 90_000 }, async () => {
    const calls = workload(200, 50, 1);
    const reranker = new CrossEncoderReranker({ model, topN: 50 });

    const concurrent = await Promise.all(
      calls.map(({ query, documents }) => reranker.compressDocuments(documents, query)),
    );
    const alone: DocumentInterface[][] = [];
    for (const { query, documents } of calls) alone.push(await reranker.compressDocuments(documents, query));

    expect(concurrent).toHaveLength(200);
    concurrent.forEach((result, i) => {
      expect(result).toHaveLength(50);
      expect(summary(result)).toEqual(summary(alone[i] as DocumentInterface[]));
      for (const doc of result) expect(Number.isFinite(doc.metadata['relevanceScore'])).toBe(true);
    });
  });

  it('failing, aborted and timed-out calls in the crowd leave the others intact', { timeout: 60_000 }, async () => {
    const calls = workload(100, 20, 2);
    const reranker = new CrossEncoderReranker({ model, topN: 5 });
    const expected = await Promise.all(calls.map((c) => reranker.compressDocuments(c.documents, c.query)));
    const controller = new AbortController();
    const pending = Promise.allSettled(
      calls.map(({ query, documents }, i) => {
        switch (i % 5) {
          case 1:
            return reranker.compressDocuments([...documents, { pageContent: 42 } as never], query);
          case 2:
            return reranker
              .rerank(documents, query, { signal: controller.signal })
              .then(() => reranker.compressDocuments(documents, query));
          case 3:
            return reranker
              .rerank(documents, query, { timeoutMs: 1 })
              .then(() => reranker.compressDocuments(documents, query));
          default:
            return reranker.compressDocuments(documents, query);
        }
      }),
    );
    setTimeout(() => controller.abort(), 5);
    const outcomes = await pending;
    outcomes.forEach((outcome, i) => {
      if (i % 5 === 1) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(InvalidArgumentError);
      } else if (outcome.status === 'rejected') {
        // An aborted or timed-out call may lose its race; nothing else may fail.
        expect(i % 5 === 2 || i % 5 === 3).toBe(true);
        expect(outcome.reason).toBeInstanceOf(AbortError);
      } else {
        expect(summary(outcome.value)).toEqual(summary(expected[i] as DocumentInterface[]));
      }
    });
    // Every call that asked for nothing odd got its answer.
    expect(outcomes.filter((o, i) => o.status === 'fulfilled' && (i % 5 === 0 || i % 5 === 4))).toHaveLength(40);
  });

  it('concurrent first calls share one model load', { timeout: 60_000 }, async () => {
    const load = vi.spyOn(CrossEncoder, 'load');
    const reranker = new CrossEncoderReranker({ model: modelDir('tiny'), topN: 3 });
    const calls = workload(50, 10, 3);
    const results = await Promise.all(calls.map((c) => reranker.compressDocuments(c.documents, c.query)));
    expect(load).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.length === 3)).toBe(true);
    await reranker.dispose();
  });
});

describe('minilm-random-head, 24 concurrent calls of 10 documents', () => {
  it('all resolve, each identical to the same call run alone', { timeout: 90_000 }, async () => {
    const model = await CrossEncoder.load(modelDir('minilm-random-head'));
    try {
      const reranker = new CrossEncoderReranker({ model, topN: 10 });
      const calls = workload(24, 10, 4);
      const concurrent = await Promise.all(calls.map((c) => reranker.compressDocuments(c.documents, c.query)));
      for (const [i, { query, documents }] of calls.entries()) {
        expect(summary(concurrent[i] as DocumentInterface[])).toEqual(
          summary(await reranker.compressDocuments(documents, query)),
        );
      }
    } finally {
      await model.dispose();
    }
  });
});
