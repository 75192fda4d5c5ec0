// What every runtime must do with the built package: score inline and in the worker, dispose both, and rerank
// inside a LangChain retriever. Runs unchanged under node, deno and bun; prints one JSON line of results for
// run.mjs to compare with Node's. Nothing here calls process.exit: a worker left running after dispose() keeps
// the process alive, and run.mjs reports that as a hang.
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { Document } from '@langchain/core/documents';
import { BaseRetriever } from '@langchain/core/retrievers';
import { CrossEncoder, CrossEncoderReranker } from 'langchain-cross-encoder';
import { PAIRS, PASSAGES, QUERY } from './pairs.mjs';

// The model folder comes as the first argument: run.mjs also runs this file bundled, from another folder.
const model = process.argv[2];
if (model === undefined) throw new Error('usage: <runtime> smoke.mjs <model folder>');

function withinSeconds(seconds, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function scoreAndDispose(worker) {
  const encoder = await CrossEncoder.load(model, { worker });
  if (encoder.info.worker !== worker) throw new Error(`asked for worker: ${worker}, got ${encoder.info.worker}`);
  const scores = await encoder.score(PAIRS);
  await withinSeconds(30, encoder.dispose(), `dispose() with worker: ${worker}`);
  return scores;
}

class ListRetriever extends BaseRetriever {
  lc_namespace = ['runtime-smoke'];
  async _getRelevantDocuments() {
    return PASSAGES.map((text, i) => new Document({ pageContent: text, metadata: { index: i } }));
  }
}

async function retrieve() {
  const reranker = new CrossEncoderReranker({ model, topN: 3 });
  const retriever = new ContextualCompressionRetriever({
    baseCompressor: reranker,
    baseRetriever: new ListRetriever(),
  });
  const found = await retriever.invoke(QUERY);
  await withinSeconds(30, reranker.dispose(), 'the reranker’s dispose()');
  return found.map((doc) => ({ index: doc.metadata.index, score: doc.metadata.relevanceScore }));
}

const runtime =
  typeof globalThis.Deno !== 'undefined'
    ? `deno ${globalThis.Deno.version.deno}`
    : typeof globalThis.Bun !== 'undefined'
      ? `bun ${globalThis.Bun.version}`
      : `node ${process.versions.node}`;
const inline = await scoreAndDispose(false);
const worker = await scoreAndDispose(true);
const retriever = await retrieve();
console.log(JSON.stringify({ runtime, inline, worker, retriever }));
