#!/usr/bin/env node
// Runs the built package under Deno and Bun (both installed from npm as devDependencies) and as an esbuild bundle,
// and compares each with Node: smoke.mjs scores inline and in the worker, disposes, reranks in a retriever; then
// `serve` is started under each runtime, asked over POST /rerank and stopped with SIGTERM. A runtime whose binary
// cannot start here (no build for this platform) is skipped with the reason printed; any other difference fails.
//
//   npm run test:runtimes               builds dist/ first if it is missing
//   npm run test:runtimes -- bun        only the named target(s): deno, bun, esbuild, esbuild-core
//   npm run test:runtimes -- --build    rebuild dist/ even if it exists
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';
import { bundleApp } from './esbuild-bundle.mjs';
import { PAIRS, QUERY, PASSAGES } from './pairs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const named = args.filter((a) => !a.startsWith('--'));
const bin = (name) => path.join(root, 'node_modules/.bin', process.platform === 'win32' ? `${name}.cmd` : name);
// How each target runs a script of this package: Deno with every permission (native addons need FFI, the server
// needs the network) and without writing a deno.lock into the repository; the esbuild bundle under this Node.
const TARGETS = {
  deno: { command: bin('deno'), prefix: ['run', '--allow-all', '--no-lock'] },
  bun: { command: bin('bun'), prefix: [] },
  esbuild: { command: process.execPath, prefix: [], bundled: true },
  'esbuild-core': { command: process.execPath, prefix: [], bundled: true, core: true },
};
const runtimes = Object.keys(TARGETS).filter((name) => named.length === 0 || named.includes(name));
if (runtimes.length === 0) fail(`nothing matches ${named.join(', ')}; the targets are ${Object.keys(TARGETS)}.`);
// Scores must agree to this: the runtimes load the same onnxruntime-node addon, so they agree bit for bit today.
const TOLERANCE = 1e-6;
const model = path.join(root, 'models/tiny');
// Plain text from every runtime, so what one prints on failure reads cleanly in a log.
const env = { ...process.env, NO_COLOR: '1' };

function fail(message) {
  console.error(`test:runtimes: ${message}`);
  process.exit(1);
}

if (!existsSync(path.join(model, 'onnx/model.onnx'))) fail('models/tiny is missing: run `npm run models` first.');
if (args.includes('--build') || !existsSync(path.join(root, 'dist/index.js'))) {
  console.log('test:runtimes: building dist/ (npm run build)');
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) fail('the build failed.');
}

/** Runs a command to its end; resolves with its exit code, stdout and stderr. */
function runToEnd(command, commandArgs, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, commandArgs, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : code, stdout, stderr });
    });
  });
}

function maxDifference(a, b) {
  if (!Array.isArray(a) || a.length !== b.length) return Infinity;
  return Math.max(...a.map((x, i) => Math.abs(x - b[i])));
}

/** The smoke script under one runtime: its parsed results, or the problems seen. */
async function smoke(command, prefix, script = path.join(here, 'smoke.mjs')) {
  const result = await runToEnd(command, [...prefix, script, model], 180_000);
  const problems = [];
  if (result.code !== 0) problems.push(`exited with ${result.code}`);
  // The checks pass quietly on Node; anything a runtime prints on stderr (an uncaught error in the worker after
  // dispose, a warning) is a difference to look at.
  if (result.stderr.trim() !== '') problems.push(`printed on stderr:\n${result.stderr.trim()}`);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let parsed;
  try {
    parsed = JSON.parse(line);
  } catch {
    problems.push(`printed no results (stdout: ${result.stdout.trim() || 'empty'})`);
  }
  return { parsed, problems };
}

