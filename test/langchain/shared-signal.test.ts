import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortError, CrossEncoder, CrossEncoderReranker } from '../../src/index.js';
import { FakeScorer } from '../../src/testing/index.js';
import { modelDir } from '../helpers/models.js';

// One AbortSignal shared by many concurrent calls (a request's or a server's shutdown signal) is ordinary use: it
// must neither make Node warn of a listener leak nor keep listeners once the calls settle.

const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeEach(() => {
  warnings.length = 0;
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
const leakWarnings = () => warnings.filter((w) => w.name === 'MaxListenersExceededWarning');

const DOCS = ['red apples', 'green pears', 'blue sky', 'apple trees'];

describe('one signal shared by many concurrent calls', () => {
  it('CrossEncoderReranker: 40 calls, one listener on the signal, none after, no warning', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 2 });
    const controller = new AbortController();
    const calls = Array.from({ length: 40 }, () => reranker.rerank(DOCS, 'red apples', { signal: controller.signal }));
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(1);
    await Promise.all(calls);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    expect(leakWarnings()).toEqual([]);
  });

  it('aborting the shared signal still rejects every call in flight with AbortError (worker model)', async () => {
    const model = await CrossEncoder.load(modelDir('tiny'), { worker: true });
    try {
      const controller = new AbortController();
      const pairs = Array.from({ length: 200 }, (_, i): [string, string] => ['query', `passage number ${i}`]);
      const calls = Array.from({ length: 20 }, () =>
        model.score(pairs, { signal: controller.signal, batchSize: 8 }).catch((e: unknown) => e),
      );
      controller.abort();
      const outcomes = await Promise.all(calls);
      expect(outcomes.every((o) => AbortError.isInstance(o))).toBe(true);
      expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(leakWarnings()).toEqual([]);
    } finally {
      await model.dispose();
    }
  });
});
