// The example's Web Worker: it loads both models with the package's browser build, indexes the notes and runs the
// two-stage search of examples/two-stage-search.ts, then posts each query's rankings to the page. The models run
// inline here (`worker: false`): this worker already keeps the page's main thread free.
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document } from '@langchain/core/documents';
import { CrossEncoderReranker, OnnxEmbeddings } from '../../src/web.js';
import { BUNDLED_QUESTIONS } from '../bundled-questions.js';
import type { ExampleConfig, RankedDoc, WorkerMessage } from './messages.js';

const post = (message: WorkerMessage) => (globalThis as unknown as Worker).postMessage(message);
const at = (path: string) => new URL(path, self.location.href).href;
const snippet = (text: string, n = 90) => (text.length > n ? `${text.slice(0, n - 1)}…` : text).replace(/\s+/g, ' ');

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}; is npm run example:browser serving it?`);
  return response;
}

async function main(): Promise<void> {
  const started = performance.now();
  const config = (await (await fetchOk(at('./config.json'))).json()) as ExampleConfig;
  post({ type: 'status', text: `Reading ${config.docs.length} notes…` });
  const docs: Document[] = [];
  for (const name of config.docs) {
    const text = await (await fetchOk(at(`${config.docsPath}/${name}`))).text();
    docs.push(new Document({ pageContent: text, metadata: { title: name }, id: name }));
  }

  post({ type: 'status', text: `Loading the embedding model ${config.embeddings}…` });
  let t = performance.now();
  const embeddings = new OnnxEmbeddings({ model: at(config.embeddings) });
  await embeddings.warmup();
  const embeddingsMs = performance.now() - t;

  post({ type: 'status', text: 'Embedding the notes…' });
  t = performance.now();
  const store = new MemoryVectorStore(embeddings);
  await store.addVectors(await embeddings.embedDocuments(docs.map((d) => d.pageContent)), docs);
  const indexMs = performance.now() - t;

  post({ type: 'status', text: `Loading the reranker ${config.reranker}…` });
  t = performance.now();
  const reranker = new CrossEncoderReranker({ model: at(config.reranker), topN: config.top, worker: false });
  await reranker.warmup();
  const rerankerMs = performance.now() - t;
  post({
    type: 'ready',
    embeddings: config.embeddings,
    reranker: config.reranker,
    rerankerNote: config.rerankerNote,
    documents: docs.length,
    loadMs: { embeddings: embeddingsMs, reranker: rerankerMs },
    indexMs,
  });

  try {
    for (const question of BUNDLED_QUESTIONS) {
      const t0 = performance.now();
      const found = await store.similaritySearchWithScore(question.text, config.k);
      const t1 = performance.now();
      const reranked = await reranker.compressDocuments(
        found.map(([doc]) => doc),
        question.text,
      );
      const t2 = performance.now();
      const candidates: RankedDoc[] = found.map(([doc, cosine]) => ({
        id: doc.id as string,
        cosine,
        snippet: snippet(doc.pageContent),
      }));
      post({
        type: 'query',
        result: {
          ...question,
          firstStageMs: t1 - t0,
          secondStageMs: t2 - t1,
          candidates,
          reranked: reranked.map((doc) => {
            const was = candidates.findIndex((c) => c.id === doc.id);
            return {
              id: doc.id as string,
              cosine: candidates[was]?.cosine ?? Number.NaN,
              score: doc.metadata['relevanceScore'] as number,
              was: was + 1,
              snippet: snippet(doc.pageContent),
            };
          }),
        },
      });
    }
    post({ type: 'done', totalMs: performance.now() - started });
  } finally {
    await reranker.dispose();
    await embeddings.dispose();
  }
}

main().catch((error: unknown) =>
  post({ type: 'error', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
);
