// The Mastra entry (`langchain-cross-encoder/mastra`): a relevance-score provider for `@mastra/rag`'s reranking.
export { CrossEncoderRelevanceScorer, type CrossEncoderRelevanceScorerOptions } from './relevance-scorer.js';
