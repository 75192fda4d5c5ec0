// `langchain-cross-encoder/core`: the engine without any framework. `CrossEncoder`, `RemoteScorer` and `FakeScorer`
// load and score with @langchain/core absent, so apps on the AI SDK, LlamaIndex.TS or Mastra (or none) need not
// install LangChain; a bundle of this entry holds no LangChain code.
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
export type { BackendState } from './engine/backend.js';
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
  RemoteScorer,
  type RemoteRankOptions,
  type RemoteScoreOptions,
  type RemoteScorerOptions,
} from './remote/remote-scorer.js';
export type { RerankProtocol } from './remote/wire.js';
export { FakeScorer, wordOverlapScore, type FakeScoreFunction, type FakeScorerOptions } from './testing/index.js';
