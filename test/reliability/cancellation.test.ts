import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Document } from '@langchain/core/documents';
import * as ort from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AbortError, CrossEncoder, CrossEncoderReranker, InvalidArgumentError } from '../../src/index.js';
import type { RankResult, Scorer } from '../../src/index.js';
import { deepFreeze, modelDir } from '../helpers/models.js';

// A large rerank is stopped by an AbortSignal or a timeout within one batch, rejects with AbortError, and leaves
// the model usable. Worker timings are measured against the cost of one batch on this machine, so a busy CPU
// slows both sides alike.

const QUERY = 'what is the capital of france';
const WORDS = 'paris capital france river seine city museum bread cheese wine tower history'.split(' ');
const passage = (i: number) => Array.from({ length: 40 }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ');
const SMALL = deepFreeze(['Paris is the capital of France.', 'Bread is made of flour.', 'The Seine flows there.']);
const BATCH = 8;

let model: CrossEncoder;
let smallScores: RankResult[];
let batchMs: number;

/** Settles `promise`, returning how long after `from` it settled and what it settled with. */
async function settle<T>(promise: Promise<T>, from: () => number): Promise<{ ms: number; error: unknown }> {
  try {
    await promise;
    return { ms: performance.now() - from(), error: undefined };
  } catch (error) {
    return { ms: performance.now() - from(), error };
  }
}

beforeAll(async () => {
  model = await CrossEncoder.load(modelDir('tiny'), { batchSize: BATCH });
  smallScores = await model.rank(QUERY, SMALL);
  // The cost of one batch, measured: the median of a few runs of one batch of full-size passages.
  const one = Array.from({ length: BATCH }, (_, i) => passage(i));
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await model.rank(QUERY, one);
    times.push(performance.now() - t);
  }
  batchMs = times.sort((a, b) => a - b)[2] as number;
});
afterAll(async () => {
  await model.dispose();
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('AbortSignal on a worker-backed model', () => {
  it('rejects at once, stops the worker at a batch boundary, and the next call is answered promptly', async () => {
    // The whole job, measured on a fifth of it: 1,000 passages in batches of 8 is 125 batches.
    const fifth = Array.from({ length: 200 }, (_, i) => passage(i));
    let t = performance.now();
    await model.rank(QUERY, fifth);
    const estimate = 5 * (performance.now() - t);

    const docs = deepFreeze(Array.from({ length: 1000 }, (_, i) => passage(i)));
    const controller = new AbortController();
    const big = model.rank(QUERY, docs, { signal: controller.signal });
    // Past the up-front tokenization, deep in the batches.
    await new Promise((resolve) => setTimeout(resolve, 0.4 * estimate));
    controller.abort();
    const abortedAt = performance.now();
    const outcome = await settle(big, () => abortedAt);
    expect(outcome.error).toBeInstanceOf(AbortError);
    expect((outcome.error as Error).message).toMatch(/aborted/);
    // The caller hears at once, whatever the worker is doing (the bound leaves room for a busy machine).
    expect(outcome.ms).toBeLessThan(Math.max(250, 5 * batchMs));

    // The next call waits only for the batch in flight, not for the ~60% of the job left.
    t = performance.now();
    expect(await model.rank(QUERY, SMALL)).toEqual(smallScores);
    expect(performance.now() - t).toBeLessThan(0.15 * estimate);
  });

  it('rejects without touching the model when the signal has already fired', async () => {
    const reason = new Error('client went away');
    const error = await model.rank(QUERY, SMALL, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).cause).toBe(reason);
    expect(await model.rank(QUERY, SMALL)).toEqual(smallScores);
  });

  it('aborting one call leaves concurrent calls and their results untouched', async () => {
    const controller = new AbortController();
    const docs = Array.from({ length: 400 }, (_, i) => passage(i));
    const calls = [
      model.rank(QUERY, SMALL),
      model.rank(QUERY, docs, { signal: controller.signal }),
      model.rank(QUERY, SMALL),
      model.rank(QUERY, SMALL, { signal: controller.signal }), // queued behind the big one: skipped by the worker
      model.rank(QUERY, SMALL),
    ];
    controller.abort();
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    for (const i of [0, 2, 4]) expect((results[i] as PromiseFulfilledResult<RankResult[]>).value).toEqual(smallScores);
    for (const i of [1, 3]) expect((results[i] as PromiseRejectedResult).reason).toBeInstanceOf(AbortError);
  });
});

describe('timeoutMs', () => {
  it('times a large rerank out, says so, and the model keeps working', async () => {
    const docs = Array.from({ length: 4000 }, (_, i) => passage(i));
    const timeoutMs = Math.max(150, 20 * batchMs);
    const started = performance.now();
    const outcome = await settle(model.rank(QUERY, docs, { timeoutMs }), () => started);
    expect(outcome.error).toBeInstanceOf(AbortError);
    expect((outcome.error as Error).message).toBe(`Scoring timed out after ${timeoutMs} ms (options.timeoutMs).`);
    expect(((outcome.error as Error).cause as Error).name).toBe('TimeoutError');
    expect(outcome.ms).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(outcome.ms).toBeLessThan(timeoutMs + 500);
    expect(await model.rank(QUERY, SMALL)).toEqual(smallScores);
  });

  it('combines with a signal: whichever comes first wins, and the error says which', async () => {
    const controller = new AbortController();
    const pending = model.rank(
      QUERY,
      Array.from({ length: 2000 }, (_, i) => passage(i)),
      { signal: controller.signal, timeoutMs: 60_000 },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toThrow(/^Scoring was aborted\.$/);
    expect(await model.score([[QUERY, 'Paris']], { timeoutMs: 60_000 })).toHaveLength(1);
  });

  it('leaves no timer behind once a call settles', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    await Promise.all(Array.from({ length: 20 }, () => model.rank(QUERY, SMALL, { timeoutMs: 600_000 })));
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('must be a positive finite number of milliseconds', async () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '100', null, {}]) {
      const error = await model.rank(QUERY, SMALL, { timeoutMs: bad as never }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).parameter).toBe('options.timeoutMs');
      await expect(model.score([[QUERY, 'x']], { timeoutMs: bad as never })).rejects.toThrow(/options\.timeoutMs/);
    }
    await expect(model.rank(QUERY, SMALL, { signal: { aborted: false } as never })).rejects.toThrow(
      /options\.signal: expected an AbortSignal/,
    );
  });
});

