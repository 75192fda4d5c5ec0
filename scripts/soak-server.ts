// Overload soak of the rerank server: 64 clients send requests at twice the capacity measured first, over real
// sockets on 127.0.0.1, for `--minutes`; some clients hang up mid-request, some give up before the server's
// timeout. It checks: no unhandled rejection, RSS flat (start after warm-up vs end), every answered request's scores
// equal local scoring, the p95 latency of accepted requests within the server's timeout, and the engine idle within
// about one batch once the load stops.
//
//   npm run soak -- --server [--minutes 10] [--model ce-minilm-l6-ict] [--docs 20] [--timeout-ms 5000]
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { CrossEncoder, RerankServer, type Scorer, type TextPair } from '../src/index.js';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--server'),
  options: {
    minutes: { type: 'string', default: '10' },
    model: { type: 'string', default: 'ce-minilm-l6-ict' },
    docs: { type: 'string', default: '20' },
    clients: { type: 'string', default: '64' },
    'timeout-ms': { type: 'string', default: '5000' },
    'max-drift': { type: 'string', default: '10' },
    overload: { type: 'string', default: '2' },
  },
});
const minutes = Number(args.minutes);
const docsPerRequest = Number(args.docs);
const clients = Number(args.clients);
const timeoutMs = Number(args['timeout-ms']);
const maxDrift = Number(args['max-drift']);
const overload = Number(args.overload);
const local = path.join(import.meta.dirname, '..', 'models', args.model);
const modelPath = existsSync(path.join(local, 'config.json')) ? local : args.model;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as (() => void) | undefined;
// RSS after a full GC; the JS heap and external memory of the same moment, to tell a leak from allocator growth.
let heapAt = { start: 0, end: 0 };
let externalAt = { start: 0, end: 0 };
const rss = (moment: 'start' | 'end') => {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  heapAt = { ...heapAt, [moment]: usage.heapUsed };
  externalAt = { ...externalAt, [moment]: usage.external };
  return usage.rss;
};
const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let unhandled = 0;
process.on('unhandledRejection', (reason) => {
  unhandled++;
  console.error('unhandled rejection:', reason);
});

// A seeded generator, so every run sends the same text.
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
const random = rng(19);
const WORDS = (
  'the capital of france is paris rivers flow into the sea a cross encoder reads query and passage together ' +
  'mitochondria cells energy tokyo japan rain weather forecast cooking recipe bread flour water salt yeast oven'
).split(' ');
const sentence = (n: number) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
const QUERIES = Array.from({ length: 16 }, () => sentence(6));
const POOL = Array.from({ length: 400 }, () => sentence(20 + Math.floor(random() * 60)));

// The engine behind a recorder: how many calls run now, and when the last one ended.
const model = await CrossEncoder.load(modelPath);
let active = 0;
let lastEnded = 0;
const scorer: Scorer & { readonly state: string } = {
  async score(pairs, options) {
    active++;
    try {
      return await model.score(pairs, options);
    } finally {
      active--;
      lastEnded = performance.now();
    }
  },
  rank: (query, documents, options) => model.rank(query, documents, options),
  get state() {
    return model.state;
  },
};

// Local reference scores for every pair a client can send, and the time of one engine batch (32 pairs).
const reference = new Map<string, number>();
for (const query of QUERIES) {
  const scores = await model.score(POOL.map((text): TextPair => [query, text]));
  POOL.forEach((text, i) => reference.set(`${query}\u0000${text}`, scores[i] as number));
}
const batchStarted = performance.now();
for (let i = 0; i < 5; i++) await model.score(POOL.slice(0, 32).map((text): TextPair => [QUERIES[0] as string, text]));
const batchMs = (performance.now() - batchStarted) / 5;

const server = await RerankServer.start({ scorer, port: 0, requestTimeoutMs: timeoutMs });
const url = `${server.url}/rerank`;

function request(): { query: string; texts: string[] } {
  const query = QUERIES[Math.floor(random() * QUERIES.length)] as string;
  const start = Math.floor(random() * POOL.length);
  return {
    query,
    texts: Array.from({ length: docsPerRequest }, (_, d) => POOL[(start + d * 7) % POOL.length] as string),
  };
}

interface Outcome {
  status: number | 'disconnected' | 'client-timeout' | 'network';
  ms: number;
  wrong: number;
}

// Every request still out, so the end of the load can hang them all up.
const open = new Set<AbortController>();

async function send(hangUpAfterMs: number | undefined): Promise<Outcome> {
  const job = request();
  const controller = new AbortController();
  open.add(controller);
  const timer = hangUpAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), hangUpAfterMs);
  const started = performance.now();
  try {
    const response = await fetch(url, { method: 'POST', body: JSON.stringify(job), signal: controller.signal });
    const body = await response.text();
    let wrong = 0;
    if (response.status === 200) {
      for (const { index, score } of JSON.parse(body) as { index: number; score: number }[]) {
        const expected = reference.get(`${job.query}\u0000${job.texts[index]}`) as number;
        if (!(Math.abs(score - expected) <= 1e-5)) wrong++;
      }
    }
    return { status: response.status, ms: performance.now() - started, wrong };
  } catch {
    const ms = performance.now() - started;
    return { status: controller.signal.aborted ? 'disconnected' : 'network', ms, wrong: 0 };
  } finally {
    clearTimeout(timer);
    open.delete(controller);
  }
}

