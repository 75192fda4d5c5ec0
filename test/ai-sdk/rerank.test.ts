// The Vercel AI SDK provider driven by the real `rerank()` from `ai`, with a FakeScorer and with the tiny model.
import { NoSuchModelError } from '@ai-sdk/provider';
import { rerank } from 'ai';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createCrossEncoder, crossEncoder, NoSuchModelTypeError } from '../../src/ai-sdk/index.js';
import { AbortError, CrossEncoder, InvalidArgumentError, RemoteScorer, RerankServer } from '../../src/index.js';
import { FakeScorer, wordOverlapScore } from '../../src/testing/index.js';
import { modelDir } from '../helpers/models.js';

const QUERY = 'waterproof trail shoe';
const TEXTS = ['a road shoe', 'an umbrella', 'a waterproof trail shoe', 'trail maps'];

describe('rerank() from ai with a FakeScorer behind the provider', () => {
  const provider = createCrossEncoder({ scorer: new FakeScorer() });

  it('returns our scores and order for text documents, best first, topN kept', async () => {
    const result = await rerank({ model: provider.rerankingModel('fake'), query: QUERY, documents: TEXTS, topN: 3 });
    const expected = TEXTS.map((text, index) => ({ index, score: wordOverlapScore(QUERY, text) }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, 3);
    expect(result.ranking).toEqual(
      expected.map(({ index, score }) => ({ originalIndex: index, score, document: TEXTS[index] })),
    );
    expect(result.rerankedDocuments).toEqual(expected.map(({ index }) => TEXTS[index]));
    expect(result.response.modelId).toBe('fake');
  });

  it('ranks object documents by their key: value text, or by rankFields set on the model or per call', async () => {
    const products = [
      { title: 'Road shoe', body: 'Light and fast for tarmac.' },
      { title: 'Trail shoe', body: 'A waterproof upper for trail runs.' },
      { title: 'Waterproof trail shoe', body: 'Discontinued.' },
    ];
    const all = await rerank({ model: provider.rerankingModel('fake'), query: QUERY, documents: products });
    const rendered = products.map((p) => `title: ${p.title}\nbody: ${p.body}`);
    expect(all.ranking.map((r) => r.score)).toEqual(
      all.ranking.map((r) => wordOverlapScore(QUERY, rendered[r.originalIndex] as string)),
    );
    // Both trail shoes hold every query word somewhere in their fields and tie, in input order.
    expect(all.ranking.map((r) => [r.originalIndex, r.score])).toEqual([
      [1, 1],
      [2, 1],
      [0, 1 / 3],
    ]);
    expect(all.ranking[0]?.document).toBe(products[1]);

    const byTitle = await rerank({
      model: provider.rerankingModel('fake', { rankFields: ['title'] }),
      query: 'road',
      documents: products,
    });
    expect(byTitle.ranking.map((r) => [r.originalIndex, r.score])).toEqual([
      [0, 1],
      [1, 0],
      [2, 0],
    ]);
    // The title "Waterproof trail shoe" holds the query words; by body alone the second product does.
    const byBody = await rerank({
      model: provider.rerankingModel('fake', { rankFields: ['title'] }),
      query: 'waterproof trail',
      documents: products,
      providerOptions: { crossEncoder: { rankFields: ['body'] } },
    });
    expect(byBody.ranking[0]?.originalIndex).toBe(1);
    const byFunction = await rerank({
      model: provider.rerankingModel('fake', { rankFields: (p) => String(p['body']) }),
      query: 'discontinued',
      documents: products,
    });
    expect(byFunction.ranking[0]).toMatchObject({ originalIndex: 2, score: 1 });
  });

  it('rejects on abort, before and during scoring, with our AbortError', async () => {
    const slow = createCrossEncoder({ scorer: new FakeScorer({ delayMs: 200 }) });
    const aborted = AbortSignal.abort();
    await expect(
      rerank({ model: slow.rerankingModel('fake'), query: QUERY, documents: TEXTS, abortSignal: aborted }),
    ).rejects.toSatisfy(AbortError.isInstance);
    const controller = new AbortController();
    const call = rerank({
      model: slow.rerankingModel('fake'),
      query: QUERY,
      documents: TEXTS,
      abortSignal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toSatisfy(AbortError.isInstance);
  });

  it('refuses bad settings with typed errors naming them, and offers no other model kinds', async () => {
    expect(() => provider.rerankingModel('')).toThrow(/modelId/);
    expect(() => provider.rerankingModel('m', { rankFields: [] })).toThrow(InvalidArgumentError);
    expect(() => provider.rerankingModel('m', { topK: 3 } as never)).toThrow(/settings\.topK.*not a reranking setting/);
    await expect(
      rerank({
        model: provider.rerankingModel('fake'),
        query: QUERY,
        documents: TEXTS,
        providerOptions: { crossEncoder: { maxChunksPerDoc: 0 } },
      }),
    ).rejects.toThrow(/providerOptions\.crossEncoder\.maxChunksPerDoc/);
    await expect(rerank({ model: provider.rerankingModel('fake'), query: ' ', documents: TEXTS })).rejects.toThrow(
      /query/,
    );
    // The AI SDK's own check recognises the error without the provider loading @ai-sdk/provider.
    const noLanguageModel = (() => {
      try {
        return provider.languageModel('x');
      } catch (error) {
        return error;
      }
    })();
    expect(NoSuchModelError.isInstance(noLanguageModel)).toBe(true);
    expect(noLanguageModel).toBeInstanceOf(NoSuchModelTypeError);
    expect(noLanguageModel).toMatchObject({ modelId: 'x', modelType: 'languageModel' });
    expect(() => crossEncoder.embeddingModel('x')).toThrow(/rerankingModel/);
    expect(provider.rerankingModel('m')).toMatchObject({
      specificationVersion: 'v3',
      provider: 'cross-encoder.reranking',
    });
    expect(() => createCrossEncoder({ scorer: {} as never })).toThrow(/settings\.scorer/);
  });

  it('refuses loading options beside a scorer, which would be ignored', () => {
    const scorer = new FakeScorer();
    expect(() => createCrossEncoder({ scorer, variant: 'bogus' as never, threads: -3 })).toThrow(InvalidArgumentError);
    expect(() => createCrossEncoder({ scorer, threads: 2 })).toThrow(/settings\.threads.*scorer you built/);
    expect(() => createCrossEncoder({ scorer, threads: undefined })).not.toThrow();
  });

  it('does not modify the documents it is given', async () => {
    const documents = Object.freeze([Object.freeze({ title: 'Trail', tags: Object.freeze(['wet']) })]);
    const result = await rerank({ model: provider.rerankingModel('fake'), query: 'trail', documents: [...documents] });
    expect(result.ranking[0]?.document).toBe(documents[0]);
  });
});

describe('rerank() from ai on other scorers (tiny)', () => {
  it('ranks on a rerank server through a RemoteScorer', async () => {
    const engine = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    const server = await RerankServer.start({ scorer: engine, port: 0 });
    try {
      const provider = createCrossEncoder({ scorer: new RemoteScorer({ url: server.url, protocol: 'tei' }) });
      const result = await rerank({ model: provider.rerankingModel('tiny'), query: QUERY, documents: TEXTS, topN: 2 });
      const expected = await engine.rank(QUERY, TEXTS, { topK: 2 });
      expect(result.ranking.map((r) => r.originalIndex)).toEqual(expected.map((r) => r.index));
      result.ranking.forEach((r, i) => expect(r.score).toBeCloseTo(expected[i]?.score as number, 5));
    } finally {
      await server.close();
      await engine.dispose();
    }
  });

  it('splits long documents with maxChunksPerDoc and says which window scored in providerMetadata', async () => {
    const provider = createCrossEncoder({ worker: false, maxLength: 24 });
    const words = 'paris capital france river city museum bread cheese wine tower history'.split(' ');
    const longText = Array.from({ length: 60 }, (_, i) => words[(i * 7) % words.length]).join(' ');
    const engine = await CrossEncoder.load(modelDir('tiny'), { worker: false, maxLength: 24 });
    try {
      const result = await rerank({
        model: provider.rerankingModel(modelDir('tiny'), { maxChunksPerDoc: 8 }),
        query: 'capital of france',
        documents: [longText, 'paris'],
      });
      const expected = await engine.rank('capital of france', [longText, 'paris'], { maxChunksPerDoc: 8 });
      const long = expected.find((r) => r.index === 0);
      expect(long?.chunk).toBeTypeOf('number');
      expect(result.providerMetadata).toEqual({ crossEncoder: { chunks: { '0': long?.chunk } } });
      result.ranking.forEach((r, i) => expect(r.score).toBeCloseTo(expected[i]?.score as number, 6));
    } finally {
      await provider.dispose();
      await engine.dispose();
    }
  });
});

describe('rerank() from ai with a model the provider loads (tiny)', () => {
  const provider = createCrossEncoder({ worker: false });
  afterAll(() => provider.dispose());

  it('returns the CrossEncoder scores, loading the model once per provider and model id', async () => {
    const engine = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    const load = vi.spyOn(CrossEncoder, 'load');
    try {
      const expected = await engine.rank(QUERY, TEXTS);
      const model = provider.rerankingModel(modelDir('tiny'));
      const first = await rerank({ model, query: QUERY, documents: TEXTS });
      expect(first.ranking.map((r) => r.originalIndex)).toEqual(expected.map((r) => r.index));
      first.ranking.forEach((r, i) => expect(r.score).toBeCloseTo(expected[i]?.score as number, 6));
      // A second model object for the same id shares the loaded engine: same scores, no second load.
      const again = await rerank({ model: provider.rerankingModel(modelDir('tiny')), query: QUERY, documents: TEXTS });
      expect(again.ranking).toEqual(first.ranking);
      expect(load).toHaveBeenCalledTimes(1);
      expect(load).toHaveBeenCalledWith(modelDir('tiny'), { worker: false });
    } finally {
      load.mockRestore();
      await engine.dispose();
    }
  });
});
