import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Document } from '@langchain/core/documents';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AbortError,
  CrossEncoder,
  CrossEncoderReranker,
  InvalidArgumentError,
  type RankResult,
  type RerankStats,
  type Scorer,
  type TextPair,
} from '../../src/index.js';
import { FakeScorer } from '../../src/testing/index.js';
import { modelDir } from '../helpers/models.js';
import { deepFreeze } from './freeze.js';

const QUERY = 'red apples';
// Word-overlap scores for QUERY: d0 0, d1 0.5, d2 1, d3 0.5, d4 1, d5 0.
const TEXTS = ['sky', 'red sky', 'red apples', 'green apples', 'apples red', 'nothing'];
const documents = () =>
  deepFreeze(TEXTS.map((text, i) => new Document({ pageContent: text, metadata: { i, bm25: 10 - i } })));

afterEach(() => {
  vi.useRealTimers();
});

/** A scorer whose every call costs `msPerPair` of (fake) time per pair, and that records the pairs it scored. */
class SlowScorer implements Scorer {
  readonly scored: string[] = [];
  readonly #inner = new FakeScorer();
  constructor(readonly msPerPair: number) {}

  async score(pairs: readonly TextPair[]): Promise<number[]> {
    vi.advanceTimersByTime(this.msPerPair * pairs.length);
    return this.#inner.score(pairs);
  }

  async rank(query: string, docs: readonly string[]): Promise<RankResult[]> {
    vi.advanceTimersByTime(this.msPerPair * docs.length);
    this.scored.push(...docs);
    return this.#inner.rank(query, docs);
  }
}

describe('budgetMs', () => {
  it('scores in input order a batch at a time until the budget is spent; the rest follow unscored', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const docs = Array.from({ length: 40 }, (_, i) => new Document({ pageContent: `doc ${i} red`, metadata: { i } }));
    // 4 pairs per batch at 10 ms a pair: 40 ms a batch; a 100 ms budget starts batches at 0, 40 and 80 ms.
    const scorer = new SlowScorer(10);
    const reranker = new CrossEncoderReranker({ model: scorer, topN: 40, batchSize: 4, budgetMs: 100 });
    const started = performance.now();
    const out = await reranker.compressDocuments(docs, QUERY);
    const spent = performance.now() - started;
    expect(scorer.scored).toEqual(docs.slice(0, 12).map((d) => d.pageContent));
    expect(spent).toBeLessThanOrEqual(100 + 40); // never more than one batch over
    expect(out).toHaveLength(40);
    expect(out.slice(0, 12).every((d) => d.metadata['reranked'] === true)).toBe(true);
    // Unscored documents keep their first-stage order after the scored ones, with no score.
    expect(out.slice(12).map((d) => d.metadata['i'])).toEqual(Array.from({ length: 28 }, (_, i) => i + 12));
    expect(out.slice(12).every((d) => d.metadata['reranked'] === false && !('relevanceScore' in d.metadata))).toBe(
      true,
    );
  });

  it('with time for everything, ranks exactly as without a budget, marking all as reranked', async () => {
    const plain = new CrossEncoderReranker({ model: new FakeScorer(), topN: 6 });
    const budgeted = new CrossEncoderReranker({ model: new FakeScorer(), topN: 6, budgetMs: 60_000, batchSize: 2 });
    const a = await plain.rerank(TEXTS, QUERY);
    const b = await budgeted.rerank(TEXTS, QUERY);
    expect(b.map(({ index, relevanceScore }) => ({ index, relevanceScore }))).toEqual(a);
    expect(b.every((r) => r.reranked === true)).toBe(true);
  });

  it('counts the wait for a model still loading', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    // The budget's timer ends the wait for a model still loading: nothing is scored.
    const loading = new CrossEncoderReranker({ model: modelDir('tiny'), topN: 3, budgetMs: 50 });
    const pending = loading.rerank(TEXTS, QUERY);
    await vi.advanceTimersByTimeAsync(60);
    const out = await pending;
    expect(out.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(out.every((r) => r.reranked === false && Number.isNaN(r.relevanceScore))).toBe(true);
    vi.useRealTimers();
    await loading.dispose();
  });

  it('must be a positive number of milliseconds', () => {
    for (const bad of [0, -1, Number.NaN, '10']) {
      expect(() => new CrossEncoderReranker({ model: new FakeScorer(), budgetMs: bad as never })).toThrow(
        InvalidArgumentError,
      );
    }
  });
});

