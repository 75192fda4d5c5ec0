// `langchain-cross-encoder/remote`: scoring over a rerank server, and the test double, without the local engine.
// Nothing here loads ONNX Runtime or a tokenizer, so it runs wherever `fetch` does (edge functions, browsers, apps
// that install the package without its native addons).
export { AbortError, CrossEncoderError, DisposedError, InvalidArgumentError, RemoteScorerError } from './errors.js';
export type { Activation, RankOptions, RankResult, ScoreOptions, TextPair } from './types.js';
export type { Scorer } from './cross-encoder.js';
export {
  RemoteScorer,
  type RemoteRankOptions,
  type RemoteScoreOptions,
  type RemoteScorerOptions,
} from './remote/remote-scorer.js';
export type {
  CohereRerankRequest,
  CohereRerankResponse,
  CohereRerankResult,
  RerankProtocol,
  TeiRerankRequest,
  TeiRerankResult,
} from './remote/wire.js';
export {
  FakeScorer,
  wordOverlapScore,
  words,
  type FakeScoreFunction,
  type FakeScorerOptions,
} from './testing/index.js';
