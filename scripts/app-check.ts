// Builds the apps of test/apps/ the way users build them, against the packed package (npm pack, installed from the
// tarball): a Vite page and a Next.js app whose pages score models/tiny in headless Chromium, and Cloudflare Workers
// run in workerd. Prints what each bundle weighs and fails on any score that departs from Node's by 1e-4 or more.
// Needs the npm registry (installs are cached under the CI cache folder, keyed by each app's package.json).
//
//   npm run apps:check                    all three
//   npm run apps:check -- vite workers    only the named apps
//   npm run apps:check -- --no-build      reuse the current dist/
import { spawn, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { CrossEncoder } from '../src/index.js';
import { RerankServer } from '../src/serve/server.js';
import { browserUnavailable, launchBrowser, openPage, serveStatic } from '../test/helpers/browser.js';
import { startHubServer } from '../test/helpers/hub-server.js';
import { MODELS_DIR, REPO_ROOT } from '../test/helpers/models.js';

const APPS = ['vite', 'next', 'workers', 'lambda'] as const;
type App = (typeof APPS)[number];
const TOLERANCE = 1e-4;
// Cloudflare's published Worker limits (developers.cloudflare.com/workers/platform/limits): the compressed upload.
const WORKER_LIMITS = { free: 3 * 1024 * 1024, paid: 10 * 1024 * 1024 };

const PAIRS: [string, string][] = [
  ['what is a tide?', 'Tides are caused by the Moon.'],
  ['capital of France', 'Paris is the capital and largest city of France.'],
  ['capital of France', 'Bananas are rich in potassium.'],
];
const QUERY = 'capital of France';
const DOCUMENTS = ['Bananas are rich in potassium.', 'Paris is the capital and largest city of France.'];

const args = process.argv.slice(2);
const named = args.filter((a) => !a.startsWith('--'));
for (const name of named)
  if (!(APPS as readonly string[]).includes(name)) fail(`unknown app ${name}: ${APPS.join(', ')}`);
const apps = (named.length > 0 ? named : APPS) as App[];
const cache = join(
  process.env['LCE_CI_CACHE'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'langchain-cross-encoder-ci'),
  'apps',
);
const tiny = realpathSync(join(MODELS_DIR, 'tiny'));

function fail(message: string): never {
  console.error(`apps:check: ${message}`);
  process.exit(1);
}

/** Runs a command to its end; rejects on a non-zero exit with the command's output tail. */
function run(command: string, commandArgs: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  console.log(`$ ${command} ${commandArgs.join(' ')}   (in ${relative(REPO_ROOT, cwd) || '.'})`);
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/** Starts a long-running command and resolves once its output matches `ready`. */
async function start(
  command: string,
  commandArgs: string[],
  options: SpawnOptions & { cwd: string },
  ready: RegExp,
): Promise<{ stop(): void; output(): string }> {
  const child = spawn(command, commandArgs, { ...options, env: { ...process.env, ...options.env }, stdio: 'pipe' });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${output}`)), 120_000);
    const onData = (d: Buffer) => {
      output += d;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('close', (code) => reject(new Error(`${command} exited ${code}:\n${output}`)));
  });
  return { stop: () => child.kill('SIGTERM'), output: () => output };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Packs the package as npm would publish it; the path of the tarball. */
async function pack(): Promise<string> {
  if (!args.includes('--no-build')) await run('npm', ['run', 'build'], REPO_ROOT);
  const out = await mkdtemp(join(tmpdir(), 'lce-apps-'));
  // With --no-build the current dist/ is packed as it is: prepack would build it again.
  const skipBuild = args.includes('--no-build') ? ['--ignore-scripts'] : [];
  const packed = await run('npm', ['pack', '--silent', ...skipBuild, '--pack-destination', out], REPO_ROOT);
  const name = packed.trim().split('\n').pop();
  return join(out, name as string);
}

/**
 * The app's folder in the cache, with its pinned dependencies installed (again only when its package.json changed),
 * the tarball installed over them, and the app's files copied in fresh.
 */
async function prepare(app: App, tarball: string): Promise<string> {
  const template = join(REPO_ROOT, 'test', 'apps', app);
  const dir = join(cache, app);
  const manifest = await readFile(join(template, 'package.json'));
  const key = createHash('sha256').update(manifest).digest('hex');
  const stamp = join(dir, 'node_modules', '.app-check-key');
  if (!existsSync(stamp) || (await readFile(stamp, 'utf8')) !== key) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), manifest);
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], dir, {
      ONNXRUNTIME_NODE_INSTALL: 'skip',
    });
    await writeFile(stamp, key);
  }
  // As a user installs it (the README's allowScripts, or the variable for older npm).
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--no-save', tarball], dir, {
    ONNXRUNTIME_NODE_INSTALL: 'skip',
  });
  // Everything but the installs is rebuilt from the template: sources, build output, links to the models.
  const kept = new Set(['node_modules', 'package.json', 'package-lock.json']);
  for (const entry of await readdir(dir)) {
    if (!kept.has(entry)) await rm(join(dir, entry), { recursive: true, force: true });
  }
  for (const entry of await readdir(template)) {
    if (!kept.has(entry)) await cp(join(template, entry), join(dir, entry), { recursive: true });
  }
  return dir;
}

/** Node's raw logits for the check pairs, and its ranking of the check documents (default activation). */
async function nodeReference(): Promise<{ logits: number[]; ranked: { index: number; score: number }[] }> {
  const encoder = await CrossEncoder.load(tiny, { worker: false });
  try {
    return {
      logits: await encoder.score(PAIRS, { activation: 'none' }),
      ranked: await encoder.rank(QUERY, DOCUMENTS),
    };
  } finally {
    await encoder.dispose();
  }
}

function expectClose(what: string, got: readonly number[], expected: readonly number[]): void {
  const worst = Math.max(...expected.map((e, i) => Math.abs((got[i] ?? Number.NaN) - e)));
  if (!(got.length === expected.length && worst < TOLERANCE)) {
    throw new Error(`${what}: scores ${JSON.stringify(got)} depart from Node's ${JSON.stringify(expected)}`);
  }
  console.log(`${what}: ${got.length} scores within ${worst.toExponential(1)} of Node's`);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const gzipped = async (file: string) => gzipSync(await readFile(file), { level: 9 }).length;

/** Opens `url` in headless Chromium and returns what the page's scoring left in `globalThis.lceResult`. */
async function scoreInChromium(url: string): Promise<{ scores?: number[]; worker?: boolean; error?: string }> {
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPage(browser, `${url}?pairs=${encodeURIComponent(JSON.stringify(PAIRS))}`);
    await page.waitForFunction(() => document.title === 'done' || document.title === 'failed', { timeout: 180_000 });
    const result = (await page.evaluate(() => (globalThis as { lceResult?: unknown }).lceResult)) as {
      scores?: number[];
      worker?: boolean;
      error?: string;
    };
    // Absent optional model files (external weights, sentence-transformers' configs) answer 404, which is logged.
    const unexpected = errors.filter((e) => !e.includes('status of 404'));
    if (unexpected.length > 0) throw new Error(`the page logged errors: ${unexpected.join('\n')}`);
    return result;
  } finally {
    await browser.close();
  }
}

function expectPageScores(what: string, result: Awaited<ReturnType<typeof scoreInChromium>>, logits: number[]) {
  if (result.error !== undefined) throw new Error(`${what}: ${result.error}`);
  if (result.worker !== true) throw new Error(`${what}: the model did not run in a Web Worker`);
  expectClose(`${what} (Web Worker)`, result.scores ?? [], logits);
}

async function checkVite(dir: string, reference: Awaited<ReturnType<typeof nodeReference>>, chromium: boolean) {
  await run(join(dir, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], dir);
  const assets = join(dir, 'dist', 'assets');
  const files = await readdir(assets);
  const size = async (f: string) => ({ raw: (await stat(join(assets, f))).size, gzip: await gzipped(join(assets, f)) });
  const sizes = new Map(await Promise.all(files.map(async (f) => [f, await size(f)] as const)));
  console.log('vite: emitted assets');
  for (const [file, s] of sizes) console.log(`  ${file.padEnd(52)} ${kb(s.raw).padStart(10)}  gzip ${kb(s.gzip)}`);
  for (const must of [/^web-worker-.*\.js$/, /^ort-wasm-simd-threaded\.jsep-.*\.wasm$/]) {
    if (!files.some((f) => must.test(f))) throw new Error(`vite: no asset matches ${must} (the worker or ORT's .wasm)`);
  }
  if (!chromium) return;
  const server = await serveStatic({ '/': join(dir, 'dist'), '/models/tiny': tiny });
  try {
    expectPageScores('vite page', await scoreInChromium(`${server.url}/index.html`), reference.logits);
    // What the page fetched to score, as the browser asked for it.
    const fetched = [...new Set(server.requests)].filter((p) => p.startsWith('/assets/')).map((p) => p.slice(8));
    const sum = (pick: (f: string) => boolean, field: 'raw' | 'gzip') =>
      fetched.filter(pick).reduce((total, f) => total + (sizes.get(f)?.[field] ?? 0), 0);
    const js = (f: string) => f.endsWith('.js');
    const wasm = (f: string) => f.endsWith('.wasm');
    console.log(
      `vite page fetched: JS ${kb(sum(js, 'raw'))} (gzip ${kb(sum(js, 'gzip'))}), ` +
        `WASM ${kb(sum(wasm, 'raw'))} (gzip ${kb(sum(wasm, 'gzip'))}) in ${fetched.length} files`,
    );
  } finally {
    await server.close();
  }
}

// The fp32 MiniLM-L6 cross-encoder's size and shape (models/minilm-random-head: its architecture, a random head),
// traced into the Next.js build beside the tiny model the scores are checked on: the size a real app ships.
const MINILM = realpathSync(join(MODELS_DIR, 'minilm-random-head'));
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'];
// The published unzipped limit of a Vercel, Netlify or AWS Lambda function.
const FUNCTION_LIMIT = 250 * 1024 * 1024;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A model folder as an app ships it: the files a load reads, fp32 weights only (copied: tracing skips links). */
async function copyModel(from: string, to: string): Promise<void> {
  await mkdir(join(to, 'onnx'), { recursive: true });
  for (const file of MODEL_FILES) if (existsSync(join(from, file))) await cp(join(from, file), join(to, file));
  await cp(join(from, 'onnx', 'model.onnx'), join(to, 'onnx', 'model.onnx'));
}

/** Bytes of every file under `dir` (links not followed), in total and by package (node_modules) or model folder. */
async function sizes(dir: string): Promise<{ total: number; parts: Map<string, number> }> {
  const parts = new Map<string, number>();
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const rel = relative(dir, join(entry.parentPath, entry.name)).split(/[\\/]/);
    const depth = rel[0] === 'models' ? 2 : rel[0] === 'node_modules' ? (rel[1]?.startsWith('@') ? 3 : 2) : 1;
    const key = rel.slice(0, Math.min(depth, rel.length - 1) || 1).join('/');
    const bytes = (await stat(join(entry.parentPath, entry.name))).size;
    total += bytes;
    parts.set(key, (parts.get(key) ?? 0) + bytes);
  }
  return { total, parts };
}

