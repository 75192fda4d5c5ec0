// The LlamaIndex.TS node postprocessor inside a real query engine (in-memory vector store, offline embedding and
// LLM), with a FakeScorer and with the tiny model.
import { Document, MetadataMode, Settings, TextNode, VectorStoreIndex, type NodeWithScore } from 'llamaindex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoderNodePostprocessor } from '../../src/llamaindex/index.js';
import { AbortError, CrossEncoder, InvalidArgumentError } from '../../src/index.js';
import { FakeScorer, wordOverlapScore } from '../../src/testing/index.js';
import { modelDir } from '../helpers/models.js';
import { BagOfWordsEmbedding, EchoLLM } from './helpers.js';

const TEXTS = [
  'Lighthouses guide ships at night with a rotating beam.',
  'Bread dough rises as yeast makes gas.',
  'Ships at night also steer by the stars and by radar.',
  'A compass needle points north.',
  'Night trains run between the capitals.',
];
const QUERY = 'how do ships find their way at night';

let index: VectorStoreIndex;
beforeAll(async () => {
  Settings.embedModel = new BagOfWordsEmbedding();
  Settings.llm = new EchoLLM();
  index = await VectorStoreIndex.fromDocuments(
    TEXTS.map((text, i) => new Document({ text, id_: `doc-${i}`, metadata: { n: i, source: 'atlas' } })),
  );
});

describe('CrossEncoderNodePostprocessor in a query engine (FakeScorer)', () => {
  it('keeps topN of the retrieved nodes, best first, with our scores, nodes and metadata kept', async () => {
    const postprocessor = new CrossEncoderNodePostprocessor({
      model: new FakeScorer(),
      topN: 2,
      metadataMode: MetadataMode.NONE,
    });
    const engine = index.asQueryEngine({ similarityTopK: 5, nodePostprocessors: [postprocessor] });
    const retrieved = await index.asRetriever({ similarityTopK: 5 }).retrieve(QUERY);
    const expected = retrieved
      .map((entry) => ({ entry, score: wordOverlapScore(QUERY, entry.node.getContent(MetadataMode.NONE)) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 2);

    const nodes = await engine.retrieve(QUERY);
    expect(nodes.map((n) => n.node.id_)).toEqual(expected.map((e) => e.entry.node.id_));
    expect(nodes.map((n) => n.score)).toEqual(expected.map((e) => e.score));
    expect(nodes[0]?.node.metadata).toEqual({ n: 0, source: 'atlas' });

    // The full query path: the LLM gets the reranked nodes as context and they come back as source nodes.
    const response = await engine.query({ query: QUERY });
    expect(response.sourceNodes?.map((n) => n.node.id_)).toEqual(expected.map((e) => e.entry.node.id_));
    expect(response.message.content).toContain(TEXTS[0]);
    expect(response.message.content).not.toContain(TEXTS[1]);
  });

  it('reads what the embedding read by default, the node metadata included', async () => {
    const seen: string[] = [];
    const scorer = new FakeScorer({ scoreFn: (_q, passage) => (seen.push(passage), 0) });
    const node = new TextNode({ text: 'body text', metadata: { title: 'Lighthouses' } });
    await new CrossEncoderNodePostprocessor({ model: scorer }).postprocessNodes([{ node, score: 0.3 }], 'q');
    expect(seen).toEqual([node.getContent(MetadataMode.EMBED)]);
    expect(seen[0]).toContain('title: Lighthouses');
  });

  it('leaves the nodes it was given as they were, and drops nodes under minScore', async () => {
    const given: NodeWithScore[] = TEXTS.map((text, i) => ({ node: new TextNode({ text, id_: `n${i}` }), score: 0.5 }));
    const frozen = Object.freeze(given.map((entry) => Object.freeze({ ...entry })));
    const out = await new CrossEncoderNodePostprocessor({
      model: new FakeScorer(),
      topN: 5,
      minScore: 0.3,
    }).postprocessNodes([...frozen], QUERY);
    // Docs 0 and 2 hold three of the query's eight words (0.375); doc 4 one (0.125) and doc 1 none are dropped.
    expect(out.map((n) => [n.node.id_, n.score])).toEqual([
      ['n0', 0.375],
      ['n2', 0.375],
    ]);
    expect(out[1]?.node).toBe(given[2]?.node);
    expect(frozen.map((entry) => entry.score)).toEqual(TEXTS.map(() => 0.5));
  });

  it('reads the text parts of a multi-part query, and refuses a missing query or bad options by name', async () => {
    const postprocessor = new CrossEncoderNodePostprocessor({ model: new FakeScorer(), topN: 1 });
    const nodes: NodeWithScore[] = TEXTS.map((text) => ({ node: new TextNode({ text }) }));
    const [best] = await postprocessor.postprocessNodes(nodes, [
      { type: 'text', text: 'compass' },
      { type: 'image_url', image_url: { url: 'data:,' } },
    ]);
    expect(best?.node.getContent(MetadataMode.NONE)).toBe(TEXTS[3]);
    await expect(postprocessor.postprocessNodes(nodes)).rejects.toThrow(/query/);
    await expect(postprocessor.postprocessNodes([{} as NodeWithScore], 'q')).rejects.toThrow(/nodes\[0\]/);
    expect(() => new CrossEncoderNodePostprocessor({ topN: -1 })).toThrow(InvalidArgumentError);
    expect(() => new CrossEncoderNodePostprocessor({ metadataMode: 'SOME' as MetadataMode })).toThrow(/metadataMode/);
    expect(() => new CrossEncoderNodePostprocessor({ model: new FakeScorer(), maxLength: 64 })).toThrow(/maxLength/);
  });

  it('stops with an AbortError when its signal fires', async () => {
    const controller = new AbortController();
    const postprocessor = new CrossEncoderNodePostprocessor({
      model: new FakeScorer({ delayMs: 200 }),
      signal: controller.signal,
    });
    const call = postprocessor.postprocessNodes([{ node: new TextNode({ text: 'x' }) }], 'q');
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toSatisfy(AbortError.isInstance);
  });
});

describe('CrossEncoderNodePostprocessor loading a model (tiny)', () => {
  const postprocessor = new CrossEncoderNodePostprocessor({ model: modelDir('tiny'), topN: 3, worker: false });
  afterAll(() => postprocessor.dispose());

  it('scores the retrieved nodes as the CrossEncoder does', async () => {
    const engine = index.asQueryEngine({ similarityTopK: 5, nodePostprocessors: [postprocessor] });
    const retrieved = await index.asRetriever({ similarityTopK: 5 }).retrieve(QUERY);
    const model = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    try {
      const expected = await model.rank(
        QUERY,
        retrieved.map((n) => n.node.getContent(MetadataMode.EMBED)),
        { topK: 3 },
      );
      const nodes = await engine.retrieve(QUERY);
      expect(nodes.map((n) => n.node.id_)).toEqual(expected.map((r) => retrieved[r.index]?.node.id_));
      nodes.forEach((n, i) => expect(n.score).toBeCloseTo(expected[i]?.score as number, 6));
    } finally {
      await model.dispose();
    }
  });
});
