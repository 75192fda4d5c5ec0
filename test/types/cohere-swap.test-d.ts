// Type-level proof that code written against CohereRerank compiles against CrossEncoderReranker.
// Checked by `tsc` through test/types/typecheck.test.ts (part of `npm test`) and by `npm run lint`.
import type { BaseCohereRerankArgs, CohereRerank } from '@langchain/cohere';
import type { DocumentInterface } from '@langchain/core/documents';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { expectTypeOf } from 'vitest';
import { CrossEncoderReranker, type CrossEncoderRerankerOptions, type Scorer } from '../../src/index.js';

declare const reranker: CrossEncoderReranker;
declare const docs: DocumentInterface[];

// The reranking surface of CohereRerank is a supertype of ours: every use of it type-checks with ours.
expectTypeOf(reranker).toExtend<Pick<CohereRerank, 'topN' | 'compressDocuments' | 'rerank'>>();
expectTypeOf(reranker).toExtend<BaseDocumentCompressor>();

// Same parameters and results, method by method.
expectTypeOf<Parameters<CohereRerank['compressDocuments']>>().toExtend<
  Parameters<CrossEncoderReranker['compressDocuments']>
>();
expectTypeOf<ReturnType<CrossEncoderReranker['compressDocuments']>>().toEqualTypeOf<Promise<DocumentInterface[]>>();
// Every document list CohereRerank takes, ours takes; ours also takes any record (rendered, or through rankFields).
expectTypeOf<Parameters<CohereRerank['rerank']>[0]>().toExtend<Parameters<CrossEncoderReranker['rerank']>[0]>();
expectTypeOf<{ title: string; price: number }[]>().toExtend<Parameters<CrossEncoderReranker['rerank']>[0]>();
// CohereRerank's per-call options, all of them: topN, model, maxChunksPerDoc.
expectTypeOf<NonNullable<Parameters<CohereRerank['rerank']>[2]>>().toExtend<
  NonNullable<Parameters<CrossEncoderReranker['rerank']>[2]>
>();
void reranker.rerank(docs, 'query', { topN: 2, model: 'Xenova/ms-marco-MiniLM-L-6-v2', maxChunksPerDoc: 4 });
// Ours may add fields (`reranked`, `chunk`) but every result is one Cohere code can read.
expectTypeOf<ReturnType<CrossEncoderReranker['rerank']>>().toExtend<ReturnType<CohereRerank['rerank']>>();
expectTypeOf<{ topN?: number }>().toExtend<NonNullable<Parameters<CrossEncoderReranker['rerank']>[2]>>();

// Constructor options Cohere code passes, other than the Cohere model name and API key.
expectTypeOf<Pick<BaseCohereRerankArgs, 'topN'>>().toExtend<CrossEncoderRerankerOptions>();
expectTypeOf<{ model: string; topN: number }>().toExtend<CrossEncoderRerankerOptions>();
expectTypeOf<{ model: Scorer }>().toExtend<CrossEncoderRerankerOptions>();

// The relevanceScore filter of LangChain's parent-document recipe.
const kept: Promise<DocumentInterface[]> = reranker
  .compressDocuments(docs, 'query')
  .then((found) => found.filter((d) => d.metadata['relevanceScore'] > 0.5));
void kept;

// And what must not compile.
// @ts-expect-error topN is a number, as in CohereRerank
new CrossEncoderReranker({ topN: '3' });
// @ts-expect-error rerank needs a query
void reranker.rerank(['a']);
// @ts-expect-error maxChunksPerDoc is a number, as in CohereRerank
void reranker.rerank(['a'], 'q', { maxChunksPerDoc: '4' });
// @ts-expect-error rerank returns relevanceScore, not score
void reranker.rerank(['a'], 'q').then((r) => r[0]?.score);