/** `serve` under one runtime: start it on a free port, POST /rerank, stop it with SIGTERM. */
async function serve(command, prefix) {
  const cli = path.join(root, 'dist/bin.js');
  const child = spawn(command, [...prefix, cli, 'serve', '--model', model, '--port', '0'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  const problems = [];
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('did not print its address within 60 s')), 60_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        const match = /on (http:\/\/\S+) /.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then((code) => reject(new Error(`exited with ${code} before listening`)));
    });
    const response = await fetch(`${url}/rerank`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY, texts: PASSAGES }),
    });
    if (response.status !== 200) throw new Error(`POST /rerank answered ${response.status}: ${await response.text()}`);
    const ranked = await response.json();
    const byIndex = new Array(PAIRS.length);
    for (const { index, score } of ranked) byIndex[index] = score;
    return { scores: byIndex, problems };
  } catch (error) {
    problems.push(`serve: ${error.message}`);
    return { scores: undefined, problems };
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    if (code !== 0) problems.push(`serve exited with ${code} after SIGTERM`);
    if (!stdout.includes('serve: stopped')) problems.push(`serve did not report stopping (stdout: ${stdout.trim()})`);
    if (stderr.trim() !== '') problems.push(`serve printed on stderr:\n${stderr.trim()}`);
  }
}

/** Whether the runtime's binary starts at all: its version line, or why not. */
function probe(command) {
  if (!existsSync(command)) return { reason: `${path.relative(root, command)} is not installed (npm ci installs it)` };
  const result = spawnSync(command, ['--version'], { encoding: 'utf8', env, timeout: 60_000 });
  if (result.status !== 0) {
    const why = (result.error?.message ?? result.stderr ?? '').trim().split('\n')[0];
    return { reason: `\`${path.basename(command)} --version\` failed here (${why || `exit ${result.status}`})` };
  }
  return { version: result.stdout.trim().split('\n')[0] };
}

const reference = await smoke(process.execPath, []);
if (reference.problems.length > 0) fail(`the Node reference run failed: ${reference.problems.join('; ')}`);
const expected = reference.parsed;
console.log(`test:runtimes: reference ${expected.runtime}`);

const failed = [];
const skipped = [];
for (const name of runtimes) {
  const { command, prefix, bundled, core } = TARGETS[name];
  const started = bundled ? { version: `esbuild ${esbuildVersion}, node ${process.versions.node}` } : probe(command);
  if (started.reason !== undefined) {
    skipped.push(name);
    console.log(`test:runtimes: ${name} skipped: ${started.reason}`);
    continue;
  }
  const { problems, checked } = core
    ? await checkCoreBundle()
    : bundled
      ? await checkBundle()
      : await checkRuntime(command, prefix);
  if (problems.length > 0) {
    failed.push(name);
    console.log(`test:runtimes: ${name} (${started.version}) FAILED:\n  - ${problems.join('\n  - ')}`);
  } else {
    console.log(`test:runtimes: ${name} (${started.version}) passed: ${checked}`);
  }
}
if (failed.length > 0) fail(`failed: ${failed.join(', ')}`);
const ran = runtimes.filter((name) => !skipped.includes(name));
console.log(
  `test:runtimes: ${ran.length > 0 ? `${ran.join(', ')} passed` : 'nothing ran'}${skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : ''}.`,
);

/** What smoke.mjs printed, against Node's run of the same file. */
function compareSmoke(parsed, problems) {
  if (parsed === undefined) return;
  for (const mode of ['inline', 'worker']) {
    const diff = maxDifference(parsed[mode], expected[mode]);
    if (!(diff <= TOLERANCE)) problems.push(`${mode} scores differ from Node's by ${diff}`);
  }
  const order = (r) => JSON.stringify(r.map((d) => d.index));
  if (order(parsed.retriever) !== order(expected.retriever)) {
    problems.push(`the retriever returned ${order(parsed.retriever)}, Node ${order(expected.retriever)}`);
  }
  const retrieverDiff = maxDifference(
    parsed.retriever.map((d) => d.score),
    expected.retriever.map((d) => d.score),
  );
  if (!(retrieverDiff <= TOLERANCE)) problems.push(`the retriever's scores differ from Node's by ${retrieverDiff}`);
}

