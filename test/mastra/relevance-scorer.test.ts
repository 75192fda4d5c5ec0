// The Mastra relevance-score provider driven by the real `rerankWithScorer` of @mastra/rag, with a FakeScorer and
// with the tiny model.
import { rerankWithScorer } from '@mastra/rag';
import type { QueryResult } from '@mastra/core/vector';
import { afterAll, describe, expect, it } from 'vitest';
import { CrossEncoderRelevanceScorer } from '../../src/mastra/index.js';
import { AbortError, CrossEncoder, InvalidArgumentError, type TextPair } from '../../src/index.js';
import { FakeScorer, wordOverlapScore } from '../../src/testing/index.js';
import { modelDir } from '../helpers/models.js';

const QUERY = 'how do ships find their way at night';
const TEXTS = [
  'Bread dough rises as yeast makes gas.',
  'Lighthouses guide ships at night with a rotating beam.',
  'A compass needle points north.',
  'Ships find their way at night by the stars.',
];
// As a vector store answers: best vector match first, the text in metadata.
const RESULTS: QueryResult[] = TEXTS.map((text, i) => ({
  id: `r${i}`,
  score: 0.9 - i * 0.1,
  metadata: { text, n: i },
}));
const SEMANTIC_ONLY = { semantic: 1, vector: 0, position: 0 };

describe('CrossEncoderRelevanceScorer in rerankWithScorer (FakeScorer)', () => {
  it('gives Mastra our scores, in one scoring call for all the results', async () => {
    const fake = new FakeScorer();
    const reranked = await rerankWithScorer({
      results: RESULTS,
      query: QUERY,
      scorer: new CrossEncoderRelevanceScorer({ model: fake }),
      options: { topK: 3, weights: SEMANTIC_ONLY },
    });
    const expected = TEXTS.map((text, i) => ({ id: `r${i}`, score: wordOverlapScore(QUERY, text) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 3);
    expect(reranked.map((r) => [r.result.id, r.details.semantic])).toEqual(expected.map((e) => [e.id, e.score]));
    expect(reranked.map((r) => r.score)).toEqual(expected.map((e) => e.score));
    expect(reranked[0]?.result).toBe(RESULTS[3]);
    expect(fake.calls).toEqual([{ pairs: 4, batchSize: undefined }]);
  });

  it("blends with the vector and position scores under Mastra's default weights", async () => {
    const reranked = await rerankWithScorer({
      results: RESULTS,
      query: QUERY,
      scorer: new CrossEncoderRelevanceScorer({ model: new FakeScorer() }),
      options: { topK: 4 },
    });
    for (const r of reranked) {
      const i = RESULTS.indexOf(r.result);
      expect(r.details.semantic).toBe(wordOverlapScore(QUERY, TEXTS[i] as string));
      expect(r.score).toBeCloseTo(0.4 * r.details.semantic + 0.4 * r.details.vector + 0.2 * r.details.position, 12);
    }
  });

  it('rejects every call of a batch when scoring fails, and refuses bad input by name', async () => {
    const controller = new AbortController();
    const scorer = new CrossEncoderRelevanceScorer({
      model: new FakeScorer({ delayMs: 200 }),
      signal: controller.signal,
    });
    const calls = [scorer.getRelevanceScore('q', 'a'), scorer.getRelevanceScore('q', 'b')];
    setTimeout(() => controller.abort(), 20);
    for (const call of calls) await expect(call).rejects.toSatisfy(AbortError.isInstance);
    const plain = new CrossEncoderRelevanceScorer({ model: new FakeScorer() });
    await expect(plain.getRelevanceScore(' ', 'a')).rejects.toThrow(/query/);
    await expect(plain.getRelevanceScore('q', 3 as never)).rejects.toThrow(/text/);
    expect(() => new CrossEncoderRelevanceScorer({ model: '' })).toThrow(InvalidArgumentError);
    expect(() => new CrossEncoderRelevanceScorer({ model: new FakeScorer(), maxLength: 32 })).toThrow(/maxLength/);
  });
});

describe('CrossEncoderRelevanceScorer loading a model (tiny)', () => {
  const scorer = new CrossEncoderRelevanceScorer({ model: modelDir('tiny'), worker: false });
  afterAll(() => scorer.dispose());

  it('gives Mastra the CrossEncoder scores of each (query, text) pair', async () => {
    const model = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    try {
      const expected = await model.score(TEXTS.map((text): TextPair => [QUERY, text]));
      const reranked = await rerankWithScorer({
        results: RESULTS,
        query: QUERY,
        scorer,
        options: { topK: 4, weights: SEMANTIC_ONLY },
      });
      for (const r of reranked) {
        expect(r.details.semantic).toBeCloseTo(expected[RESULTS.indexOf(r.result)] as number, 6);
      }
      expect(reranked.map((r) => r.score)).toEqual([...reranked.map((r) => r.score)].sort((a, b) => b - a));
    } finally {
      await model.dispose();
    }
  });
});