describe('an inline (worker: false) model stops at the very next batch boundary', () => {
  it('runs no batch after the one in flight when the abort came', async () => {
    const inline = await CrossEncoder.load(modelDir('tiny'), { worker: false, batchSize: 4 });
    try {
      const controller = new AbortController();
      // The typings describe InferenceSession as a factory; at run time it is a class with `run` on its prototype.
      const proto = (ort.InferenceSession as unknown as { prototype: ort.InferenceSession }).prototype;
      const run = proto.run;
      let batches = 0;
      vi.spyOn(proto, 'run').mockImplementation(function (this: ort.InferenceSession, ...args: Parameters<typeof run>) {
        if (++batches === 3) controller.abort(); // the abort lands while batch 3 is running
        return run.apply(this, args);
      });
      const docs = Array.from({ length: 400 }, (_, i) => passage(i)); // 100 batches
      await expect(inline.rank(QUERY, docs, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
      expect(batches).toBe(3);

      batches = 0;
      await expect(inline.rank(QUERY, docs, { timeoutMs: 1 })).rejects.toThrow(/timed out after 1 ms/);
      expect(batches).toBeLessThanOrEqual(1);
      vi.restoreAllMocks();
      expect(await inline.rank(QUERY, SMALL)).toEqual(smallScores);
    } finally {
      await inline.dispose();
    }
  });
});

describe('CrossEncoderReranker', () => {
  const documents = deepFreeze(SMALL.map((text, i) => new Document({ pageContent: text, metadata: { i } })));

  it('rerank takes a signal and a timeoutMs per call', async () => {
    const reranker = new CrossEncoderReranker({ model, topN: 3 });
    await expect(reranker.rerank(documents, QUERY, { signal: AbortSignal.abort() })).rejects.toThrow(
      /^Reranking was aborted\.$/,
    );
    const many = Array.from({ length: 3000 }, (_, i) => passage(i));
    await expect(reranker.rerank(many, QUERY, { timeoutMs: 100 })).rejects.toThrow(
      /timed out after 100 ms \(options\.timeoutMs\)/,
    );
    await expect(reranker.rerank(many, QUERY, { timeoutMs: -5 })).rejects.toBeInstanceOf(InvalidArgumentError);
    const ranked = await reranker.rerank(documents, QUERY, { timeoutMs: 60_000 });
    expect(ranked.map((r) => r.index)).toEqual(smallScores.map((r) => r.index));
  });

  it('compressDocuments honours the constructor timeoutMs and reports it on the callback run', async () => {
    expect(() => new CrossEncoderReranker({ model, timeoutMs: 0 })).toThrow(/timeoutMs/);
    const reranker = new CrossEncoderReranker({ model, topN: 5, timeoutMs: 100 });
    const many = Array.from({ length: 3000 }, (_, i) => new Document({ pageContent: passage(i) }));
    const errors: unknown[] = [];
    const callbacks = [BaseCallbackHandler.fromMethods({ handleRetrieverError: (error) => void errors.push(error) })];
    const error = await reranker.compressDocuments(many, QUERY, callbacks).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as Error).message).toMatch(/timed out after 100 ms \(timeoutMs\)/);
    await awaitAllCallbacks();
    expect(errors).toEqual([error]);
    // The worker drops the rest of that job at its next batch boundary; a call with time to spare gets through.
    const patient = new CrossEncoderReranker({ model, topN: 5, timeoutMs: 60_000 });
    expect(await patient.compressDocuments(documents, QUERY)).toHaveLength(3);
  });

  it('bounds the wait even for a scorer that ignores signals, and for a model still loading', async () => {
    const stuck: Scorer = {
      score: () => new Promise(() => {}),
      rank: () => new Promise(() => {}),
    };
    const reranker = new CrossEncoderReranker({ model: stuck, timeoutMs: 50 });
    const started = performance.now();
    await expect(reranker.compressDocuments([...documents], QUERY)).rejects.toThrow(/timed out after 50 ms/);
    expect(performance.now() - started).toBeLessThan(1000);

    // A model that takes longer to load than the call may wait: the call gives up, the load carries on.
    const loading = new CrossEncoderReranker({ model: modelDir('tiny'), timeoutMs: 1 });
    await expect(loading.compressDocuments([...documents], QUERY)).rejects.toBeInstanceOf(AbortError);
    await loading.warmup();
    await loading.dispose();
  });
});

