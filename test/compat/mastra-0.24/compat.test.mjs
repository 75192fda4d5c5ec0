// Mastra as npm installs it on Node 20: every @mastra/core 1.x asks for Node 22.13 or later, so npm picks 0.24
// (with @mastra/rag 1.3). The relevance scorer must install beside it and rank through rerankWithScorer.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rerankWithScorer } from '@mastra/rag';
import { CrossEncoderRelevanceScorer } from 'langchain-cross-encoder/mastra';
import { CrossEncoder, FakeScorer } from 'langchain-cross-encoder/core';
import { describe, expect, it } from 'vitest';

const cellRequire = createRequire(import.meta.url);
const pins = cellRequire('./package.json').dependencies;
const tiny = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../models/tiny');
const RESULTS = [
  { id: 'road', score: 0.9, metadata: { text: 'A road running shoe with a light mesh upper.' } },
  { id: 'trail', score: 0.2, metadata: { text: 'A waterproof trail shoe with a grippy outsole.' } },
  { id: 'sock', score: 0.5, metadata: { text: 'A wool hiking sock for cold mornings.' } },
];
const QUERY = 'waterproof trail shoe';

describe(`mastra-0.24: @mastra/core ${pins['@mastra/core']}, @mastra/rag ${pins['@mastra/rag']}`, () => {
  it('installs the versions npm picks on Node 20, without @langchain/core', () => {
    expect(cellRequire('@mastra/core/package.json').version).toBe(pins['@mastra/core']);
    expect(cellRequire('@mastra/rag/package.json').version).toBe(pins['@mastra/rag']);
    // npm installed no LangChain into the cell (a lookup would climb to the repository's own node_modules).
    expect(existsSync(new URL('./node_modules/@langchain/core', import.meta.url))).toBe(false);
  });

  it('ranks through rerankWithScorer with the test double and with a local model', async () => {
    const fake = await rerankWithScorer({
      results: RESULTS,
      query: 'waterproof trail shoe',
      scorer: new CrossEncoderRelevanceScorer({ model: new FakeScorer() }),
      options: { topK: 1, weights: { semantic: 1, vector: 0, position: 0 } },
    });
    expect(fake[0].result.id).toBe('trail');

    const engine = await CrossEncoder.load(tiny, { worker: false });
    const scorer = new CrossEncoderRelevanceScorer({ model: tiny, worker: false });
    try {
      const reranked = await rerankWithScorer({
        results: RESULTS,
        query: QUERY,
        scorer,
        options: { topK: 3, weights: { semantic: 1, vector: 0, position: 0 } },
      });
      const expected = await engine.rank(
        QUERY,
        RESULTS.map((r) => r.metadata.text),
      );
      expect(reranked.map((r) => r.result.id)).toEqual(expected.map((r) => RESULTS[r.index].id));
    } finally {
      await scorer.dispose();
      await engine.dispose();
    }
  });

  it('loads through require() as well', () => {
    expect(typeof cellRequire('langchain-cross-encoder/mastra').CrossEncoderRelevanceScorer).toBe('function');
  });
});
