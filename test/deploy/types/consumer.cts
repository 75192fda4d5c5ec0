// A CommonJS file of an app under `nodenext`: the `require` condition's declarations.
import lce = require('langchain-cross-encoder');
import next = require('langchain-cross-encoder/next');
import remote = require('langchain-cross-encoder/remote');

export const used = [
  lce.CrossEncoder,
  lce.RerankServer,
  lce.WorkerExitError,
  next.withCrossEncoder,
  remote.RemoteScorer,
];
