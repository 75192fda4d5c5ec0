// Run by vector-stores.int.test.ts in a process of its own: opens a store that another process wrote, then runs
// the two-stage pipeline over it and prints the results as one JSON line on stdout.
import type { VectorStore } from '@langchain/core/vectorstores';
import { chromaCount, chromaStore } from '../../../examples/stores/chroma.js';
import { FilterableLanceDB } from '../../../examples/stores/lancedb.js';
import { CrossEncoderReranker, OnnxEmbeddings } from '../../../src/index.js';
import { runPipeline, type PipelineResult } from './rerank-pipeline.js';

/** What the parent asks for. */
export interface ReopenRequest {
  store: 'lancedb' | 'chroma';
  /** The LanceDB folder, or the Chroma server's URL. */
  location: string;
  name: string;
  embedder: string;
  reranker: string;
  k: number;
  topN: number;
  runs: { query: string; shard?: number }[];
}

/** What the child prints. */
export interface ReopenReply {
  count: number;
  results: PipelineResult[];
}

const request = JSON.parse(process.argv[2] ?? '') as ReopenRequest;
const embeddings = new OnnxEmbeddings({ model: request.embedder });
const reranker = new CrossEncoderReranker({ model: request.reranker, topN: request.topN });
try {
  let store: VectorStore;
  let count: number;
  let filterFor: (shard: number) => VectorStore['FilterType'];
  if (request.store === 'lancedb') {
    const lance = await FilterableLanceDB.open(embeddings, request.location, request.name);
    if (lance === undefined) throw new Error(`no table ${request.name} in ${request.location}`);
    store = lance;
    count = await lance.count();
    filterFor = (shard) => `shard = ${shard}`;
  } else {
    const chroma = chromaStore(embeddings, request.location, request.name);
    store = chroma;
    count = await chromaCount(chroma);
    filterFor = (shard) => ({ shard });
  }
  const results: PipelineResult[] = [];
  for (const run of request.runs) {
    const filter = run.shard === undefined ? undefined : filterFor(run.shard);
    results.push(await runPipeline(store, reranker, run.query, request.k, filter));
  }
  process.stdout.write(`${JSON.stringify({ count, results } satisfies ReopenReply)}\n`);
} finally {
  await reranker.dispose();
  await embeddings.dispose();
}
