// The browser benchmark (npm run bench:browser): in headless Chromium, on DL19 BM25 top-100 calls, the package's
// browser build (CrossEncoder in its Web Worker) against transformers.js used by hand (same ONNX file, WASM) and the
// ONNX Runtime Web floor (pre-tokenized, the engine's batch plan, session.run only), at the same thread count.
// Runners alternate in rounds, their order rotating, so machine load falls on all alike; medians are reported.
// Writes bench/results/browser.{json,md}, with the example page's bundle sizes.
//
//   tsx bench/browser.ts [--models tiny,ce-minilm-l6-ict] [--queries 2] [--rounds 3] [--isolated]
//
// --isolated adds a pass on a cross-origin isolated page with 2 WebAssembly threads per runner.
// BENCH_DEBUG=1 prints the page's and its workers' console, and the last requests every 15 s.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import type { Page } from 'puppeteer-core';
import { buildExample } from '../examples/browser/build.js';
import { parseModelConfig } from '../src/engine/config.js';
import { openPairTokenizer } from '../src/engine/model-files.js';
import { defaultMaxBatchTokens } from '../src/engine/pair-model.js';
import type { AssembledPair } from '../src/tokenize/pair-template.js';
import { BROWSER_BUILD, bundleDir, bundlePage, launchBrowser, openPage, serveStatic } from '../test/helpers/browser.js';
import { MODELS_DIR } from '../test/helpers/models.js';
import type { BenchApi } from './browser/page.js';
import { quantile } from './metrics.js';
import { loadDl19, ROOT, type WorkItem } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,ce-minilm-l6-ict' },
    queries: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    isolated: { type: 'boolean', default: false },
  },
});
const models = args.models.split(',');
const queryCount = Number(args.queries);
const rounds = Number(args.rounds);
const RUNNERS = ['web', 'transformers.js', 'floor'] as const;
type RunnerName = (typeof RUNNERS)[number];
const TJS_ORT = join(ROOT, 'bench', 'node_modules', 'onnxruntime-web');
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const version = (dir: string) =>
  (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;

/** Calls a page method of bench/browser/page.ts. */
function call<K extends keyof BenchApi>(
  page: Page,
  name: K,
  ...a: Parameters<BenchApi[K]>
): Promise<Awaited<ReturnType<BenchApi[K]>>> {
  return page.evaluate(
    (n, x) => (globalThis as unknown as { lceBench: Record<string, (...y: unknown[]) => unknown> }).lceBench[n]!(...x),
    name,
    a as unknown[],
  ) as Promise<Awaited<ReturnType<BenchApi[K]>>>;
}

/** `n` calls spread over the DL19 queries. */
function pickItems(all: WorkItem[], n: number): WorkItem[] {
  if (n >= all.length) return all;
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)] as WorkItem);
}

async function bundle(dir: string): Promise<void> {
  await bundlePage(join(ROOT, 'bench', 'browser', 'page.ts'), dir);
  // bench/node_modules holds transformers.js's own onnxruntime-web (another version): the floor must get the
  // package's, whose WebAssembly sits beside the page.
  const packageOrt: Plugin = {
    name: 'package-onnxruntime-web',
    setup(b) {
      b.onResolve({ filter: /^onnxruntime-web$/ }, (a) =>
        a.importer.endsWith('floor-worker.ts')
          ? b.resolve('onnxruntime-web', { resolveDir: ROOT, kind: a.kind })
          : undefined,
      );
    },
  };
  await build({
    ...BROWSER_BUILD,
    plugins: [...BROWSER_BUILD.plugins, packageOrt],
    entryPoints: {
      'floor-worker': join(ROOT, 'bench', 'browser', 'floor-worker.ts'),
      'tjs-worker': join(ROOT, 'bench', 'browser', 'tjs-worker.ts'),
    },
    outdir: dir,
  });
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><script type="module" src="./page.js"></script>',
  );
}

interface ModelResult {
  model: string;
  threads: number;
  isolated: boolean;
  calls: number;
  pairs: number;
  floorPasses: number;
  floorPaddedTokens: number;
  /** The package's own account of its median round (onStats): tokenizing, forward passes, padded tokens. */
  web: { seconds: number; tokenizeSeconds: number; inferenceSeconds: number; paddedTokens: number };
  maxBatchTokens: number;
  /** Seconds per round for each runner, in round order. */
  seconds: Record<RunnerName, number[]>;
  pairsPerSecond: Record<RunnerName, number>;
  /** web pairs/s ÷ transformers.js pairs/s; web time ÷ floor time. */
  webOverTransformersJs: number;
  webTimeOverFloor: number;
  /** Largest |logit difference| between web and each other runner, last round. */
  maxDiff: { transformersJs: number; floor: number };
}

