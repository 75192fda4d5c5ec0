// The compatibility suite both matrix cells run. It imports nothing from LangChain itself: each cell passes in
// its own copies, so every module here comes from that cell's node_modules and its single @langchain/core.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rerankModel = path.join(repoRoot, 'models/minilm-random-head');
const embeddingModel = path.join(repoRoot, 'models/all-MiniLM-L6-v2');

const PASSAGES = [
  ['bees', 'Honey bees communicate the direction of flowers to their hive mates with a waggle dance.'],
  ['bread', 'Sourdough bread rises because wild yeast and lactic acid bacteria ferment the dough.'],
  ['tides', 'Ocean tides are caused mainly by the gravitational pull of the Moon on the Earth.'],
  ['volcano', 'A volcano erupts when pressure from molten rock and gas beneath the crust is released.'],
  ['piano', 'A piano makes sound when felt hammers strike tuned steel strings inside its case.'],
  ['glacier', 'Glaciers carve U-shaped valleys as the moving ice grinds the rock beneath it.'],
  ['coffee', 'Coffee beans are the roasted seeds of the fruit of the Coffea plant.'],
  ['comet', 'A comet grows a glowing tail when sunlight heats its ice and dust as it nears the Sun.'],
];

function deepFreeze(value) {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze(value[key]);
  }
  return value;
}

/**
 * @param {object} lc the cell's modules: LangChain classes, the package (ESM and CJS) and its testing subpath
 * @param {string} cell the cell's name, for test titles
 */
export function defineCompatSuite(lc, cell) {
  const { pkg, testing } = lc;
  const docs = () =>
    PASSAGES.map(
      ([topic, text]) => new lc.Document({ pageContent: text, metadata: { topic, source: `${topic}.txt` }, id: topic }),
    );

  describe(`${cell}: @langchain/core ${lc.coreVersion}`, () => {
    it('resolves one @langchain/core: the package uses the copy this cell installed', () => {
      const cellRequire = createRequire(lc.cellUrl);
      const fromCell = cellRequire.resolve('@langchain/core/package.json');
      const pkgRequire = createRequire(cellRequire.resolve('langchain-cross-encoder/package.json'));
      expect(pkgRequire.resolve('@langchain/core/package.json')).toBe(fromCell);
      expect(cellRequire('@langchain/core/package.json').version).toBe(lc.coreVersion);
    });

    it('ContextualCompressionRetriever over a MemoryVectorStore with OnnxEmbeddings, reported as a child run', async () => {
      const embeddings = new pkg.OnnxEmbeddings({ model: embeddingModel });
      const store = await lc.MemoryVectorStore.fromDocuments(docs(), embeddings);
      const reranker = new pkg.CrossEncoderReranker({ model: rerankModel, topN: 3 });
      const retriever = new lc.ContextualCompressionRetriever({
        baseCompressor: reranker,
        baseRetriever: store.asRetriever(6),
      });
      const runs = [];
      class Recorder extends lc.BaseCallbackHandler {
        name = 'recorder';
        handleRetrieverStart(_retriever, query, runId, parentRunId, _tags, _metadata, name) {
          runs.push({ event: 'start', query, runId, parentRunId, name });
        }
        handleRetrieverEnd(documents, runId) {
          runs.push({ event: 'end', runId, count: documents.length });
        }
      }
      const query = 'Why does the sea rise and fall twice a day?';
      const found = await retriever.invoke(query, { callbacks: [new Recorder()] });
      await lc.awaitAllCallbacks();

      expect(found).toHaveLength(3);
      const scores = found.map((d) => d.metadata.relevanceScore);
      expect(scores.every(Number.isFinite)).toBe(true);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      for (const doc of found) expect(PASSAGES.map(([, t]) => t)).toContain(doc.pageContent);
      // The store hands out its own metadata objects; reranking must not have written into them.
      const again = await store.similaritySearch(query, 8);
      for (const doc of again) expect(doc.metadata).not.toHaveProperty('relevanceScore');

      const outer = runs.find((r) => r.event === 'start' && r.parentRunId === undefined);
      const child = runs.find((r) => r.event === 'start' && r.name === 'CrossEncoderReranker');
      expect(outer).toBeDefined();
      expect(child?.parentRunId).toBe(outer?.runId);
      expect(child?.query).toBe(query);
      expect(runs.find((r) => r.event === 'end' && r.runId === child?.runId)?.count).toBe(3);
      await reranker.dispose();
      await embeddings.dispose();
    });

    it('DocumentCompressorPipeline: a text splitter, then the reranker', async () => {
      const input = deepFreeze(docs());
      const pipeline = new lc.DocumentCompressorPipeline({
        transformers: [
          new lc.RecursiveCharacterTextSplitter({ chunkSize: 40, chunkOverlap: 0 }),
          new pkg.CrossEncoderReranker({ model: rerankModel, topN: 4 }),
        ],
      });
      const chunks = await pipeline.compressDocuments(input, 'volcano eruption');
      expect(chunks).toHaveLength(4);
      for (const chunk of chunks) {
        expect(chunk.pageContent.length).toBeLessThanOrEqual(40);
        const parent = input.find((d) => d.metadata.topic === chunk.metadata.topic);
        expect(parent?.pageContent).toContain(chunk.pageContent);
        expect(Number.isFinite(chunk.metadata.relevanceScore)).toBe(true);
      }
    });

    it('runs inside an LCEL chain: retriever | format | prompt | chat model | parser', async () => {
      const store = await lc.MemoryVectorStore.fromDocuments(docs(), new pkg.OnnxEmbeddings({ model: embeddingModel }));
      // A deterministic scorer makes the chosen context checkable; the real model runs in the tests above.
      const retriever = new lc.ContextualCompressionRetriever({
        baseCompressor: new pkg.CrossEncoderReranker({ model: new testing.FakeScorer(), topN: 1 }),
        baseRetriever: store.asRetriever(5),
      });
      const prompts = [];
      const chain = lc.RunnableSequence.from([
        {
          context: retriever.pipe((found) => found.map((d) => `[${d.metadata.source}] ${d.pageContent}`).join('\n')),
          question: new lc.RunnablePassthrough(),
        },
        lc.ChatPromptTemplate.fromMessages([
          ['system', 'Answer from the context only.\n{context}'],
          ['human', '{question}'],
        ]),
        (value) => {
          prompts.push(value.toString());
          return value;
        },
        new lc.FakeListChatModel({ responses: ['Bees dance to point the way [bees.txt].'] }),
        new lc.StringOutputParser(),
      ]);
      const answer = await chain.invoke('how do honey bees tell the hive where flowers are');
      expect(answer).toBe('Bees dance to point the way [bees.txt].');
      expect(prompts).toHaveLength(1);
      expect(prompts[0]).toContain('[bees.txt] Honey bees communicate');
      expect(prompts[0]).not.toContain('[coffee.txt]');
    });

    it('loads through require() as well (the CJS build) with the testing subpath', async () => {
      const cellRequire = createRequire(lc.cellUrl);
      const cjs = cellRequire('langchain-cross-encoder');
      const cjsTesting = cellRequire('langchain-cross-encoder/testing');
      const reranker = new cjs.CrossEncoderReranker({ model: new cjsTesting.FakeScorer(), topN: 2 });
      const ranked = await reranker.rerank(['red apples', 'green apples and red pears', 'blue sky'], 'red apples');
      expect(ranked).toEqual([
        { index: 0, relevanceScore: 1 },
        { index: 1, relevanceScore: 1 },
      ]);
    });
  });
}
