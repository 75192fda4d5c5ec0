#!/usr/bin/env bash
# Packs the library as npm would publish it, installs the tarball into an empty app that has only
# @langchain/core beside it, and checks what a user gets: `import` and `require` of both entries, the package
# command's --help and --version, and a tarball free of evaluation code and source maps. Then one app per framework
# adapter, each with only its framework (ai 7 and ai 6; on Node 20 also Mastra as npm picks it there): the subpath
# imports, requires and ranks. Last an app with the tarball alone, where the core entry loads a model and scores
# without @langchain/core. Needs the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

npm run build >/dev/null
work="$(mktemp -d "${TMPDIR:-/tmp}/lce-pack-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
listing="$(tar -tzf "$work/$tarball")"
echo "== $tarball: $(wc -c <"$work/$tarball") bytes packed, $(echo "$listing" | wc -l) files"
if echo "$listing" | grep -E '(^|/)(eval|bench|scripts|test)/|\.map$'; then
  echo "pack-check: the tarball holds files users never run (listed above)" >&2
  exit 1
fi
if tar -xzOf "$work/$tarball" --wildcards 'package/dist/*.js' 'package/dist/*.cjs' | grep -qE 'Bm25Index|porterStem|@langchain/classic'; then
  echo "pack-check: the published JavaScript contains evaluation code" >&2
  exit 1
fi

core="$(node -p "require('./package.json').devDependencies['@langchain/core']")"
version="$(node -p "require('./package.json').version")"
app="$work/app"
mkdir -p "$app"
# The CPU build of onnxruntime-node ships inside its package; its install step only fetches GPU binaries. The app
# skips it as the README tells users to: allowScripts for npm 11.16+, the environment variable for older npm.
printf '{ "name": "pack-check-app", "private": true, "allowScripts": { "onnxruntime-node": false } }\n' >"$app/package.json"
(cd "$app" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error \
  "@langchain/core@$core" "$work/$tarball" >/dev/null)

cd "$app"
node --input-type=module -e "
  const lib = await import('langchain-cross-encoder');
  const testing = await import('langchain-cross-encoder/testing');
  for (const name of ['CrossEncoder', 'CrossEncoderReranker', 'OnnxEmbeddings', 'AbortError']) {
    if (typeof lib[name] !== 'function') throw new Error('import: missing ' + name);
  }
  if (typeof testing.FakeScorer !== 'function') throw new Error('import: missing FakeScorer');
  const ranked = await new testing.FakeScorer().rank('red apples', ['blue sky', 'red apples']);
  if (ranked[0].index !== 1) throw new Error('import: FakeScorer ranked wrongly');
  console.log('import: ok');
"
node -e "
  const lib = require('langchain-cross-encoder');
  const testing = require('langchain-cross-encoder/testing');
  for (const name of ['CrossEncoder', 'CrossEncoderReranker', 'OnnxEmbeddings', 'AbortError']) {
    if (typeof lib[name] !== 'function') throw new Error('require: missing ' + name);
  }
  if (typeof testing.FakeScorer !== 'function') throw new Error('require: missing FakeScorer');
  console.log('require: ok');
"
npx --no-install langchain-cross-encoder --help | head -n 1
answered="$(npx --no-install langchain-cross-encoder --version)"
if [ "$answered" != "$version" ]; then
  echo "pack-check: --version answered '$answered', package.json says $version" >&2
  exit 1
fi
echo "--version: $answered"

# node-llama-cpp is an optional peer that npm does not install: GGUF weights then fail with an error naming it,
# while the same model's ONNX file loads as before.
gguf_model="$root/models/fam-qwen3"
if [ -f "$gguf_model/gguf/model-q8_0.gguf" ]; then
  GGUF_MODEL="$gguf_model" node --input-type=module -e "
    const { CrossEncoder, MissingDependencyError } = await import('langchain-cross-encoder');
    const dir = process.env.GGUF_MODEL;
    const error = await CrossEncoder.load(dir, { ggufFile: 'gguf/model-q8_0.gguf', worker: false }).catch((e) => e);
    if (!(error instanceof MissingDependencyError) || error.packageName !== 'node-llama-cpp') {
      throw new Error('gguf without node-llama-cpp: expected MissingDependencyError, got ' + error);
    }
    const model = await CrossEncoder.load(dir, { worker: false });
    await model.score([['q', 'd']]);
    await model.dispose();
    console.log('gguf without node-llama-cpp: ok (' + error.message.split('.')[0] + ')');
  "
else
  echo "pack-check: $gguf_model/gguf is not built; run npm run models" >&2
  exit 1
fi

