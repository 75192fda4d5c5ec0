// What an app's TypeScript sees of the package, under `moduleResolution: bundler` and `nodenext` alike: the Node
// build's names from the main entry, every error class each build throws, the config helper.
import { CrossEncoder, RerankServer, SessionOpenError, WorkerExitError } from 'langchain-cross-encoder';
import { withCrossEncoder } from 'langchain-cross-encoder/next';
import { RemoteScorer } from 'langchain-cross-encoder/remote';
import { FakeScorer } from 'langchain-cross-encoder/testing';
import {
  CrossEncoder as WebCrossEncoder,
  SessionOpenError as WebSessionOpenError,
  WorkerExitError as WebWorkerExitError,
} from 'langchain-cross-encoder/web';

export const used = [
  CrossEncoder,
  RerankServer,
  SessionOpenError,
  WorkerExitError,
  RemoteScorer,
  FakeScorer,
  WebCrossEncoder,
  WebSessionOpenError,
  WebWorkerExitError,
];
export const config: { output?: unknown } = withCrossEncoder({ output: 'standalone' });
