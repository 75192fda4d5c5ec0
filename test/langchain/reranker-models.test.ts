import { afterEach, describe, expect, it, vi } from 'vitest';
import { CrossEncoder, CrossEncoderReranker, InvalidArgumentError, PER_CALL_MODELS } from '../../src/index.js';
import { FakeScorer } from '../../src/testing/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Stands in for CrossEncoder.load: one FakeScorer per model name, kept so a test can see which were disposed. */
function fakeLoads(delayMs = 0): Map<string, FakeScorer[]> {
  const loaded = new Map<string, FakeScorer[]>();
  vi.spyOn(CrossEncoder, 'load').mockImplementation(async (model = '') => {
    const scorer = new FakeScorer({ delayMs });
    loaded.set(model, [...(loaded.get(model) ?? []), scorer]);
    return scorer as unknown as CrossEncoder;
  });
  return loaded;
}

describe('a model name given to the reranker', () => {
  it('a malformed hub id is an InvalidArgumentError in the constructor, before any load', () => {
    const load = vi.spyOn(CrossEncoder, 'load');
    for (const model of ['Xenova/ms-marco MiniLM', 'a/b/c', 'owner/..name', '-leading-dash']) {
      expect(() => new CrossEncoderReranker({ model })).toThrow(InvalidArgumentError);
      expect(() => new CrossEncoderReranker({ model })).toThrow(/^model: expected a hub id/);
    }
    expect(() => new CrossEncoderReranker({ model: 'Xenova/ms-marco MiniLM' })).toThrow(
      /write it as a path, e\.g\. \.\/Xenova\/ms-marco MiniLM/,
    );
    expect(load).not.toHaveBeenCalled();
  });

  it('a string written as a path or URL is left to the loader, spaces and all', () => {
    for (const model of ['./my models/tiny', '../up/a b', '/abs/path with space', '~/models/x', 'C:\\models\\x y']) {
      expect(() => new CrossEncoderReranker({ model })).not.toThrow();
    }
    expect(() => new CrossEncoderReranker({ model: 'https://example.com/models/x y/' })).not.toThrow();
    expect(() => new CrossEncoderReranker({ model: 'Xenova/ms-marco-MiniLM-L-6-v2' })).not.toThrow();
  });

  it('a malformed per-call model rejects with InvalidArgumentError naming options.model, without a load', async () => {
    const load = vi.spyOn(CrossEncoder, 'load');
    const reranker = new CrossEncoderReranker({ model: new FakeScorer() });
    await expect(reranker.rerank(['a'], 'q', { model: 'bad id/with space' })).rejects.toThrow(/^options\.model:/);
    await expect(reranker.rerank(['a'], 'q', { model: '' })).rejects.toThrow(/^options\.model:/);
    expect(load).not.toHaveBeenCalled();
  });
});

describe('models named per call', () => {
  it(`keeps at most ${PER_CALL_MODELS}, disposing the least recently used`, async () => {
    const loaded = fakeLoads();
    const reranker = new CrossEncoderReranker({ model: new FakeScorer() });
    const use = (name: string) => reranker.rerank(['red apples', 'sky'], 'apples', { model: name });
    const names = Array.from({ length: PER_CALL_MODELS }, (_, i) => `org/m${i}`);
    for (const name of names) await use(name);
    await use('org/m0'); // m0 is now the most recently used, m1 the least
    await use('org/extra');
    const disposed = () => [...loaded].filter(([, all]) => all.some((s) => s.disposed)).map(([name]) => name);
    expect(disposed()).toEqual(['org/m1']);
    await use('org/m1'); // loaded again, evicting m2
    expect(loaded.get('org/m1')).toHaveLength(2);
    expect(disposed()).toEqual(['org/m1', 'org/m2']);
    expect(loaded.get('org/m1')?.[1]?.disposed).toBe(false);
    await reranker.dispose();
    expect([...loaded.values()].flat().every((s) => s.disposed)).toBe(true);
  });

  it('never disposes a model while a call is using it: it goes once that call ends', async () => {
    let finish = () => {};
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const busy = new FakeScorer();
    const rank = busy.rank.bind(busy);
    vi.spyOn(busy, 'rank').mockImplementation(async (...args) => {
      await gate;
      return rank(...args);
    });
    const others = fakeLoads();
    vi.mocked(CrossEncoder.load).mockImplementation(async (model = '') => {
      if (model === 'org/busy') return busy as unknown as CrossEncoder;
      const scorer = new FakeScorer();
      others.set(model, [scorer]);
      return scorer as unknown as CrossEncoder;
    });
    const reranker = new CrossEncoderReranker({ model: new FakeScorer() });
    const inFlight = reranker.rerank(['red apples'], 'apples', { model: 'org/busy' });
    await vi.waitFor(() => expect(busy.rank).toHaveBeenCalled());
    for (let i = 0; i < PER_CALL_MODELS; i++) await reranker.rerank(['a'], 'q', { model: `org/other${i}` });
    expect(busy.disposed).toBe(false); // evicted, but still scoring
    finish();
    expect(await inFlight).toHaveLength(1);
    await vi.waitFor(() => expect(busy.disposed).toBe(true));
    await reranker.dispose();
  });
});

describe('budgetMs', () => {
  it('goes through the timer check: 2**31 ms, which a timer would fire at once, is refused', () => {
    expect(() => new CrossEncoderReranker({ model: new FakeScorer(), budgetMs: 2 ** 31 })).toThrow(/^budgetMs:/);
    expect(() => new CrossEncoderReranker({ model: new FakeScorer(), budgetMs: 2 ** 31 - 1 })).not.toThrow();
  });
});
