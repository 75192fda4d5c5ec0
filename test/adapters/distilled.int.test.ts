// Every framework adapter on the distilled reranker (models/ce-minilm-l6-ict), through the framework's own call:
// rerank() from ai, a LlamaIndex.TS query engine over OnnxEmbeddings, and @mastra/rag's rerankWithScorer. Each
// returns the scores and order the CrossEncoder gives in-process, and puts the relevant passage first.
import type { QueryResult } from '@mastra/core/vector';
import { rerankWithScorer } from '@mastra/rag';
import { rerank } from 'ai';
import { Document, MetadataMode, Settings, VectorStoreIndex } from 'llamaindex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrossEncoder } from '../../src/ai-sdk/index.js';
import { CrossEncoder, OnnxEmbeddings, type TextPair } from '../../src/index.js';
import { CrossEncoderNodePostprocessor } from '../../src/llamaindex/index.js';
import { CrossEncoderRelevanceScorer } from '../../src/mastra/index.js';
import { modelDir, noDistilled } from '../helpers/models.js';
import { EchoLLM, OnnxLlamaEmbedding } from '../llamaindex/helpers.js';

const skip = noDistilled();
const QUERY = 'how do ships find their way at night';
const RELEVANT = 'Lighthouses guide ships at night with a rotating beam of light visible from far out at sea.';
const TEXTS = [
  'Bread dough rises as yeast turns sugars into carbon dioxide gas.',
  'The night market sells grilled fish and noodles until late.',
  RELEVANT,
  'A compass needle points north because it aligns with the magnetic field of the Earth.',
  'Container ships carry most of the goods traded between continents.',
];

describe.skipIf(skip)('the adapters on models/ce-minilm-l6-ict', () => {
  let engine: CrossEncoder;
  let expected: { index: number; score: number }[];
  beforeAll(async () => {
    engine = await CrossEncoder.load(modelDir('ce-minilm-l6-ict'));
    expected = await engine.rank(QUERY, TEXTS);
    expect(TEXTS[expected[0]?.index as number]).toBe(RELEVANT);
  });
  afterAll(() => engine?.dispose());

  it('rerank() from ai, text and object documents', async () => {
    const provider = createCrossEncoder();
    try {
      const model = provider.rerankingModel(modelDir('ce-minilm-l6-ict'));
      const text = await rerank({ model, query: QUERY, documents: TEXTS, topN: 3 });
      expect(text.ranking.map((r) => r.originalIndex)).toEqual(expected.slice(0, 3).map((r) => r.index));
      text.ranking.forEach((r, i) => expect(r.score).toBeCloseTo(expected[i]?.score as number, 5));

      const records = TEXTS.map((body, i) => ({ id: i, body, source: 'encyclopedia' }));
      const objects = await rerank({
        model: provider.rerankingModel(modelDir('ce-minilm-l6-ict'), { rankFields: ['body'] }),
        query: QUERY,
        documents: records,
        topN: 1,
      });
      const [asFields] = await engine.score([[QUERY, `body: ${RELEVANT}`]]);
      expect(objects.ranking[0]?.document).toBe(records[2]);
      expect(objects.ranking[0]?.score).toBeCloseTo(asFields as number, 5);
    } finally {
      await provider.dispose();
    }
  });

  it('a LlamaIndex.TS query engine over OnnxEmbeddings returns the reranked nodes', async () => {
    const embeddings = new OnnxEmbeddings({ model: modelDir('all-MiniLM-L6-v2') });
    const postprocessor = new CrossEncoderNodePostprocessor({ model: modelDir('ce-minilm-l6-ict'), topN: 2 });
    try {
      Settings.embedModel = new OnnxLlamaEmbedding(embeddings);
      Settings.llm = new EchoLLM();
      const index = await VectorStoreIndex.fromDocuments(TEXTS.map((text, i) => new Document({ text, id_: `t${i}` })));
      const queryEngine = index.asQueryEngine({ similarityTopK: 5, nodePostprocessors: [postprocessor] });
      const response = await queryEngine.query({ query: QUERY });
      const nodes = response.sourceNodes ?? [];
      const contents = nodes.map((n) => n.node.getContent(MetadataMode.NONE));
      expect(contents).toEqual(expected.slice(0, 2).map((r) => TEXTS[r.index]));
      nodes.forEach((n, i) => expect(n.score).toBeCloseTo(expected[i]?.score as number, 5));
      expect(response.message.content).toContain(RELEVANT);
    } finally {
      await postprocessor.dispose();
      await embeddings.dispose();
    }
  });

  it("@mastra/rag's rerankWithScorer gets our scores", async () => {
    const scorer = new CrossEncoderRelevanceScorer({ model: modelDir('ce-minilm-l6-ict') });
    try {
      const results: QueryResult[] = TEXTS.map((text, i) => ({ id: `t${i}`, score: 0.5, metadata: { text } }));
      const reranked = await rerankWithScorer({
        results,
        query: QUERY,
        scorer,
        options: { topK: 5, weights: { semantic: 1, vector: 0, position: 0 } },
      });
      const scores = await engine.score(TEXTS.map((text): TextPair => [QUERY, text]));
      expect(reranked[0]?.result.metadata?.['text']).toBe(RELEVANT);
      for (const r of reranked) {
        expect(r.details.semantic).toBeCloseTo(scores[results.indexOf(r.result)] as number, 5);
      }
    } finally {
      await scorer.dispose();
    }
  });
});