describe('dispose() during a 5,000-document call', () => {
  const docs = Array.from({ length: 5000 }, (_, i) => passage(i));

  /** The whole 5,000-document job, estimated from a tenth of it on the same model. */
  async function estimate(scorer: CrossEncoder): Promise<number> {
    const started = performance.now();
    await scorer.rank(QUERY, docs.slice(0, 500));
    return 10 * (performance.now() - started);
  }

  for (const worker of [true, false]) {
    it(`rejects running and queued calls with AbortError and frees the model within one batch (worker: ${worker})`, async () => {
      const own = await CrossEncoder.load(modelDir('tiny'), { batchSize: BATCH, worker });
      const job = await estimate(own);
      let disposedAt = 0;
      const big = settle(own.rank(QUERY, docs), () => disposedAt);
      // The worker queues this behind the big call; inline calls run side by side, so it is already done.
      const queued = worker ? [settle(own.rank(QUERY, SMALL), () => disposedAt)] : [];
      // Past the up-front tokenization, deep in the batches.
      await new Promise((resolve) => setTimeout(resolve, 0.3 * job));
      disposedAt = performance.now();
      await own.dispose();
      const disposeMs = performance.now() - disposedAt;
      for (const outcome of [await big, ...(await Promise.all(queued))]) {
        expect(outcome.error).toBeInstanceOf(AbortError);
        expect((outcome.error as Error).message).toMatch(/disposed/);
      }
      // Before, release waited behind the whole job (about 70% of it was left); now one batch is the wait.
      expect(disposeMs).toBeLessThan(0.1 * job);
      await expect(own.rank(QUERY, SMALL)).rejects.toThrow(/disposed/);
      await own.dispose(); // twice is harmless
    });
  }

  it('CrossEncoderReranker.dispose stops its calls the same way, loaded model or shared scorer', async () => {
    const reranker = new CrossEncoderReranker({ model: modelDir('tiny'), batchSize: BATCH, topN: 3 });
    await reranker.warmup();
    const started = performance.now();
    await reranker.rerank(docs.slice(0, 500), QUERY);
    const job = 10 * (performance.now() - started);
    const big = reranker.compressDocuments(
      docs.map((text) => new Document({ pageContent: text })),
      QUERY,
    );
    let disposedAt = 0;
    const outcome = settle(big, () => disposedAt);
    await new Promise((resolve) => setTimeout(resolve, 0.3 * job));
    disposedAt = performance.now();
    await reranker.dispose();
    const disposeMs = performance.now() - disposedAt;
    expect((await outcome).error).toBeInstanceOf(AbortError);
    expect(disposeMs).toBeLessThan(0.1 * job);

    // A shared scorer is not the reranker's to free: its calls stop, the scorer keeps working.
    const sharing = new CrossEncoderReranker({ model, topN: 3 });
    const shared = settle(sharing.rerank(docs, QUERY), () => 0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sharing.dispose();
    expect((await shared).error).toBeInstanceOf(AbortError);
    expect(await model.rank(QUERY, SMALL)).toEqual(smallScores);
  });
});