describe("fallback: 'first-stage'", () => {
  const failing: Scorer = {
    score: () => Promise.reject(new Error('model file is corrupt')),
    rank: () => Promise.reject(new Error('model file is corrupt')),
  };

  it('returns the first topN documents in input order, unscored, and reports the error to callbacks and onStats', async () => {
    const stats: RerankStats[] = [];
    const events: { name: string; data: unknown }[] = [];
    const reranker = new CrossEncoderReranker({
      model: failing,
      topN: 2,
      fallback: 'first-stage',
      onStats: (s) => stats.push(s),
    });
    const callbacks = [
      BaseCallbackHandler.fromMethods({ handleCustomEvent: (name, data) => void events.push({ name, data }) }),
    ];
    const input = documents();
    const out = await reranker.compressDocuments([...input], QUERY, callbacks);
    await awaitAllCallbacks();
    expect(out.map((d) => d.metadata['i'])).toEqual([0, 1]);
    expect(out.map((d) => d.metadata['reranked'])).toEqual([false, false]);
    expect(out[0]?.metadata).not.toHaveProperty('relevanceScore');
    expect(stats).toHaveLength(1);
    expect(stats[0]?.fallback?.message).toBe('model file is corrupt');
    expect(events.map((e) => e.name)).toEqual(['cross_encoder_fallback', 'cross_encoder_stats']);
    expect(events[0]?.data).toEqual({ code: 'UNKNOWN', message: 'model file is corrupt' });
  });

  it('covers a model that fails to load and a call that times out', async () => {
    const missing = new CrossEncoderReranker({ model: '/nowhere/model', topN: 2, fallback: 'first-stage' });
    expect((await missing.rerank(TEXTS, QUERY)).map((r) => [r.index, r.reranked])).toEqual([
      [0, false],
      [1, false],
    ]);
    const stuck: Scorer = { score: () => new Promise(() => {}), rank: () => new Promise(() => {}) };
    const slow = new CrossEncoderReranker({ model: stuck, topN: 1, timeoutMs: 20, fallback: 'first-stage' });
    expect(await slow.rerank(TEXTS, QUERY)).toEqual([{ index: 0, relevanceScore: Number.NaN, reranked: false }]);
  });

  it("still rejects the caller's own abort, and throws by default", async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer({ delayMs: 50 }), fallback: 'first-stage' });
    const controller = new AbortController();
    const pending = reranker.rerank(TEXTS, QUERY, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await expect(new CrossEncoderReranker({ model: failing }).rerank(TEXTS, QUERY)).rejects.toThrow(/corrupt/);
    expect(() => new CrossEncoderReranker({ fallback: 'retry' as never })).toThrow(/fallback/);
  });
});

