// Code written against CohereRerank's types runs unchanged with CrossEncoderReranker swapped in.
import path from 'node:path';
import { ParentDocumentRetriever } from '@langchain/classic/retrievers/parent_document';
import { InMemoryStore } from '@langchain/core/stores';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import type { CohereRerank } from '@langchain/cohere';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { afterAll, describe, expect, it } from 'vitest';
import { CrossEncoderReranker, OnnxEmbeddings } from '../../src/index.js';
import { deepFreeze } from './freeze.js';

/** The parts of CohereRerank that code uses: what a reranker must offer to replace it. */
type CohereShaped = Pick<CohereRerank, 'topN' | 'compressDocuments' | 'rerank'>;

// --- "application code", written for CohereRerank ---------------------------------------------------------------
async function bestPassages(reranker: CohereShaped, docs: DocumentInterface[], query: string) {
  reranker.topN = 2;
  const compressed = await reranker.compressDocuments(docs, query);
  const order = await reranker.rerank(
    docs.map((d) => d.pageContent),
    query,
    { topN: 2 },
  );
  return { compressed, order, relevant: compressed.filter((d) => d.metadata['relevanceScore'] > 0) };
}

function parentDocumentRetriever(compressor: BaseDocumentCompressor, vectorstore: MemoryVectorStore) {
  // As in LangChain's parent-document rerank recipe: rerank the child chunks, keep those above a threshold.
  return new ParentDocumentRetriever({
    vectorstore,
    docstore: new InMemoryStore(),
    childSplitter: new RecursiveCharacterTextSplitter({ chunkSize: 60, chunkOverlap: 0 }),
    parentSplitter: new RecursiveCharacterTextSplitter({ chunkSize: 400, chunkOverlap: 0 }),
    childK: 10,
    documentCompressor: compressor,
    documentCompressorFilteringFn: (docs) => docs.filter((d) => d.metadata['relevanceScore'] > 0.1),
  });
}
// ------------------------------------------------------------------------------------------------------------------

const embeddings = new OnnxEmbeddings({ model: path.resolve('models/all-MiniLM-L6-v2') });
const reranker = new CrossEncoderReranker({ model: path.resolve('models/minilm-random-head') });
afterAll(async () => {
  await embeddings.dispose();
  await reranker.dispose();
});

const DOCS = [
  'Lighthouses guide ships at night with a rotating beam of light visible from far out at sea.',
  'Bread dough rises as yeast turns sugars into carbon dioxide gas.',
  'A compass needle points north because it aligns with the magnetic field of the Earth.',
];

describe('swapping CohereRerank for CrossEncoderReranker', () => {
  it('compressDocuments, rerank and relevanceScore filtering behave as the Cohere code expects', async () => {
    const docs = deepFreeze(DOCS.map((text, i) => new Document({ pageContent: text, metadata: { n: i } })));
    // The one changed line: `new CohereRerank({ model: 'rerank-english-v3.0' })` becomes:
    const { compressed, order, relevant } = await bestPassages(reranker, docs, 'how do ships find their way at night');
    expect(compressed).toHaveLength(2);
    expect(order).toHaveLength(2);
    expect(order.map((o) => docs[o.index]?.pageContent)).toEqual(compressed.map((d) => d.pageContent));
    order.forEach((o, i) => expect(o.relevanceScore).toBe(compressed[i]?.metadata['relevanceScore']));
    expect(relevant.length).toBeGreaterThan(0); // sigmoid scores are > 0
  });

  it('plugs into ParentDocumentRetriever as documentCompressor with a relevanceScore filter', async () => {
    const retriever = parentDocumentRetriever(reranker, new MemoryVectorStore(embeddings));
    await retriever.addDocuments(DOCS.map((text, i) => new Document({ pageContent: text, metadata: { n: i } })));
    const parents = await retriever.invoke('which way does a compass point');
    expect(parents.length).toBeGreaterThan(0);
    for (const parent of parents) expect(DOCS).toContain(parent.pageContent);
  });
});