# Remote use needs no native addon: with onnxruntime-node and the tokenizer binding gone from the app, the remote
# entry and the main entry's RemoteScorer still import and score against a stub server; the engine says what is
# missing only when a model is loaded.
rm -rf node_modules/onnxruntime-node node_modules/tokenizers node_modules/tokenizers-*
node --input-type=module -e "
  import { createServer } from 'node:http';
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const { texts } = JSON.parse(body);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(texts.map((t, index) => ({ index, score: t.length / 100 }))));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = 'http://127.0.0.1:' + server.address().port;
  for (const entry of ['langchain-cross-encoder/remote', 'langchain-cross-encoder']) {
    const { RemoteScorer } = await import(entry);
    const scores = await new RemoteScorer({ url }).score([['q', 'a'], ['q', 'abc']]);
    if (scores.length !== 2 || !(scores[1] > scores[0])) throw new Error(entry + ': RemoteScorer scored ' + scores);
  }
  const { FakeScorer } = await import('langchain-cross-encoder/remote');
  if (typeof FakeScorer !== 'function') throw new Error('remote: missing FakeScorer');
  const { CrossEncoder } = await import('langchain-cross-encoder');
  const failed = await CrossEncoder.load('./nowhere').catch((e) => e);
  if (!(failed instanceof Error)) throw new Error('CrossEncoder.load should fail without a model');
  server.close();
  console.log('remote without native addons: ok');
"
node -e "
  const { RemoteScorer } = require('langchain-cross-encoder/remote');
  if (typeof RemoteScorer !== 'function') throw new Error('require remote: missing RemoteScorer');
  console.log('require remote: ok');
"
for framework in @ai-sdk/provider @llamaindex/core @mastra/core; do
  if [ -e "node_modules/$framework" ]; then
    echo "pack-check: $framework was installed with the main entry; the adapters' frameworks must stay optional" >&2
    exit 1
  fi
done
cd "$OLDPWD"