async function benchModel(
  page: Page,
  serverUrl: string,
  model: string,
  items: WorkItem[],
  threads: number,
  isolated: boolean,
): Promise<ModelResult> {
  const dir = join(MODELS_DIR, model);
  const tokenizer = await openPairTokenizer({
    tokenizerJson: join(dir, 'tokenizer.json'),
    tokenizerConfig: join(dir, 'tokenizer_config.json'),
  });
  const encoded: AssembledPair[][] = [];
  for (const item of items) {
    encoded.push(
      await tokenizer.encodePairs(
        item.passages.map((p) => [item.query, p] as const),
        512,
        'longest_first',
      ),
    );
  }
  const configPath = join(dir, 'config.json');
  const maxBatchTokens = defaultMaxBatchTokens(
    parseModelConfig(JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>, configPath),
  );
  await call(
    page,
    'setItems',
    items.map(({ query, passages }) => ({ query, passages })),
  );
  log(`${model}: opening the runners (${threads} thread${threads === 1 ? '' : 's'})`);
  await call(page, 'openTransformersJs', '/models/', model, threads, `${serverUrl}/tjs-ort/dist/`);
  const floorPlan = await call(
    page,
    'openFloor',
    `${serverUrl}/models/${model}`,
    threads,
    encoded,
    maxBatchTokens,
    tokenizer.padId,
  );
  await call(page, 'openWeb', `${serverUrl}/models/${model}`, threads);
  log(`${model}: web open`);
  const floorPasses = floorPlan.passes;
  log(`${model}: transformers.js and floor open (${floorPasses} floor passes a round)`);
  for (const name of RUNNERS) {
    await call(page, 'warm', name);
    log(`${model}: ${name} warmed`);
  }

  const seconds = { web: [], 'transformers.js': [], floor: [] } as Record<RunnerName, number[]>;
  const last = {} as Record<RunnerName, number[][]>;
  const webRounds: { seconds: number; tokenizeMs: number; inferenceMs: number; paddedTokens: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = [...RUNNERS.slice(round % 3), ...RUNNERS.slice(0, round % 3)];
    for (const name of order) {
      const { ms, scores, stats } = await call(page, 'run', name);
      seconds[name].push(ms / 1000);
      if (stats !== undefined) webRounds.push({ seconds: ms / 1000, ...stats });
      last[name] = scores;
      log(`${model} round ${round + 1}/${rounds} ${name}: ${(ms / 1000).toFixed(1)} s`);
    }
  }
  for (const name of RUNNERS) await call(page, 'close', name);

  const pairs = items.reduce((n, item) => n + item.passages.length, 0);
  const pairsPerSecond = Object.fromEntries(RUNNERS.map((n) => [n, pairs / quantile(seconds[n], 0.5)])) as Record<
    RunnerName,
    number
  >;
  const diff = (other: RunnerName) =>
    Math.max(...last.web.flatMap((row, i) => row.map((s, j) => Math.abs(s - (last[other][i]?.[j] as number)))));
  return {
    model,
    threads,
    isolated,
    calls: items.length,
    pairs,
    floorPasses,
    floorPaddedTokens: floorPlan.paddedTokens,
    web: (() => {
      const mid = [...webRounds].sort((a, b) => a.seconds - b.seconds)[
        Math.floor(webRounds.length / 2)
      ] as (typeof webRounds)[number];
      return {
        seconds: mid.seconds,
        tokenizeSeconds: mid.tokenizeMs / 1000,
        inferenceSeconds: mid.inferenceMs / 1000,
        paddedTokens: mid.paddedTokens,
      };
    })(),
    maxBatchTokens,
    seconds,
    pairsPerSecond,
    webOverTransformersJs: pairsPerSecond.web / pairsPerSecond['transformers.js'],
    webTimeOverFloor: pairsPerSecond.floor / pairsPerSecond.web,
    maxDiff: { transformersJs: diff('transformers.js'), floor: diff('floor') },
  };
}

