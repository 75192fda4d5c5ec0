// The Vercel AI SDK entry (`langchain-cross-encoder/ai-sdk`): a provider of reranking models for `rerank()` from `ai`.
export {
  createCrossEncoder,
  crossEncoder,
  type CrossEncoderProvider,
  type CrossEncoderProviderSettings,
} from './provider.js';
export { CrossEncoderRerankingModel, type CrossEncoderRerankingSettings } from './reranking-model.js';
export type { RankFields } from '../documents/render.js';
export { NoSuchModelTypeError } from '../errors.js';
export type { JSONObject, JSONValue, RerankingCallOptions, RerankingResult } from './specification.js';