describe('fusion', () => {
  it('rrf blends the input order with the model order by reciprocal ranks', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 6, fusion: { method: 'rrf' } });
    const out = await reranker.compressDocuments([...documents()], QUERY);
    // Model order (ties by input): d2, d4, d1, d3, d0, d5. RRF with k = 60, weight 0.5:
    const modelRank = [5, 3, 1, 4, 2, 6];
    const expected = TEXTS.map((_, i) => 0.5 / (60 + (modelRank[i] as number)) + 0.5 / (60 + i + 1));
    const order = [...expected.keys()].sort((a, b) => (expected[b] as number) - (expected[a] as number) || a - b);
    expect(out.map((d) => d.metadata['i'])).toEqual(order);
    for (const d of out) {
      expect(d.metadata['relevanceScore']).toBeCloseTo(expected[d.metadata['i'] as number] as number, 12);
      expect(typeof d.metadata['crossEncoderScore']).toBe('number');
    }
  });

  it('weighted blends normalized scores; weight 1 is the model alone, weight 0 the first stage alone', async () => {
    const make = (weight: number) =>
      new CrossEncoderReranker({
        model: new FakeScorer(),
        topN: 6,
        fusion: { method: 'weighted', weight, scoreKey: 'bm25' },
      });
    const model = await new CrossEncoderReranker({ model: new FakeScorer(), topN: 6 }).rerank(documents(), QUERY);
    expect((await make(1).rerank(documents(), QUERY)).map((r) => r.index)).toEqual(model.map((r) => r.index));
    expect((await make(0).rerank(documents(), QUERY)).map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    // 0.5: model scores /1 and bm25 (10 - i) scaled over 5..10.
    const half = await make(0.5).rerank(documents(), QUERY);
    const modelScore = [0, 0.5, 1, 0.5, 1, 0];
    const expected = modelScore.map((m, i) => 0.5 * m + 0.5 * ((10 - i - 5) / 5));
    for (const r of half) expect(r.relevanceScore).toBeCloseTo(expected[r.index] as number, 12);
  });

  it('refuses bad settings and documents without the named score, saying what to set', async () => {
    expect(() => new CrossEncoderReranker({ fusion: { method: 'weighted' } })).toThrow(/fusion\.scoreKey/);
    expect(() => new CrossEncoderReranker({ fusion: { method: 'mean' as never } })).toThrow(/fusion\.method/);
    expect(() => new CrossEncoderReranker({ fusion: { method: 'rrf', weight: 2 } })).toThrow(/fusion\.weight/);
    const reranker = new CrossEncoderReranker({
      model: new FakeScorer(),
      fusion: { method: 'weighted', scoreKey: 'score' },
    });
    await expect(reranker.rerank(['a', 'b'], QUERY)).rejects.toThrow(/metadata\.score.*method: 'rrf'/);
  });
});

describe('onStats and callbacks', () => {
  it('reports each call with a fake scorer: documents, reranked, load and total time', async () => {
    const stats: RerankStats[] = [];
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), onStats: (s) => stats.push(s) });
    await reranker.rerank(TEXTS, QUERY);
    expect(stats).toHaveLength(1);
    expect(stats[0]).toMatchObject({ documents: 6, reranked: 6 });
    expect(stats[0]?.loadMs).toBeGreaterThanOrEqual(0);
    expect(stats[0]?.totalMs).toBeGreaterThanOrEqual(stats[0]?.loadMs as number);
    expect(() => new CrossEncoderReranker({ onStats: 'log' as never })).toThrow(/onStats/);
  });

  it('with the tiny model: pairs, truncated pairs, windows, padded tokens and stage times, also as a trace event', async () => {
    const stats: RerankStats[] = [];
    const events: { name: string; data: unknown }[] = [];
    const reranker = new CrossEncoderReranker({
      model: modelDir('tiny'),
      maxLength: 16,
      topN: 6,
      onStats: (s) => stats.push(s),
    });
    try {
      const long = new Document({ pageContent: 'red apples '.repeat(30) });
      const callbacks = [
        BaseCallbackHandler.fromMethods({ handleCustomEvent: (name, data) => void events.push({ name, data }) }),
      ];
      await reranker.compressDocuments([...documents(), long], QUERY, callbacks);
      await awaitAllCallbacks();
      const s = stats[0] as RerankStats;
      expect(s).toMatchObject({ documents: 7, reranked: 7, pairs: 7, truncatedPairs: 1, chunks: 7 });
      expect(s.paddedTokens).toBeGreaterThanOrEqual(16);
      for (const key of ['loadMs', 'queuedMs', 'tokenizeMs', 'inferenceMs', 'totalMs'] as const) {
        expect(s[key]).toBeGreaterThanOrEqual(0);
      }
      expect(s.loadMs).toBeGreaterThan(0); // the first call loaded the model
      expect(events).toEqual([{ name: 'cross_encoder_stats', data: s }]);
    } finally {
      await reranker.dispose();
    }
  });
});

