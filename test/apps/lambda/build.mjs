// Builds lambda.zip: the handler bundled with its JavaScript dependencies, and the three packages that load native
// code shipped as packages beside it, pruned to the function's platform (Linux x64 by default; ARCH=arm64 for
// Graviton). Run from the app's folder after `npm install`: `node build.mjs [model-folder]`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const arch = process.env.ARCH ?? 'x64';
const model = process.argv[2];
const out = 'lambda';
rmSync(out, { recursive: true, force: true });
rmSync('lambda.zip', { force: true });

await build({
  entryPoints: { index: 'handler.mjs' },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  // Native addons stay packages: onnxruntime-node loads onnxruntime-common and its shared library at run time.
  external: ['onnxruntime-node', 'onnxruntime-common', 'tokenizers'],
  // Bundled CommonJS dependencies call require(); an ES module bundle has none of its own.
  banner: {
    js: "import { createRequire as lceRequire } from 'node:module'; const require = lceRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

const ship = (from, to = from) =>
  cpSync(join('node_modules', from), join(out, 'node_modules', to), { recursive: true });
ship('onnxruntime-common');
ship('onnxruntime-node/package.json');
ship('onnxruntime-node/dist');
// The binding and libonnxruntime.so.1 beside it, for this platform only (every platform's come to about 290 MB).
ship(`onnxruntime-node/bin/napi-v6/linux/${arch}`);
ship('tokenizers/package.json');
ship('tokenizers/index.js');
for (const file of readdirSync('node_modules/tokenizers')) {
  if (file.startsWith(`tokenizers.linux-${arch}-`)) ship(`tokenizers/${file}`);
}
if (model !== undefined) {
  mkdirSync(join(out, 'model', 'onnx'), { recursive: true });
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    if (existsSync(join(model, file))) cpSync(join(model, file), join(out, 'model', file));
  }
  cpSync(join(model, 'onnx', 'model.onnx'), join(out, 'model', 'onnx', 'model.onnx'));
}
execFileSync('zip', ['-qr9', '../lambda.zip', '.'], { cwd: out });
console.log(`lambda.zip written (${arch}${model === undefined ? ', no model' : `, model from ${model}`})`);
