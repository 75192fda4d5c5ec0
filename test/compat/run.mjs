#!/usr/bin/env node
// Runs the compatibility matrix: each cell under test/compat/ pins the versions of a framework that users have (a
// LangChain generation and its @langchain/core, `ai` 6 or 7, the Mastra that installs on Node 20), installs this
// package from the repository as a packed copy (install-links), and runs its compat.test.mjs against it. Then the
// same package under Node 22 and 24 (node-versions.mjs).
//
//   npm run test:compat                     build dist, `npm ci` where a cell's install is missing or stale, test
//   npm run test:compat -- lc-0.3           only the named cell(s), and no other Node version
//   npm run test:compat -- --update         `npm install` instead of `npm ci`, refreshing the cells' lock files
//   npm run test:compat -- --no-build       reuse the current dist/
//   npm run test:compat -- --no-node-versions   only this Node
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const update = args.includes('--update');
const build = !args.includes('--no-build');
const named = args.filter((a) => !a.startsWith('--'));
const cells = readdirSync(here, { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(path.join(here, e.name, 'package.json')))
  .map((e) => e.name)
  .filter((name) => named.length === 0 || named.includes(name));
if (cells.length === 0) fail(`no cell matches ${named.join(', ')}; cells are the folders of ${here}.`);

function run(command, commandArgs, cwd) {
  console.log(`\n$ ${command} ${commandArgs.join(' ')}   (in ${path.relative(root, cwd) || '.'})`);
  const result = spawnSync(command, commandArgs, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  return result.status ?? 1;
}

function fail(message) {
  console.error(`test:compat: ${message}`);
  process.exit(1);
}

for (const model of ['models/minilm-random-head', 'models/all-MiniLM-L6-v2']) {
  if (!existsSync(path.join(root, model, 'onnx/model.onnx')))
    fail(`${model} is missing: run \`npm run models\` first.`);
}
if (build && run('npm', ['run', 'build'], root) !== 0) fail('the build failed.');
if (!existsSync(path.join(root, 'dist/index.js'))) fail('dist/ is missing: run `npm run build`.');

// What a cell's install depends on: its manifest and lock, and the dependencies this package declares.
function installKey(cell) {
  const hash = createHash('sha256');
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) {
    const p = path.join(here, cell, file);
    hash.update(existsSync(p) ? readFileSync(p) : '');
  }
  const own = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  hash.update(JSON.stringify([own.dependencies, own.peerDependencies, own.exports]));
  return hash.digest('hex');
}

const failed = [];
for (const cell of cells) {
  const dir = path.join(here, cell);
  const stamp = path.join(dir, 'node_modules/.compat-install-key');
  const key = installKey(cell);
  const fresh = existsSync(stamp) && readFileSync(stamp, 'utf8') === key;
  if (update || !fresh) {
    const status = run('npm', [update ? 'install' : 'ci', '--no-audit', '--no-fund'], dir);
    if (status !== 0) {
      failed.push(`${cell} (npm ${update ? 'install' : 'ci'}; if the lock is out of date, run with --update)`);
      continue;
    }
    writeFileSync(stamp, installKey(cell));
  }
  // The installed copy of this package is a snapshot of dist/ taken at install time: refresh it from this build.
  const installed = path.join(dir, 'node_modules/langchain-cross-encoder');
  rmSync(path.join(installed, 'dist'), { recursive: true, force: true });
  cpSync(path.join(root, 'dist'), path.join(installed, 'dist'), { recursive: true });
  cpSync(path.join(root, 'package.json'), path.join(installed, 'package.json'));
  const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
  if (run(process.execPath, [vitest, 'run', '--config', path.join(here, 'vitest.config.mjs')], dir) !== 0) {
    failed.push(cell);
  }
}
if (failed.length > 0) fail(`failed: ${failed.join('; ')}`);
console.log(`\ntest:compat: ${cells.join(', ')} passed on node ${process.versions.node}.`);
if (named.length === 0 && !args.includes('--no-node-versions')) {
  if (run(process.execPath, [path.join(here, 'node-versions.mjs')], root) !== 0) fail('failed under another Node.');
}