// Capacity: 16 clients back to back for 15 s; answered requests per second is what the server can do.
async function measureCapacity(): Promise<number> {
  const until = performance.now() + 15_000;
  let answered = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) if ((await send(undefined)).status === 200) answered++;
    }),
  );
  return answered / 15;
}

console.log(`soak: model ${args.model}, ${docsPerRequest} texts per request, server timeout ${timeoutMs} ms`);
const capacity = await measureCapacity();
const rate = capacity * overload;
console.log(`capacity ${capacity.toFixed(1)} req/s; sending ${rate.toFixed(1)} req/s from ${clients} clients`);

const outcomes: Outcome[] = [];
const inFlight = new Set<Promise<void>>();
const endAt = performance.now() + minutes * 60_000;
const warmupAt = performance.now() + Math.min(60_000, (minutes * 60_000) / 10);
let rssStart: number | undefined;
let lastReport = performance.now();

// Open loop: each client sends on its own Poisson schedule whatever the answers, so the offered load stays at twice
// capacity. One request in ten hangs up at a random moment; one in ten gives up before the server's timeout.
async function client(): Promise<void> {
  const perClientRate = rate / clients;
  while (performance.now() < endAt) {
    await sleep(-Math.log(1 - random()) * (1000 / perClientRate));
    if (performance.now() >= endAt) break;
    const dice = random();
    const hangUp = dice < 0.1 ? random() * timeoutMs : dice < 0.2 ? timeoutMs * (0.2 + 0.6 * random()) : undefined;
    const outcome = send(hangUp).then((o) => {
      if (o.status === 'disconnected' && dice >= 0.1 && dice < 0.2) o.status = 'client-timeout';
      outcomes.push(o);
    });
    inFlight.add(outcome);
    void outcome.finally(() => inFlight.delete(outcome));
    if (rssStart === undefined && performance.now() >= warmupAt) rssStart = rss('start');
    if (performance.now() - lastReport > 60_000) {
      lastReport = performance.now();
      console.log(`  ${outcomes.length} answered, rss ${mib(process.memoryUsage().rss)} MiB`);
    }
  }
}
const clientsDone = Promise.all(Array.from({ length: clients }, client));
await sleep(Math.max(0, endAt - performance.now()));

// The load stops: every request still out hangs up, and the engine should go quiet within about one batch.
const stopped = performance.now();
const abortAll = open.size;
const busyAtStop = active;
for (const controller of open) controller.abort();
await clientsDone;
await Promise.race([Promise.all([...inFlight]), sleep(timeoutMs * 2)]);
while (active > 0 && performance.now() - stopped < 60_000) await sleep(5);
const idleAfterMs = Math.max(0, lastEnded - stopped);
await sleep(200);
const rssEnd = rss('end');
await server.close();
await model.dispose();

const count = (status: Outcome['status']) => outcomes.filter((o) => o.status === status).length;
const accepted = outcomes.filter((o) => o.status === 200 || o.status === 503);
const ok = outcomes.filter((o) => o.status === 200);
const quantile = (list: Outcome[], q: number) => {
  const sorted = list.map((o) => o.ms).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
};
const wrong = outcomes.reduce((sum, o) => sum + o.wrong, 0);
const start = rssStart ?? rssEnd;
const drift = ((rssEnd - start) / start) * 100;
const p95 = quantile(accepted, 0.95);
const statuses = [...new Set(outcomes.map((o) => o.status))].sort();

console.log(`
duration         ${minutes} min at ${rate.toFixed(1)} req/s offered (${overload}x a capacity of ${capacity.toFixed(1)} req/s)
requests         ${outcomes.length}: ${statuses.map((s) => `${s} ${count(s)}`).join(', ')}
latency 200      p50 ${quantile(ok, 0.5).toFixed(0)} ms, p95 ${quantile(ok, 0.95).toFixed(0)} ms, max ${quantile(ok, 1).toFixed(0)} ms
latency accepted p95 ${p95.toFixed(0)} ms (200 and 503; server timeout ${timeoutMs} ms)
wrong scores     ${wrong}
rss              after warm-up ${mib(start)} MiB, end ${mib(rssEnd)} MiB (${drift >= 0 ? '+' : ''}${drift.toFixed(1)}%, limit ${maxDrift}%)
engine idle      ${idleAfterMs.toFixed(0)} ms after the load stopped (${abortAll} requests hung up, engine ${busyAtStop ? 'busy' : 'idle'} then); one batch of 32 pairs: ${batchMs.toFixed(0)} ms
heap used        after warm-up ${mib(heapAt.start)} MiB, end ${mib(heapAt.end)} MiB; external ${mib(externalAt.start)} → ${mib(externalAt.end)} MiB
unhandled        ${unhandled}`);

const idleOk = idleAfterMs <= batchMs * 2 + 250;
process.exitCode = unhandled > 0 || wrong > 0 || drift > maxDrift || p95 > timeoutMs * 1.1 || !idleOk ? 1 : 0;