/** Posts the check documents to a server's route; the ranking, checked against Node's. */
async function expectRoute(what: string, port: number, reference: Awaited<ReturnType<typeof nodeReference>>) {
  const response = await fetch(`http://127.0.0.1:${port}/api/rerank`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: QUERY, documents: DOCUMENTS }),
  });
  const body = (await response.json()) as { ranked?: { index: number; score: number }[]; error?: string };
  const ranked = body.ranked ?? [];
  if (JSON.stringify(ranked.map((r) => r.index)) !== JSON.stringify(reference.ranked.map((r) => r.index))) {
    throw new Error(`${what}: answered ${JSON.stringify(body)}, Node ranked ${JSON.stringify(reference.ranked)}`);
  }
  expectClose(
    what,
    ranked.map((r) => r.score),
    reference.ranked.map((r) => r.score),
  );
}

async function checkNext(dir: string, reference: Awaited<ReturnType<typeof nodeReference>>, chromium: boolean) {
  // The route reads its model folder from the app (traced into the build); the page fetches tiny from public/.
  await mkdir(join(dir, 'public', 'models'), { recursive: true });
  await symlink(tiny, join(dir, 'public', 'models', 'tiny'));
  await copyModel(tiny, join(dir, 'models', 'tiny'));
  await copyModel(MINILM, join(dir, 'models', 'minilm'));
  const env = { NEXT_TELEMETRY_DISABLED: '1' };
  const next = join(dir, 'node_modules', '.bin', 'next');
  const bundlers = (process.env['LCE_NEXT_BUNDLERS'] ?? 'turbopack,webpack').split(',');
  for (const bundler of bundlers) {
    await rm(join(dir, '.next'), { recursive: true, force: true });
    const built = await run(next, ['build', ...(bundler === 'webpack' ? ['--webpack'] : [])], dir, env);
    console.log(`next (${bundler}): ${built.split('Route (app)')[1]?.trim().split('\n').join(' ') ?? ''}`);
    // What a deployment uploads: .next/standalone, with the static files beside it, moved away from the app.
    const standalone = await mkdtemp(join(tmpdir(), `lce-next-${bundler}-`));
    await cp(join(dir, '.next', 'standalone'), standalone, { recursive: true });
    const { total, parts } = await sizes(standalone);
    await cp(join(dir, '.next', 'static'), join(standalone, '.next', 'static'), { recursive: true });
    await cp(join(dir, 'public'), join(standalone, 'public'), { recursive: true, dereference: true });
    const tinyBytes = parts.get('models/tiny') ?? 0;
    const minilmBytes = parts.get('models/minilm') ?? 0;
    if (minilmBytes === 0) throw new Error(`next (${bundler}): models/minilm was not traced into the standalone build`);
    const int8 = (await stat(join(MINILM, 'onnx', 'model_quantized.onnx'))).size;
    const fp32 = (await stat(join(MINILM, 'onnx', 'model.onnx'))).size;
    const withFp32 = total - tinyBytes;
    console.log(
      `next (${bundler}) standalone: ${mb(withFp32)} with the fp32 MiniLM model (${mb(minilmBytes)}), ` +
        `${mb(withFp32 - minilmBytes)} without a model, ${mb(withFp32 - fp32 + int8)} with int8 weights instead`,
    );
    for (const [part, bytes] of [...parts].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
      console.log(`  ${part.padEnd(48)} ${mb(bytes).padStart(10)}`);
    }
    if (withFp32 > FUNCTION_LIMIT) throw new Error(`next (${bundler}): ${mb(withFp32)} is over the 250 MB limit`);
    const port = await freePort();
    const server = await start(
      process.execPath,
      [join(standalone, 'server.js')],
      { cwd: standalone, env: { ...env, PORT: String(port), HOSTNAME: '127.0.0.1' } },
      /Ready in|Listening|started server/i,
    );
    try {
      await expectRoute(`next (${bundler}) standalone route handler (Node entry)`, port, reference);
      if (chromium) {
        const page = await scoreInChromium(`http://127.0.0.1:${port}/web`);
        expectPageScores(`next (${bundler}) standalone /web page`, page, reference.logits);
      }
    } finally {
      server.stop();
    }
    try {
      // Cold start: a fresh server process to its first answered request, on the fp32 MiniLM folder.
      const cold = await coldStarts(COLD_RUNS, {
        ours: async () => {
          const coldPort = await freePort();
          const fresh = await start(
            process.execPath,
            [join(standalone, 'server.js')],
            {
              cwd: standalone,
              env: { ...env, PORT: String(coldPort), HOSTNAME: '127.0.0.1', RERANK_MODEL: 'minilm' },
            },
            /Ready in|Listening|started server/i,
          );
          try {
            const response = await fetch(`http://127.0.0.1:${coldPort}/api/rerank`, {
              method: 'POST',
              body: JSON.stringify({ query: QUERY, documents: COLD_DOCUMENTS }),
            });
            if (!response.ok) throw new Error(`next (${bundler}) cold start: ${response.status}`);
            await response.json();
          } finally {
            fresh.stop();
          }
        },
        transformersJs: () => invokeTransformersJs(MINILM, COLD_DOCUMENTS),
      });
      console.log(
        `next (${bundler}) standalone cold start (fresh server to the first ranking of ${COLD_DOCUMENTS.length} ` +
          `passages, MiniLM fp32, median of ${COLD_RUNS}): ${cold.ours.toFixed(0)} ms; transformers.js by hand in ` +
          `a plain Node process ${cold.transformersJs.toFixed(0)} ms`,
      );
    } finally {
      await rm(standalone, { recursive: true, force: true });
    }
  }
}