describe('long documents (tiny model)', () => {
  // Words the tiny model's vocabulary holds whole, so a window of n tokens is exactly n words.
  const WORDS = 'paris capital france river city museum bread cheese wine tower history'.split(' ');
  const longText = Array.from({ length: 60 }, (_, i) => WORDS[(i * 7) % WORDS.length]).join(' ');

  it('scores a long document as its best window, names it, and keeps one window per short document', async () => {
    const model = await CrossEncoder.load(modelDir('tiny'), { maxLength: 24 });
    try {
      const query = 'capital of france';
      const queryTokens = (await model.encode(query, '')).ids.length - 3;
      const words = longText.split(' ');
      for (const word of WORDS) expect((await model.encode('', word)).ids.length - 3).toBe(1); // as assumed
      const room = 24 - 3 - queryTokens;
      const stride = 5;
      const ranked = await model.rank(query, [longText, 'paris'], { maxChunksPerDoc: 50, chunkStride: stride });
      // Every window as a text of its own fits the model whole: its score is what the window scored.
      const windows: string[] = [];
      for (let start = 0; ; start += stride) {
        windows.push(words.slice(start, start + room).join(' '));
        if (start + room >= words.length) break;
      }
      const windowScores = await model.score(windows.map((w): TextPair => [query, w]));
      const best = Math.max(...windowScores);
      const long = ranked.find((r) => r.index === 0) as RankResult;
      expect(long.score).toBeCloseTo(best, 6);
      expect(long.chunk).toBe(windowScores.indexOf(best));
      // A short document was not split: as with Cohere, it carries no chunk.
      expect(ranked.find((r) => r.index === 1)).not.toHaveProperty('chunk');

      // The default is today's behaviour: one truncated window, no chunk field.
      const truncated = await model.rank(query, [longText]);
      expect(truncated[0]).not.toHaveProperty('chunk');
      expect(truncated[0]?.score).toBeCloseTo(windowScores[0] as number, 6);
      const stats: unknown[] = [];
      await model.score([[query, longText]], { maxChunksPerDoc: 3, chunkStride: room, onStats: (s) => stats.push(s) });
      expect(stats[0]).toMatchObject({ pairs: 1, chunks: 3, truncatedPairs: 1 });
      await expect(model.rank(query, [longText], { maxChunksPerDoc: 0 })).rejects.toThrow(/options\.maxChunksPerDoc/);
    } finally {
      await model.dispose();
    }
  });

  it('the reranker puts the winning window in metadata.chunk of split documents only', async () => {
    const reranker = new CrossEncoderReranker({ model: modelDir('tiny'), maxLength: 24, maxChunksPerDoc: 8, topN: 2 });
    try {
      const out = await reranker.compressDocuments(
        [new Document({ pageContent: longText }), new Document({ pageContent: 'paris' })],
        'capital of france',
      );
      const long = out.find((d) => d.pageContent === longText);
      const short = out.find((d) => d.pageContent === 'paris');
      expect(typeof long?.metadata['chunk']).toBe('number');
      expect(short?.metadata).not.toHaveProperty('chunk');
      const order = await reranker.rerank([longText, 'paris'], 'capital of france');
      expect(order.find((r) => r.index === 0)).toHaveProperty('chunk');
      expect(order.find((r) => r.index === 1)).not.toHaveProperty('chunk');
      expect(() => new CrossEncoderReranker({ chunkTokens: 0 })).toThrow(/chunkTokens/);
    } finally {
      await reranker.dispose();
    }
  });
});