async function pass(items: WorkItem[], threads: number, isolated: boolean, out: ModelResult[]): Promise<string> {
  const dir = await bundleDir('bench-browser');
  await bundle(dir);
  const server = await serveStatic({ '/app': dir, '/models': MODELS_DIR, '/tjs-ort': TJS_ORT }, { isolated });
  const browser = await launchBrowser();
  try {
    const { page, errors } = await openPage(browser, `${server.url}/app/index.html`);
    if (process.env['BENCH_DEBUG']) {
      page.on('console', (m) => log(`page: ${m.text()}`));
      page.on('workercreated', (w) => w.on('console', (m) => log(`worker ${w.url()}: ${m.text()}`)));
      setInterval(() => log(`requests: ${server.requests.slice(-5).join(' ')}`), 15_000).unref();
    }
    await page.waitForFunction(() => document.title === 'ready', { timeout: 60_000 });
    const info = await call(page, 'info');
    if (info.isolated !== isolated) throw new Error(`the page is ${info.isolated ? '' : 'not '}cross-origin isolated`);
    for (const model of models) out.push(await benchModel(page, server.url, model, items, threads, isolated));
    const unexpected = errors.filter((e) => !e.includes('status of 404'));
    if (unexpected.length > 0) log(`page errors: ${unexpected.join(' | ')}`);
    return `${await browser.version()}, ${info.cores} logical cores seen by the page`;
  } finally {
    await browser.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function exampleSizes() {
  const dir = await bundleDir('bench-example-size');
  try {
    const { sizes } = await buildExample(dir);
    const gz = async (files: string[]) =>
      (await Promise.all(files.map(async (f) => gzipSync(await readFile(join(dir, f))).length))).reduce(
        (a, b) => a + b,
        0,
      );
    return {
      jsBytes: sizes.jsBytes,
      jsGzipBytes: await gz(['main.js', 'search-worker.js']),
      wasmBytes: sizes.wasmBytes,
      wasmGzipBytes: await gz(['ort-wasm-simd-threaded.jsep.wasm']),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const all = await loadDl19();
const items = pickItems(all, queryCount);
log(`${items.length} DL19 calls (${items.reduce((n, i) => n + i.passages.length, 0)} pairs), ${rounds} rounds`);
const results: ModelResult[] = [];
const browserVersion = await pass(items, 1, false, results);
const sizes = await exampleSizes();
let isolatedFailure: string | undefined;
if (args.isolated) {
  await writeResults(); // the single-thread results stand even if the threaded pass fails
  await pass(items, 2, true, results).catch((error: unknown) => {
    isolatedFailure = (error as Error).message.split('\n')[0];
    log(`the cross-origin isolated pass failed: ${isolatedFailure}`);
  });
}
await writeResults();

async function writeResults(): Promise<void> {
  const versions = {
    chromium: browserVersion,
    onnxruntimeWeb: version(join(ROOT, 'node_modules', 'onnxruntime-web')),
    transformersJs: version(join(ROOT, 'bench', 'node_modules', '@huggingface', 'transformers')),
    transformersJsOnnxruntimeWeb: version(TJS_ORT),
    node: process.version,
  };

  const f = (n: number, d = 1) => n.toFixed(d);
  const lines = [
    '# Browser benchmark',
    '',
    `Headless ${versions.chromium}; onnxruntime-web ${versions.onnxruntimeWeb} (ours and the floor), transformers.js ` +
      `${versions.transformersJs} (with its own onnxruntime-web ${versions.transformersJsOnnxruntimeWeb}). ` +
      `${items.length} DL19 BM25 top-100 calls, fp32, ${rounds} alternating rounds, medians. Written by \`npm run bench:browser\`.`,
    '',
    '| model | threads | web pairs/s | transformers.js pairs/s | floor pairs/s | web ÷ transformers.js | web time ÷ floor | max logit diff (tjs, floor) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.model} | ${r.threads}${r.isolated ? ' (isolated)' : ''} | ${f(r.pairsPerSecond.web)} | ${f(r.pairsPerSecond['transformers.js'])} | ` +
        `${f(r.pairsPerSecond.floor)} | ${f(r.webOverTransformersJs, 2)}× | ${f(r.webTimeOverFloor, 2)}× | ` +
        `${r.maxDiff.transformersJs.toExponential(1)}, ${r.maxDiff.floor.toExponential(1)} |`,
    ),
    '',
    'Targets: web ≥ 1.8× transformers.js, web time ≤ 1.1× the floor. Seconds per round (web / transformers.js / floor):',
    '',
    ...results.map(
      (r) =>
        `- ${r.model}, ${r.threads} thread(s): ` +
        r.seconds.web.map((_, i) => RUNNERS.map((n) => f(r.seconds[n][i] as number)).join(' / ')).join('; ') +
        ` (floor: ${r.floorPasses} passes of ≤ 32 pairs and ≤ ${r.maxBatchTokens} padded tokens)`,
    ),
    '',
    "Where the package's time goes (its median round, from `onStats`, against the floor's median round):",
    '',
    ...results.map((r) => {
      const other = r.web.seconds - r.web.tokenizeSeconds - r.web.inferenceSeconds;
      return (
        `- ${r.model}, ${r.threads} thread(s): ${f(r.web.seconds, 2)} s = tokenizing ${f(r.web.tokenizeSeconds, 2)} s ` +
        `+ forward passes ${f(r.web.inferenceSeconds, 2)} s + the rest (messages, queueing, scores) ${f(other, 2)} s; ` +
        `the floor's session.run alone ${f(quantile(r.seconds.floor, 0.5), 2)} s; padded tokens ${r.web.paddedTokens} (web) ` +
        `against ${r.floorPaddedTokens} (floor)`
      );
    }),
    '',
    `Example page (\`npm run example:browser\`, minified): JavaScript ${f(sizes.jsBytes / 1024, 0)} KiB ` +
      `(${f(sizes.jsGzipBytes / 1024, 0)} KiB gzipped), WebAssembly ${f(sizes.wasmBytes / 1024, 0)} KiB ` +
      `(${f(sizes.wasmGzipBytes / 1024, 0)} KiB gzipped).`,
    '',
  ];
  if (isolatedFailure !== undefined)
    lines.push(`The cross-origin isolated pass (2 threads) failed: ${isolatedFailure}`, '');
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(
    join(ROOT, 'bench', 'results', 'browser.json'),
    JSON.stringify({ versions, sizes, results, isolatedFailure }, null, 2) + '\n',
  );
  await writeFile(join(ROOT, 'bench', 'results', 'browser.md'), lines.join('\n'));
  console.log(lines.join('\n'));
}