async function checkWorkers(dir: string, reference: Awaited<ReturnType<typeof nodeReference>>) {
  const esbuild = join(dir, 'node_modules', '.bin', 'esbuild');
  // What wrangler does: one ES module per Worker for the workerd conditions; the CPU-only ONNX Runtime build.
  const common = ['--bundle', '--format=esm', '--platform=browser', '--conditions=workerd,worker,browser', '--minify'];
  await run(
    esbuild,
    [
      'worker.js',
      ...common,
      '--alias:onnxruntime-web=onnxruntime-web/wasm',
      ...['url', 'module', 'fs', 'path'].map((m) => `--external:${m}`),
      '--outfile=bundle/worker.js',
      '--log-level=error',
    ],
    dir,
  );
  await run(esbuild, ['remote-worker.js', ...common, '--outfile=bundle/remote-worker.js', '--log-level=error'], dir);
  await mkdir(join(dir, 'files', 'ort'), { recursive: true });
  await mkdir(join(dir, 'files', 'models'), { recursive: true });
  const wasm = join(dir, 'node_modules', 'onnxruntime-web', 'dist', 'ort-wasm-simd-threaded.wasm');
  await cp(wasm, join(dir, 'files', 'ort', 'ort-wasm-simd-threaded.wasm'));
  await symlink(tiny, join(dir, 'files', 'models', 'tiny'));

  // What a Worker that carries its own runtime and model would upload.
  const parts: [string, string][] = [
    ['/web bundle (JS, tokenizer WASM inlined)', join(dir, 'bundle', 'worker.js')],
    ['ONNX Runtime WASM (CPU build)', wasm],
    ['tiny model.onnx (fp32)', join(tiny, 'onnx', 'model.onnx')],
    ['tiny model_quantized.onnx (int8)', join(tiny, 'onnx', 'model_quantized.onnx')],
    ['tiny tokenizer.json', join(tiny, 'tokenizer.json')],
    ['/remote bundle (RemoteScorer)', join(dir, 'bundle', 'remote-worker.js')],
  ];
  const measured = new Map<string, number>();
  console.log('workers: upload sizes against the limits (compressed: 3 MiB free, 10 MiB paid)');
  for (const [label, file] of parts) {
    const gzip = await gzipped(file);
    measured.set(label, gzip);
    console.log(`  ${label.padEnd(42)} ${kb((await stat(file)).size).padStart(10)}  gzip ${kb(gzip)}`);
  }
  const total = (labels: string[]) => labels.reduce((t, l) => t + (measured.get(l) ?? 0), 0);
  const [bundle, runtime, fp32, int8, tokenizer, remote] = parts.map(([label]) => label) as string[];
  for (const [what, bytes] of [
    ['/web + runtime, model fetched', total([bundle!, runtime!])],
    ['/web + runtime + int8 model', total([bundle!, runtime!, int8!, tokenizer!])],
    ['/web + runtime + fp32 model', total([bundle!, runtime!, fp32!, tokenizer!])],
    ['/remote', total([remote!])],
  ] as const) {
    const fits =
      bytes <= WORKER_LIMITS.free ? 'fits free and paid' : bytes <= WORKER_LIMITS.paid ? 'paid only' : 'fits neither';
    console.log(`  ${what.padEnd(42)} gzip ${kb(bytes).padStart(10)}  ${fits}`);
  }

  // The rerank server RemoteScorer calls, in this process.
  const scorer = await CrossEncoder.load(tiny, { worker: false });
  const rerank = await RerankServer.start({ scorer, port: 0, host: '127.0.0.1', modelName: 'tiny' });
  const config = (await readFile(join(dir, 'config.capnp'), 'utf8')).replaceAll(
    'RERANK_ADDRESS',
    new URL(rerank.url).host,
  );
  await writeFile(join(dir, 'config.capnp'), config);
  const [webPort, remotePort] = [await freePort(), await freePort()];
  const workerd = await start(
    join(dir, 'node_modules', '.bin', 'workerd'),
    ['serve', 'config.capnp', `--socket-addr=web=127.0.0.1:${webPort}`, `--socket-addr=remote=127.0.0.1:${remotePort}`],
    { cwd: dir },
    new RegExp(`:${webPort}[\\s\\S]*:${remotePort}|:${remotePort}[\\s\\S]*:${webPort}`),
  );
  try {
    const post = async (port: number, body: unknown) => {
      const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify(body) });
      return (await response.json()) as Record<string, unknown>;
    };
    const viaRemote = (await post(remotePort, { query: QUERY, documents: DOCUMENTS })) as {
      ranked?: { index: number; score: number }[];
      error?: string;
    };
    if (viaRemote.ranked === undefined) throw new Error(`workerd /remote: ${viaRemote.error}`);
    expectClose(
      'workerd /remote (RemoteScorer)',
      viaRemote.ranked.map((r) => r.score),
      reference.ranked.map((r) => r.score),
    );
    const viaWeb = (await post(webPort, { pairs: PAIRS })) as { scores?: number[]; error?: string };
    if (viaWeb.scores !== undefined) {
      expectClose('workerd /web (inline)', viaWeb.scores, reference.logits);
      throw new Error('workerd /web scored: the README says Workers cannot compile WebAssembly at run time; update it');
    }
    // Workers compile WebAssembly only from modules uploaded with the Worker, never from bytes at run time, and
    // both the tokenizer and ONNX Runtime Web compile theirs at run time.
    if (!/Wasm code generation disallowed/.test(viaWeb.error ?? '')) throw new Error(`workerd /web: ${viaWeb.error}`);
    console.log(
      'workerd /web (inline): refused as documented: WebAssembly.instantiate(): Wasm code generation disallowed',
    );
  } finally {
    workerd.stop();
    await rerank.close();
    await scorer.dispose();
  }
}