async function checkRuntime(command, prefix) {
  const { parsed, problems } = await smoke(command, prefix);
  compareSmoke(parsed, problems);
  const served = await serve(command, prefix);
  problems.push(...served.problems);
  if (served.scores !== undefined) {
    const diff = maxDifference(served.scores, expected.inline);
    if (!(diff <= TOLERANCE)) problems.push(`POST /rerank scores differ from Node's inline scores by ${diff}`);
  }
  return { problems, checked: "inline and worker scores equal Node's, dispose, retriever, serve" };
}

/** smoke.mjs bundled by esbuild into a folder under node_modules (so the external addons resolve), run by Node. */
async function checkBundle() {
  const outdir = path.join(root, 'node_modules/.cache/langchain-cross-encoder-esbuild');
  let app;
  try {
    app = await bundleApp({ root, app: path.join(here, 'smoke.mjs'), outdir });
  } catch (error) {
    return { problems: [`esbuild: ${error.message}`] };
  }
  const { parsed, problems } = await smoke(process.execPath, [], app);
  compareSmoke(parsed, problems);
  // Without the worker entry beside it, loading in worker mode must say how to fix the bundle.
  rmSync(path.join(outdir, 'worker.js'));
  const missing = await runToEnd(process.execPath, [app, model], 60_000);
  if (!missing.stderr.includes('WORKER_MISSING')) {
    problems.push(`without worker.js the bundle did not fail with WORKER_MISSING:\n${missing.stderr.trim()}`);
  }
  rmSync(outdir, { recursive: true, force: true });
  return {
    problems,
    checked:
      "a bundle with the addons external gives Node's scores inline and in the worker, dispose, retriever; without worker.js it says how to fix it",
  };
}

/**
 * core-smoke.mjs (CrossEncoder and FakeScorer from `langchain-cross-encoder/core`) bundled as above: no LangChain
 * code in it, a fraction of the main entry's bundle, and Node's scores inline and in the worker.
 */
async function checkCoreBundle() {
  const outdir = path.join(root, 'node_modules/.cache/langchain-cross-encoder-esbuild-core');
  const problems = [];
  let app;
  try {
    app = await bundleApp({ root, app: path.join(here, 'core-smoke.mjs'), outdir, entry: 'dist/core.js' });
  } catch (error) {
    return { problems: [`esbuild: ${error.message}`] };
  }
  const code = readFileSync(app, 'utf8');
  const leaked = [...new Set(code.match(/@langchain\/[a-z-]+|langsmith/g) ?? [])];
  if (leaked.length > 0) problems.push(`the core bundle mentions ${leaked.join(', ')}`);
  // The same three lines on the main entry: the size a LangChain-free app saved.
  const mainApp = path.join(outdir, 'main-app.mjs');
  writeFileSync(
    mainApp,
    "import { CrossEncoder } from 'langchain-cross-encoder';\nconsole.log(typeof CrossEncoder);\n",
  );
  await build({
    entryPoints: [mainApp],
    outfile: path.join(outdir, 'main-bundle.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['onnxruntime-node', 'tokenizers'],
    logLevel: 'silent',
  });
  const mainBytes = statSync(path.join(outdir, 'main-bundle.mjs')).size;
  if (!/@langchain\//.test(readFileSync(path.join(outdir, 'main-bundle.mjs'), 'utf8'))) {
    problems.push('the main-entry bundle holds no LangChain either: the check above would not see a leak');
  }
  const coreBytes = statSync(app).size;
  if (!(coreBytes < mainBytes / 2))
    problems.push(`the core bundle (${coreBytes} B) is not under half the main entry's (${mainBytes} B)`);
  const { parsed, problems: ran } = await smoke(process.execPath, [], app);
  problems.push(...ran);
  if (parsed !== undefined) {
    for (const mode of ['inline', 'worker']) {
      const diff = maxDifference(parsed[mode], expected[mode]);
      if (!(diff <= TOLERANCE)) problems.push(`${mode} scores differ from Node's by ${diff}`);
    }
  }
  rmSync(outdir, { recursive: true, force: true });
  return {
    problems,
    checked: `a CrossEncoder-only bundle of the core entry holds no LangChain code (${Math.round(coreBytes / 1024)} KB, main entry ${Math.round(mainBytes / 1024)} KB) and gives Node's scores inline and in the worker`,
  };
}
