// The engine from `langchain-cross-encoder/core`, as an app without LangChain uses it: score inline and in the
// worker, dispose, and rank with the test double. Prints one JSON line for run.mjs, which bundles this file with
// esbuild and holds the bundle to Node's scores and to carrying no LangChain code.
import { CrossEncoder, FakeScorer } from 'langchain-cross-encoder/core';
import { PAIRS } from './pairs.mjs';

const model = process.argv[2];
if (model === undefined) throw new Error('usage: node core-smoke.mjs <model folder>');

const results = {};
for (const worker of [false, true]) {
  const encoder = await CrossEncoder.load(model, { worker });
  results[worker ? 'worker' : 'inline'] = await encoder.score(PAIRS);
  await encoder.dispose();
}
const ranked = await new FakeScorer().rank('red apples', ['blue sky', 'red apples']);
if (ranked[0]?.index !== 1) throw new Error('FakeScorer ranked wrongly');
console.log(JSON.stringify(results));
