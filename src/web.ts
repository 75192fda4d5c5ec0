// The browser build's entry (`langchain-cross-encoder/web`, and what the `browser` condition of the main entry
// resolves to): the Node entry without the server, on onnxruntime-web, a WebAssembly tokenizer, the Cache API and Web
// Workers (see src/platform/web.ts).
export {
  AbortError,
  CacheError,
  CrossEncoderError,
  DisposedError,
  DownloadError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  NonFiniteScoreError,
  InferenceError,
  MissingDependencyError,
  OfflineError,
  RemoteScorerError,
  SessionOpenError,
  WorkerExitError,
} from './errors.js';
export type { HubOptions } from './hub/index.js';
export type { SessionOptions } from './engine/session.js';
export type { ModelVariant } from './engine/variant.js';
export type { TruncationStrategy } from './tokenize/truncation.js';
export type { Activation, RankOptions, RankResult, ScoreOptions, ScoringStats, TextPair } from './types.js';
export {
  CrossEncoder,
  DEFAULT_MODEL,
  type CrossEncoderInfo,
  type CrossEncoderOptions,
  type CrossEncoderRankOptions,
  type CrossEncoderScoreOptions,
  type Scorer,
} from './cross-encoder.js';
export {
  CrossEncoderReranker,
  type CrossEncoderRerankerOptions,
  type CrossEncoderRerankOptions,
  type RerankInput,
  type RerankResult,
  type RerankStats,
  PER_CALL_MODELS,
} from './langchain/reranker.js';
export type { FusionOptions } from './langchain/fusion.js';
export { createRerankingTool, type RerankingToolOptions } from './langchain/agent-tool.js';
export { DEFAULT_EMBEDDING_MODEL, OnnxEmbeddings, type OnnxEmbeddingsOptions } from './langchain/embeddings.js';
export { RemoteScorer, type RemoteScorerOptions } from './remote/remote-scorer.js';
export type { RerankProtocol } from './remote/wire.js';
export { FakeScorer, type FakeScorerOptions } from './testing/index.js';
