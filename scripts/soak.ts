// Soak test: many compressDocuments calls at a fixed concurrency against one shared model, watching memory.
//
//   npm run soak -- [--calls 2000] [--concurrency 16] [--docs 50] [--model tiny] [--timeout-ms 0]
//   npm run soak -- --server [--minutes 10]   (the rerank server under overload: see scripts/soak-server.ts)
//
// `--model` is a folder under models/ or any path or hub id CrossEncoder.load accepts. Every result is checked
// against the same call run alone before the soak, so a wrong answer under load counts as a failure. RSS is read at
// start, after a warm-up (the first 10% of calls) and at the end, each after a full GC; drift is the end against the
// warm-up reading. The exit code is 1 when any call
// failed, a result differed, a rejection went unhandled, or the drift passed --max-drift (10% by default).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Document } from '@langchain/core/documents';
import { CrossEncoder, CrossEncoderReranker } from '../src/index.js';

// `--server` soaks the HTTP server under overload instead (scripts/soak-server.ts).
if (process.argv.includes('--server')) {
  await import('./soak-server.js');
  process.exit();
}

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    docs: { type: 'string', default: '50' },
    model: { type: 'string', default: 'tiny' },
    'timeout-ms': { type: 'string', default: '0' },
    'max-drift': { type: 'string', default: '10' },
    queries: { type: 'string', default: '25' },
  },
});

const calls = positive(args.calls, 'calls');
const concurrency = positive(args.concurrency, 'concurrency');
const docsPerCall = positive(args.docs, 'docs');
const distinctQueries = positive(args.queries, 'queries');
const timeoutMs = Number(args['timeout-ms']);
const maxDrift = Number(args['max-drift']);
const local = path.join(import.meta.dirname, '..', 'models', args.model);
const model = existsSync(path.join(local, 'config.json')) ? local : args.model;

function positive(raw: string, name: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return value;
}

// A small seeded generator, so every run soaks the same text.
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the capital of france is paris rivers flow into the sea a cross encoder reads query and passage together ' +
  'mitochondria cells energy tokyo 東京 japan café naïve résumé 😀 rain weather forecast cooking recipe bread ' +
  'flour water salt yeast oven temperature history war treaty science physics quantum field theory music jazz'
).split(' ');

function workload(index: number): { query: string; documents: Document[] } {
  const random = rng(1000 + index);
  const pick = () => WORDS[Math.floor(random() * WORDS.length)] as string;
  const sentence = (min: number, max: number) =>
    Array.from({ length: min + Math.floor(random() * (max - min)) }, pick).join(' ');
  return {
    query: sentence(3, 9),
    documents: Array.from(
      { length: docsPerCall },
      (_, i) => new Document({ pageContent: sentence(10, 80), metadata: { source: `doc-${index}-${i}` } }),
    ),
  };
}

const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
// GC turned on at run time rather than with `node --expose-gc`: a worker thread refuses V8 flags in its execArgv, and
// the scoring worker passes the parent's flags on.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (() => void) | undefined;
function memory(): NodeJS.MemoryUsage {
  gc?.();
  gc?.();
  return process.memoryUsage();
}

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  console.error('unhandled rejection:', reason);
});

const start = memory();
const loadStarted = performance.now();
const encoder = await CrossEncoder.load(model);
const reranker = new CrossEncoderReranker({
  model: encoder,
  topN: docsPerCall,
  ...(timeoutMs > 0 ? { timeoutMs } : {}),
});
const loadMs = performance.now() - loadStarted;

// References: each distinct workload ranked alone, before any concurrency.
const workloads = Array.from({ length: distinctQueries }, (_, i) => workload(i));
const expected: string[] = [];
for (const { query, documents } of workloads) {
  const result = await reranker.compressDocuments(documents, query);
  expected.push(JSON.stringify(result.map((d) => [d.metadata['source'], d.metadata['relevanceScore']])));
}

let next = 0;
let done = 0;
let failures = 0;
let mismatches = 0;
const latencies: number[] = [];
const errors = new Map<string, number>();
const warmupAt = Math.max(1, Math.floor(calls / 10));
let afterWarmup: NodeJS.MemoryUsage | undefined;
let warmupDone: Promise<void> | undefined;
let soakStarted = 0;

async function lane(): Promise<void> {
  while (next < calls) {
    const i = next++;
    const { query, documents } = workloads[i % workloads.length]!;
    const t = performance.now();
    try {
      const result = await reranker.compressDocuments(documents, query);
      const got = JSON.stringify(result.map((d) => [d.metadata['source'], d.metadata['relevanceScore']]));
      if (got !== expected[i % workloads.length]) mismatches++;
    } catch (error) {
      failures++;
      const key = error instanceof Error ? `${error.name}: ${error.message.slice(0, 120)}` : String(error);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
    latencies.push(performance.now() - t);
    done++;
    if (done === warmupAt) {
      afterWarmup = memory();
      soakStarted = performance.now();
      warmupDone = Promise.resolve();
    }
    if (done % Math.max(1, Math.floor(calls / 10)) === 0) {
      const rss = process.memoryUsage().rss;
      console.log(`  ${String(done).padStart(6)} calls  rss ${mib(rss)} MiB`);
    }
  }
}

console.log(
  `soak: ${calls} compressDocuments calls, ${concurrency} at a time, ${docsPerCall} documents each, ` +
    `model ${model} (loaded in ${loadMs.toFixed(0)} ms), gc ${gc ? 'on' : 'off'}`,
);
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, lane));
await warmupDone;
const elapsed = (performance.now() - started) / 1000;
const soakElapsed = (performance.now() - soakStarted) / 1000;
await new Promise((resolve) => setTimeout(resolve, 50));
const end = memory();
await encoder.dispose();

const warm = afterWarmup ?? start;
const drift = ((end.rss - warm.rss) / warm.rss) * 100;
latencies.sort((a, b) => a - b);
const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;

console.log(`
calls            ${calls} (${concurrency} concurrent, ${docsPerCall} documents each, ${calls * docsPerCall} pairs)
throughput       ${(calls / elapsed).toFixed(1)} calls/s, ${((calls * docsPerCall) / elapsed).toFixed(0)} pairs/s (${elapsed.toFixed(1)} s; after warm-up ${((calls - warmupAt) / soakElapsed).toFixed(1)} calls/s)
latency          p50 ${quantile(0.5).toFixed(0)} ms, p95 ${quantile(0.95).toFixed(0)} ms, max ${quantile(1).toFixed(0)} ms
rss              start ${mib(start.rss)} MiB, after warm-up (${warmupAt} calls) ${mib(warm.rss)} MiB, end ${mib(end.rss)} MiB
drift            ${drift >= 0 ? '+' : ''}${drift.toFixed(1)}% (end vs after warm-up; limit ${maxDrift}%)
heap used        start ${mib(start.heapUsed)} MiB, after warm-up ${mib(warm.heapUsed)} MiB, end ${mib(end.heapUsed)} MiB
external         end ${mib(end.external)} MiB, array buffers ${mib(end.arrayBuffers)} MiB
failures         ${failures}${[...errors].map(([message, count]) => `\n  ${count} × ${message}`).join('')}
wrong results    ${mismatches}
unhandled        ${unhandled}`);

process.exitCode = failures > 0 || mismatches > 0 || unhandled > 0 || drift > maxDrift ? 1 : 0;