/** Runs `node args` in a fresh process to its end; its output, or a rejection with its output. */
function node(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: 'pipe' });
    let [stdout, stderr] = ['', ''];
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) =>
      code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`node exited ${code}:\n${stderr.slice(-3000)}`)),
    );
  });
}

/**
 * Median milliseconds from spawning a fresh Node process to its first answer, for each contender over `runs`
 * processes, the contenders alternated round by round so that a change in the machine's load reaches them alike.
 */
async function coldStarts<T extends string>(
  runs: number,
  contenders: Record<T, () => Promise<unknown>>,
): Promise<Record<T, number>> {
  const names = Object.keys(contenders) as T[];
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<T, number[]>;
  for (let round = 0; round < runs; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const started = performance.now();
      await contenders[name]();
      times[name].push(performance.now() - started);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return Object.fromEntries(names.map((n) => [n, median(times[n])])) as Record<T, number>;
}

const COLD_RUNS = 5;
// A request of ten passages, as a retrieval step sends.
const COLD_DOCUMENTS = Array.from(
  { length: 10 },
  (_, i) => `${DOCUMENTS[i % 2]} Passage ${i} of the cold start check.`,
);

/** One invocation of the unzipped handler in a fresh process, as the Lambda runtime makes it. */
function invokeLambda(dir: string, env: NodeJS.ProcessEnv, documents: string[] = DOCUMENTS) {
  const script =
    `const { handler } = await import(${JSON.stringify(join(dir, 'index.mjs'))});` +
    `const answer = await handler({ body: ${JSON.stringify(JSON.stringify({ query: QUERY, documents }))} });` +
    'console.log(answer.body);';
  // Lambda's working directory and home are read-only; only the temporary folder can be written.
  return node(['--input-type=module', '-e', script], tmpdir(), env);
}

/** transformers.js used by hand on the same folder, in a fresh process: the comparison for the cold start. */
function invokeTransformersJs(model: string, documents: string[]) {
  const script = `
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.localModelPath = ${JSON.stringify(join(model, '..') + '/')};
    const name = ${JSON.stringify(model.split('/').pop())};
    const tokenizer = await tf.AutoTokenizer.from_pretrained(name);
    const model = await tf.AutoModelForSequenceClassification.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    const documents = ${JSON.stringify(documents)};
    const inputs = tokenizer(documents.map(() => ${JSON.stringify(QUERY)}), { text_pair: documents, padding: true, truncation: true });
    const { logits } = await model(inputs);
    console.log(JSON.stringify(Array.from(logits.data)));`;
  return node(['--input-type=module', '-e', script], join(REPO_ROOT, 'bench'), {});
}

async function checkLambda(dir: string, reference: Awaited<ReturnType<typeof nodeReference>>) {
  // A home where nothing can be created, as on Lambda; a fresh temporary folder per check.
  const home = await mkdtemp(join(tmpdir(), 'lce-lambda-home-'));
  await writeFile(join(home, '.cache'), 'read-only home');
  const scratch = await mkdtemp(join(tmpdir(), 'lce-lambda-tmp-'));
  const env = { HOME: home, TMPDIR: scratch, XDG_CACHE_HOME: '', LANGCHAIN_CROSS_ENCODER_CACHE: '' };
  const unzip = async (what: string) => {
    const zip = join(dir, 'lambda.zip');
    const target = await mkdtemp(join(tmpdir(), 'lce-lambda-task-'));
    await run('unzip', ['-q', zip, '-d', target], dir);
    const unzipped = (await sizes(target)).total;
    console.log(`lambda (${what}): zip ${mb((await stat(zip)).size)}, unzipped ${mb(unzipped)}`);
    if (unzipped > FUNCTION_LIMIT) throw new Error(`lambda (${what}): ${mb(unzipped)} unzipped is over 250 MB`);
    return target;
  };
  const folders: string[] = [];
  try {
    // The model from the hub: no model in the zip, downloaded at the first request into the temporary folder.
    await run(process.execPath, ['build.mjs'], dir);
    folders.push(await unzip('no model'));
    const hub = await startHubServer({ root: { 'org/tiny': tiny } });
    try {
      const { stdout, stderr } = await invokeLambda(folders[0]!, {
        ...env,
        MODEL: 'org/tiny',
        HF_ENDPOINT: hub.url,
      });
      const { ranked } = JSON.parse(stdout) as { ranked: { score: number }[] };
      expectClose(
        'lambda, model from the hub',
        ranked.map((r) => r.score),
        reference.ranked.map((r) => r.score),
      );
      const warnings = stderr.match(/cannot be written/g) ?? [];
      if (warnings.length !== 1) throw new Error(`lambda: expected one cache warning, got:\n${stderr}`);
      if (!existsSync(join(scratch, 'langchain-cross-encoder'))) throw new Error('lambda: nothing cached in /tmp');
    } finally {
      await hub.close();
    }
    // The model in the zip.
    await run(process.execPath, ['build.mjs', tiny], dir);
    folders.push(await unzip('tiny model'));
    const { stdout } = await invokeLambda(folders.at(-1)!, env);
    expectClose(
      'lambda, model in the zip',
      (JSON.parse(stdout) as { ranked: { score: number }[] }).ranked.map((r) => r.score),
      reference.ranked.map((r) => r.score),
    );
    // A zip that left a package out: the error names that package, not the binding that needs it.
    const partial = await mkdtemp(join(tmpdir(), 'lce-lambda-partial-'));
    folders.push(partial);
    await cp(folders.at(-2)!, partial, { recursive: true });
    await rm(join(partial, 'node_modules', 'onnxruntime-common'), { recursive: true });
    const missing = await invokeLambda(partial, env).then(
      () => '',
      (error: Error) => error.message,
    );
    if (
      !/MISSING_DEPENDENCY/.test(missing) ||
      !/the package onnxruntime-common[\s\S]*npm i onnxruntime-common`/.test(missing)
    ) {
      throw new Error(
        `lambda without onnxruntime-common: expected a MissingDependencyError naming it, got:\n${missing}`,
      );
    }
    console.log('lambda without onnxruntime-common: MissingDependencyError names onnxruntime-common');
    // The size and cold start of a real reranker: MiniLM-L6's fp32 weights in the zip.
    await run(process.execPath, ['build.mjs', MINILM], dir);
    folders.push(await unzip('fp32 MiniLM model'));
    const { ours, theirs } = await coldStarts(COLD_RUNS, {
      ours: () => invokeLambda(folders.at(-1)!, env, COLD_DOCUMENTS),
      theirs: () => invokeTransformersJs(MINILM, COLD_DOCUMENTS),
    });
    console.log(
      `lambda cold start (fresh process to the first ranking of ${COLD_DOCUMENTS.length} passages, MiniLM fp32, ` +
        `median of ${COLD_RUNS}): ${ours.toFixed(0)} ms; transformers.js by hand ${theirs.toFixed(0)} ms`,
    );
  } finally {
    for (const folder of [...folders, home, scratch]) await rm(folder, { recursive: true, force: true });
  }
}

const chromiumSkip = apps.some((a) => a !== 'workers') ? await browserUnavailable() : undefined;
const tarball = await pack();
console.log(`== ${tarball}`);
const reference = await nodeReference();
const failed: string[] = [];
for (const app of apps) {
  console.log(`\n== ${app}`);
  try {
    const dir = await prepare(app, tarball);
    if (app === 'vite') await checkVite(dir, reference, chromiumSkip === undefined);
    if (app === 'next') await checkNext(dir, reference, chromiumSkip === undefined);
    if (app === 'workers') await checkWorkers(dir, reference);
    if (app === 'lambda') await checkLambda(dir, reference);
  } catch (error) {
    console.error(`${app}: ${(error as Error).message}`);
    failed.push(app);
  }
}
await rm(join(tarball, '..'), { recursive: true, force: true });
if (chromiumSkip !== undefined) console.warn(`apps:check: the pages were built but not opened (${chromiumSkip})`);
if (failed.length > 0) fail(`failed: ${failed.join(', ')}`);
console.log('\napps:check: ok');
