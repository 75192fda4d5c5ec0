import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import type { VectorStore } from '@langchain/core/vectorstores';
import type { CrossEncoderReranker } from '../../../src/index.js';

/** What one query went through: the vector store's candidates, then the reranker's top documents. */
export interface PipelineResult {
  query: string;
  candidates: string[];
  reranked: { id: string; score: number; metadata: Record<string, unknown> }[];
}

/**
 * Runs the two-stage pipeline the same way over any store: its retriever (k candidates, the store's own filter
 * type) under a ContextualCompressionRetriever with the reranker. The candidates are read separately for comparison.
 */
export async function runPipeline<S extends VectorStore>(
  store: S,
  reranker: CrossEncoderReranker,
  query: string,
  k: number,
  filter: S['FilterType'] | undefined,
): Promise<PipelineResult> {
  const baseRetriever = store.asRetriever({ k, ...(filter === undefined ? {} : { filter }) });
  const candidates = await baseRetriever.invoke(query);
  const retriever = new ContextualCompressionRetriever({ baseCompressor: reranker, baseRetriever });
  const reranked = await retriever.invoke(query);
  return {
    query,
    candidates: candidates.map((d) => d.id ?? ''),
    reranked: reranked.map((d) => {
      const { relevanceScore, ...metadata } = d.metadata as Record<string, unknown>;
      return { id: d.id ?? '', score: relevanceScore as number, metadata };
    }),
  };
}