# Each adapter subpath installs and loads with only its framework beside the tarball: npm installs no optional peer,
# so @langchain/core must stay out.
adapter_app() { # subpath, then the packages its app installs
  local subpath="$1"
  shift
  local dir="$work/app-$subpath"
  mkdir -p "$dir"
  printf '{ "name": "pack-check-%s", "private": true, "allowScripts": { "onnxruntime-node": false } }\n' "$subpath" \
    >"$dir/package.json"
  (cd "$dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --loglevel=error "$@" \
    "$work/$tarball" >/dev/null)
  echo "$dir"
}
dev() { node -p "require('./package.json').devDependencies['$1']"; }
ai_app="$(adapter_app ai-sdk "ai@$(dev ai)")"
# ai 6 is what \`npm i ai\` installs on Node 20 (ai 7 asks for Node 22): @ai-sdk/provider 3.x, RerankingModelV3.
ai6_app="$(adapter_app ai-sdk-6 "ai@6.0.333")"
llama_app="$(adapter_app llamaindex "llamaindex@$(dev llamaindex)")"
mastra_app="$(adapter_app mastra "@mastra/core@$(dev @mastra/core)" "@mastra/rag@$(dev @mastra/rag)")"
# The engine alone: an app with nothing but the tarball loads a model from the core entry and scores, with no
# @langchain/core anywhere (the main entry needs it; the core entry does not).
core_app="$(adapter_app core)"
for app_dir in "$ai_app" "$ai6_app" "$llama_app" "$mastra_app" "$core_app"; do
  if [ -e "$app_dir/node_modules/@langchain/core" ]; then
    echo "pack-check: $app_dir got @langchain/core, which only the main entry needs" >&2
    exit 1
  fi
done

(cd "$ai_app" && node --input-type=module -e "
  const { rerank } = await import('ai');
  const { createCrossEncoder } = await import('langchain-cross-encoder/ai-sdk');
  const { FakeScorer } = await import('langchain-cross-encoder/testing');
  const provider = createCrossEncoder({ scorer: new FakeScorer() });
  const { ranking } = await rerank({ model: provider.rerankingModel('fake'), query: 'red apples', documents: [{ t: 'blue sky' }, { t: 'red apples' }] });
  if (ranking[0].originalIndex !== 1) throw new Error('ai-sdk: ranked wrongly');
  console.log('ai-sdk (with ai only): ok');
")
(cd "$ai6_app" && MODEL="$root/models/tiny" node --input-type=module -e "
  const { rerank } = await import('ai');
  const { createCrossEncoder } = await import('langchain-cross-encoder/ai-sdk');
  const { CrossEncoder } = await import('langchain-cross-encoder/core');
  const engine = await CrossEncoder.load(process.env.MODEL, { worker: false });
  const texts = ['Bread rises with yeast.', 'Lighthouses guide ships at night.'];
  const { ranking } = await rerank({ model: createCrossEncoder({ scorer: engine }).rerankingModel('tiny'), query: 'ships at night', documents: texts });
  const expected = await engine.rank('ships at night', texts);
  if (ranking[0].originalIndex !== expected[0].index || Math.abs(ranking[0].score - expected[0].score) > 1e-6) throw new Error('ai 6: ranked wrongly');
  await engine.dispose();
  const { version } = JSON.parse((await import('node:fs')).readFileSync('node_modules/ai/package.json', 'utf8'));
  if (!version.startsWith('6.')) throw new Error('ai 6 app: got ai ' + version);
  console.log('ai-sdk (with ai ' + version + ' only): ok');
")
(cd "$core_app" && MODEL="$root/models/tiny" node --input-type=module -e "
  const { CrossEncoder, RemoteScorer, FakeScorer } = await import('langchain-cross-encoder/core');
  if (typeof RemoteScorer !== 'function') throw new Error('core: missing RemoteScorer');
  const pairs = [['ships at night', 'Lighthouses guide ships.'], ['ships at night', 'Bread rises with yeast.']];
  const scores = [];
  for (const worker of [false, true]) {
    const model = await CrossEncoder.load(process.env.MODEL, { worker });
    scores.push(await model.score(pairs));
    await model.dispose();
  }
  if (!scores.flat().every(Number.isFinite) || Math.abs(scores[0][0] - scores[1][0]) > 1e-6) throw new Error('core: scored ' + scores);
  if ((await new FakeScorer().rank('red', ['blue', 'red']))[0].index !== 1) throw new Error('core: FakeScorer ranked wrongly');
  const main = await import('langchain-cross-encoder').then(() => 'loaded', (e) => e.message);
  console.log('core (no @langchain/core installed): ok; the main entry there: ' + main.split('\\n')[0]);
")
(cd "$core_app" && node -e "
  if (typeof require('langchain-cross-encoder/core').CrossEncoder !== 'function') process.exit(1)")
(cd "$llama_app" && node --input-type=module -e "
  const { TextNode } = await import('llamaindex');
  const { CrossEncoderNodePostprocessor } = await import('langchain-cross-encoder/llamaindex');
  const { FakeScorer } = await import('langchain-cross-encoder/testing');
  const nodes = [{ node: new TextNode({ text: 'blue sky' }) }, { node: new TextNode({ text: 'red apples' }) }];
  const out = await new CrossEncoderNodePostprocessor({ model: new FakeScorer(), topN: 1 }).postprocessNodes(nodes, 'red apples');
  if (out[0].node !== nodes[1].node || out[0].score !== 1) throw new Error('llamaindex: ranked wrongly');
  console.log('llamaindex (with llamaindex only): ok');
")
(cd "$mastra_app" && node --input-type=module -e "
  const { rerankWithScorer } = await import('@mastra/rag');
  const { CrossEncoderRelevanceScorer } = await import('langchain-cross-encoder/mastra');
  const { FakeScorer } = await import('langchain-cross-encoder/testing');
  const results = [{ id: 'a', score: 0.9, metadata: { text: 'blue sky' } }, { id: 'b', score: 0.1, metadata: { text: 'red apples' } }];
  const out = await rerankWithScorer({ results, query: 'red apples', scorer: new CrossEncoderRelevanceScorer({ model: new FakeScorer() }), options: { topK: 1, weights: { semantic: 1, vector: 0, position: 0 } } });
  if (out[0].result.id !== 'b') throw new Error('mastra: ranked wrongly');
  console.log('mastra (with @mastra/core and @mastra/rag only): ok');
")
# On Node 20, npm picks the newest Mastra whose engines allow that Node: @mastra/core 0.24 with @mastra/rag 1.3 (every
# 1.x asks for Node 22.13). Installed as users do, unpinned and in one command with the tarball, it must resolve.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
  mastra20_app="$(adapter_app mastra-node20 @mastra/core @mastra/rag)"
  (cd "$mastra20_app" && node --input-type=module -e "
    const { rerankWithScorer } = await import('@mastra/rag');
    const { CrossEncoderRelevanceScorer } = await import('langchain-cross-encoder/mastra');
    const { FakeScorer } = await import('langchain-cross-encoder/core');
    const results = [{ id: 'a', score: 0.9, metadata: { text: 'blue sky' } }, { id: 'b', score: 0.1, metadata: { text: 'red apples' } }];
    const out = await rerankWithScorer({ results, query: 'red apples', scorer: new CrossEncoderRelevanceScorer({ model: new FakeScorer() }), options: { topK: 1, weights: { semantic: 1, vector: 0, position: 0 } } });
    if (out[0].result.id !== 'b') throw new Error('mastra on node 20: ranked wrongly');
    const { readFileSync } = await import('node:fs');
    const version = (name) => JSON.parse(readFileSync('node_modules/' + name + '/package.json', 'utf8')).version;
    console.log('mastra on node ' + process.versions.node + ' (npm picked @mastra/core ' + version('@mastra/core') + ', @mastra/rag ' + version('@mastra/rag') + '): ok');
  ")
fi
# require() in a process of its own: loading a framework's ESM and CJS builds together is that framework's hazard.
(cd "$ai_app" && node -e "if (typeof require('langchain-cross-encoder/ai-sdk').createCrossEncoder !== 'function') process.exit(1)")
(cd "$llama_app" && node -e "
  if (typeof require('langchain-cross-encoder/llamaindex').CrossEncoderNodePostprocessor !== 'function') process.exit(1)")
(cd "$mastra_app" && node -e "
  if (typeof require('langchain-cross-encoder/mastra').CrossEncoderRelevanceScorer !== 'function') process.exit(1)")
echo "adapters, require: ok"
echo "pack-check: ok"
