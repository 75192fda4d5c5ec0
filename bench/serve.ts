// The rerank server under load: requests/s and p50/p95 latency at 1, 8 and 64 concurrent clients, with and
// without micro-batching, alternating in one run; and what RemoteScorer adds over scoring in-process.
// Writes bench/results/serve.{json,md}. Usage: npm run bench:serve [-- --model minilm --docs 20 --requests 48]
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as Package from '../src/index.js';
import { quantile } from './metrics.js';
import { modelDir } from './runners.js';
import { buildWorkloads, ROOT, type WorkItem } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'minilm' },
    variant: { type: 'string', default: 'fp32' },
    threads: { type: 'string', default: '2' },
    docs: { type: 'string', default: '20' },
    requests: { type: 'string', default: '48' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,8,64' },
  },
});
const docs = Number(args.docs);
const rounds = Number(args.rounds);
const levels = args.concurrency.split(',').map(Number);
const { CrossEncoder, RerankServer, RemoteScorer } = (await import(join(ROOT, 'dist', 'index.js'))) as typeof Package;

const workloads = await buildWorkloads(
  { dl19Queries: 12, candidates: [], lengths: [], sweepCalls: 1 },
  modelDir('minilm'),
);
const items = (workloads[0] as { items: WorkItem[] }).items.map((it) => ({
  query: it.query,
  passages: it.passages.slice(0, docs),
}));
const model = await CrossEncoder.load(modelDir(args.model), {
  variant: args.variant as 'fp32' | 'int8',
  threads: Number(args.threads),
});
// No timeouts or 429s in the way: this measures how long requests take, however long that is.
const servers = {
  'micro-batching': await RerankServer.start({
    scorer: model,
    port: 0,
    maxQueuedRequests: 10_000,
    requestTimeoutMs: 600_000,
  }),
  'one call per request': await RerankServer.start({
    scorer: model,
    port: 0,
    microBatch: false,
    maxQueuedRequests: 10_000,
    requestTimeoutMs: 600_000,
  }),
};
const load = () => os.loadavg()[0]?.toFixed(1);

interface Cell {
  setting: string;
  clients: number;
  requests: number;
  seconds: number;
  latenciesMs: number[];
}
const cells = new Map<string, Cell>();

// `clients` loops, each sending its share of `total` requests one after another, as fast as answers come.
async function drive(url: string, clients: number, total: number): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < total) {
        const item = items[next++ % items.length] as { query: string; passages: string[] };
        const t = performance.now();
        const response = await fetch(`${url}/rerank`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: item.query, texts: item.passages }),
        });
        if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
        await response.json();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

const loadBefore = load();
await drive(servers['micro-batching'].url, 4, 8); // warm-up: worker, ORT arenas, connections
for (let round = 0; round < rounds; round++) {
  for (const clients of levels) {
    const total = Math.max(Number(args.requests), clients);
    // Alternate which setting goes first, so drift on a shared machine falls on both.
    const order = Object.entries(servers);
    if (round % 2 === 1) order.reverse();
    for (const [setting, server] of order) {
      const { seconds, latencies } = await drive(server.url, clients, total);
      const key = `${setting}|${clients}`;
      const cell = cells.get(key) ?? { setting, clients, requests: 0, seconds: 0, latenciesMs: [] };
      cell.requests += latencies.length;
      cell.seconds += seconds;
      cell.latenciesMs.push(...latencies);
      cells.set(key, cell);
      console.log(`round ${round + 1} ${setting} x${clients}: ${(latencies.length / seconds).toFixed(1)} req/s`);
    }
  }
}

// RemoteScorer against scoring in-process: sequential calls of `docs` pairs, alternating, same model.
const remote = new RemoteScorer({ url: servers['micro-batching'].url });
const overhead = { inProcessMs: [] as number[], remoteMs: [] as number[] };
for (let i = 0; i < Number(args.requests); i++) {
  const item = items[i % items.length] as { query: string; passages: string[] };
  const pairs = item.passages.map((p) => [item.query, p] as const);
  for (const [name, run] of [
    ['inProcessMs', () => model.score(pairs)],
    ['remoteMs', () => remote.score(pairs)],
  ] as const) {
    const t = performance.now();
    await run();
    overhead[name].push(performance.now() - t);
  }
}
const loadAfter = load();
for (const server of Object.values(servers)) await server.close();
await model.dispose();

const rows = [...cells.values()].map((c) => ({
  setting: c.setting,
  clients: c.clients,
  requestsPerSec: c.requests / c.seconds,
  pairsPerSec: (c.requests * docs) / c.seconds,
  p50Ms: quantile(c.latenciesMs, 0.5),
  p95Ms: quantile(c.latenciesMs, 0.95),
  requests: c.requests,
}));
const p50 = (values: number[]) => quantile(values, 0.5);
const client = {
  inProcessP50Ms: p50(overhead.inProcessMs),
  remoteP50Ms: p50(overhead.remoteMs),
  addedP50Ms: p50(overhead.remoteMs) - p50(overhead.inProcessMs),
  ratio: p50(overhead.remoteMs) / p50(overhead.inProcessMs),
};
const machine = {
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model,
  node: process.version,
  loadAvgBefore: loadBefore,
  loadAvgAfter: loadAfter,
  date: new Date().toISOString(),
};
const settings = {
  model: args.model,
  variant: args.variant,
  threads: Number(args.threads),
  docsPerRequest: docs,
  rounds,
};
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
await writeFile(
  join(ROOT, 'bench', 'results', 'serve.json'),
  JSON.stringify({ machine, settings, rows, client }, null, 2) + '\n',
);
const f = (n: number, d = 1) => n.toFixed(d);
const md = [
  '# Rerank server under load',
  '',
  `\`npm run bench:serve\`, ${machine.date}: ${settings.model} ${settings.variant}, ${settings.threads} ORT threads, ` +
    `${docs} DL19 BM25 candidates per request (real passage lengths), ${rounds} alternating rounds; ` +
    `${machine.cpus} × ${machine.cpu}, Node ${machine.node}; load average ${loadBefore} before, ${loadAfter} after ` +
    '(the machine is shared). Clients are Node fetch loops in the same process as the server (the model computes ' +
    'in its worker thread); each sends its next request when the last one is answered.',
  '',
  '| setting | clients | requests/s | pairs/s | p50 ms | p95 ms | requests |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows
    .sort((a, b) => a.clients - b.clients || a.setting.localeCompare(b.setting))
    .map(
      (r) =>
        `| ${r.setting} | ${r.clients} | ${f(r.requestsPerSec)} | ${f(r.pairsPerSec, 0)} | ${f(r.p50Ms)} | ${f(r.p95Ms)} | ${r.requests} |`,
    ),
  '',
  `RemoteScorer over HTTP to this server against \`CrossEncoder.score\` in-process, ${docs} pairs per call, ` +
    `${overhead.remoteMs.length} sequential calls each, alternating: p50 ${f(client.inProcessP50Ms)} ms in-process, ` +
    `${f(client.remoteP50Ms)} ms remote (+${f(client.addedP50Ms)} ms, ×${f(client.ratio, 2)}).`,
  '',
];
await writeFile(join(ROOT, 'bench', 'results', 'serve.md'), md.join('\n'));
console.log(md.join('\n'));
