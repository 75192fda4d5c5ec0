import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { DocumentCompressorPipeline } from '@langchain/classic/retrievers/document_compressors';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnableLambda, RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder, CrossEncoderReranker, OnnxEmbeddings } from '../../src/index.js';
import { deepFreeze } from './freeze.js';
import { HnswlibStore } from './helpers/hnswlib-store.js';

// Real model files: the MiniLM-sized cross-encoder (random head: scores are real model outputs, rankings are not
// meaningful yet, so no test asserts ranking quality) and the real all-MiniLM-L6-v2 bi-encoder.
const RERANKER = path.resolve('models/minilm-random-head');
const EMBEDDER = path.resolve('models/all-MiniLM-L6-v2');

const TOPICS: [string, string][] = [
  ['bees', 'Honey bees tell their hive mates where flowers are with a waggle dance.'],
  ['bread', 'Sourdough rises because wild yeast and lactic acid bacteria ferment the dough.'],
  ['tides', 'Tides are caused mainly by the gravitational pull of the Moon on the oceans.'],
  ['volcano', 'A volcano erupts when pressure from magma and gas below the crust is released.'],
  ['piano', 'A piano sounds when felt hammers strike tuned steel strings.'],
  ['glacier', 'Glaciers carve U-shaped valleys as moving ice grinds the rock beneath.'],
  ['coffee', 'Coffee beans are the roasted seeds of the Coffea plant fruit.'],
  ['comet', 'A comet grows a tail when sunlight heats its ice and dust near the Sun.'],
];
const corpus = () =>
  TOPICS.map(
    ([topic, text]) => new Document({ pageContent: text, metadata: { topic, source: `${topic}.md` }, id: topic }),
  );

let embeddings: OnnxEmbeddings;
let model: CrossEncoder;
beforeAll(async () => {
  embeddings = new OnnxEmbeddings({ model: EMBEDDER });
  model = await CrossEncoder.load(RERANKER);
});
afterAll(async () => {
  await embeddings.dispose();
  await model.dispose();
});

/** What every reranked result must satisfy, whatever the ranking. */
function expectReranked(found: DocumentInterface[], from: readonly DocumentInterface[], topN: number): void {
  expect(found.length).toBe(Math.min(topN, from.length));
  const scores = found.map((d) => d.metadata['relevanceScore'] as number);
  expect(scores.every((s) => Number.isFinite(s) && s >= 0 && s <= 1)).toBe(true); // sigmoid scores
  expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  const ids = found.map((d) => d.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const doc of found) {
    const source = from.find((d) => d.id === doc.id);
    expect(source?.pageContent).toBe(doc.pageContent);
    expect(doc.metadata).toEqual({ ...source?.metadata, relevanceScore: doc.metadata['relevanceScore'] });
  }
}

describe('ContextualCompressionRetriever (@langchain/classic, @langchain/core 1.x)', () => {
  it('reranks a MemoryVectorStore retriever with the scores the engine computes', async () => {
    const store = await MemoryVectorStore.fromDocuments(corpus(), embeddings);
    const query = 'what makes the sea level rise and fall';
    const candidates = await store.asRetriever(6).invoke(query);
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: new CrossEncoderReranker({ model, topN: 3 }),
      baseRetriever: store.asRetriever(6),
    });
    const found = await retriever.invoke(query);
    expectReranked(found, corpus(), 3);
    const direct = await model.rank(
      query,
      candidates.map((d) => d.pageContent),
      { topK: 3 },
    );
    expect(found.map((d) => d.pageContent)).toEqual(direct.map((r) => candidates[r.index]?.pageContent));
    found.forEach((d, i) => expect(d.metadata['relevanceScore']).toBeCloseTo(direct[i]?.score as number, 6));
    // The store's own metadata objects were not written to.
    for (const doc of await store.similaritySearch(query, 8)) expect(doc.metadata).not.toHaveProperty('relevanceScore');
  });

  it('works over a persistent hnswlib-node index saved to disk and loaded back', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'hnsw-'));
    try {
      await (await HnswlibStore.fromDocuments(corpus(), embeddings)).save(dir);
      const store = await HnswlibStore.load(dir, embeddings);
      const first = await store.similaritySearch('honey bee dance', 1);
      expect(first[0]?.id).toBe('bees'); // the real bi-encoder finds the obvious match
      const retriever = new ContextualCompressionRetriever({
        baseCompressor: new CrossEncoderReranker({ model, topN: 2 }),
        baseRetriever: store.asRetriever(5),
      });
      expectReranked(await retriever.invoke('honey bee dance'), corpus(), 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('DocumentCompressorPipeline', () => {
  it('splits documents, then reranks the chunks; the frozen inputs are untouched', async () => {
    const input = deepFreeze(corpus());
    const pipeline = new DocumentCompressorPipeline({
      transformers: [
        new RecursiveCharacterTextSplitter({ chunkSize: 40, chunkOverlap: 0 }),
        new CrossEncoderReranker({ model, topN: 5 }),
      ],
    });
    const chunks = await pipeline.compressDocuments(input, 'how does a volcano erupt');
    expect(chunks).toHaveLength(5);
    for (const chunk of chunks) {
      expect(chunk.pageContent.length).toBeLessThanOrEqual(40);
      expect(input.find((d) => d.metadata['topic'] === chunk.metadata['topic'])?.pageContent).toContain(
        chunk.pageContent,
      );
      expect(Number.isFinite(chunk.metadata['relevanceScore'])).toBe(true);
    }
  });
});

describe('LCEL RAG chain with the reranker inside', () => {
  it('retriever | format | prompt | chat model | parser, the prompt holding the reranked context', async () => {
    const store = await MemoryVectorStore.fromDocuments(corpus(), embeddings);
    const reranker = new CrossEncoderReranker({ model, topN: 2 });
    const retriever = new ContextualCompressionRetriever({
      baseCompressor: reranker,
      baseRetriever: store.asRetriever(6),
    });
    const question = 'why do comets have tails';
    const expected = await reranker.compressDocuments(await store.asRetriever(6).invoke(question), question);
    const seen: string[] = [];
    const chain = RunnableSequence.from([
      {
        context: retriever.pipe((docs: DocumentInterface[]) =>
          docs.map((d) => `[${d.metadata['source']}] ${d.pageContent}`).join('\n'),
        ),
        question: new RunnablePassthrough(),
      },
      ChatPromptTemplate.fromMessages([
        ['system', 'Answer only from this context:\n{context}'],
        ['human', '{question}'],
      ]),
      RunnableLambda.from((prompt) => {
        seen.push(prompt.toString());
        return prompt;
      }),
      new FakeListChatModel({ responses: ['Sunlight heats the ice [comet.md].'] }),
      new StringOutputParser(),
    ]);
    expect(await chain.invoke(question)).toBe('Sunlight heats the ice [comet.md].');
    expect(seen).toHaveLength(1);
    const context = expected.map((d) => `[${d.metadata['source']}] ${d.pageContent}`).join('\n');
    expect(seen[0]).toContain(context);
  });
});
