#!/usr/bin/env bash
# Packs the library as npm would publish it, installs the tarball into an empty app that has only
# @langchain/core beside it, and checks what a user gets: `import` and `require` of both entries, the package
# command's --help and --version, and a tarball free of evaluation code and source maps. Needs the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."

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
echo "pack-check: ok"
