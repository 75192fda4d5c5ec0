// The event loop while reranks run: the largest delay of each 100-candidate DL19 call, by how the scoring runs
// (worker thread at the caller's priority, the default; worker at nice 10; inline), alternating in one invocation.
// Writes bench/results/event-loop.{json,md}.
// Usage: tsx bench/event-loop.ts [--models tiny,ce-minilm-l6-ict] [--variants fp32,int8] [--queries 15] [--rounds 2] [--threads 2]
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { median, quantile } from './metrics.js';
import { openOurs, type Runner, type Variant } from './runners.js';
import { loadDl19, ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,ce-minilm-l6-ict' },
    variants: { type: 'string', default: 'fp32,int8' },
    queries: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
  },
});
const threads = Number(args.threads);
const rounds = Number(args.rounds);
const log = (m: string) => process.stderr.write(`[event-loop] ${m}\n`);

const SETTINGS: { name: string; options: { worker: boolean; workerNice?: number } }[] = [
  { name: 'worker (default, nice 0)', options: { worker: true } },
  { name: 'worker, workerNice 10', options: { worker: true, workerNice: 10 } },
  { name: 'inline (worker: false)', options: { worker: false } },
];

interface Row {
  model: string;
  variant: Variant;
  setting: string;
  calls: number;
  maxMs: number;
  p95Ms: number;
  medianMs: number;
  pairsPerSec: number;
}

const items = (await loadDl19()).slice(0, Number(args.queries));
const rows: Row[] = [];
for (const model of (args.models as string).split(',')) {
  for (const variant of (args.variants as string).split(',') as Variant[]) {
    const runners: Runner[] = [];
    for (const s of SETTINGS) runners.push(await openOurs({ model, variant, threads, batchSize: 32 }, s.options));
    for (const r of runners) await r.rerank(items[0]!); // warm-up
    const delays = SETTINGS.map(() => [] as number[]);
    const busyMs = SETTINGS.map(() => 0);
    for (let round = 0; round < rounds; round++) {
      for (const [q, item] of items.entries()) {
        // Rotate which setting goes first, so drift on a shared machine spreads over all of them.
        for (let k = 0; k < runners.length; k++) {
          const i = (k + round + q) % runners.length;
          const histogram = monitorEventLoopDelay({ resolution: 1 });
          histogram.enable();
          const t = performance.now();
          await runners[i]!.rerank(item);
          busyMs[i]! += performance.now() - t;
          histogram.disable();
          delays[i]!.push(histogram.max / 1e6);
        }
      }
    }
    for (const r of runners) await r.dispose();
    const pairs = rounds * items.reduce((n, it) => n + it.passages.length, 0);
    SETTINGS.forEach((s, i) => {
      const d = delays[i]!;
      const row: Row = {
        model,
        variant,
        setting: s.name,
        calls: d.length,
        maxMs: Math.max(...d),
        p95Ms: quantile(d, 0.95),
        medianMs: median(d),
        pairsPerSec: pairs / (busyMs[i]! / 1000),
      };
      rows.push(row);
      log(
        `${model} ${variant} ${s.name}: max ${row.maxMs.toFixed(1)} ms, p95 ${row.p95Ms.toFixed(1)}, median ${row.medianMs.toFixed(1)}, ${row.pairsPerSec.toFixed(0)} pairs/s`,
      );
    });
  }
}

const meta = { date: new Date().toISOString(), threads, rounds, queries: items.length, loadAverage: loadavg() };
const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'event-loop.json'), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
const f = (x: number) => x.toFixed(1);
const md = [
  '## Event loop during a rerank, by how scoring runs',
  '',
  `Measured by \`tsx bench/event-loop.ts\`: the largest event-loop delay (\`monitorEventLoopDelay\`, 1 ms resolution) ` +
    `during each 100-candidate DL19 rerank, ${items.length} queries x ${rounds} rounds per setting, settings ` +
    `alternating; ${threads} intra-op threads; load average at the end ${meta.loadAverage.map((x) => x.toFixed(1)).join(' / ')}.`,
  '',
  '| model | variant | scoring runs | calls | max delay ms | p95 of per-call max | median of per-call max | pairs/s |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.variant} | ${r.setting} | ${r.calls} | ${f(r.maxMs)} | ${f(r.p95Ms)} | ${f(r.medianMs)} | ${r.pairsPerSec.toFixed(0)} |`,
  ),
  '',
].join('\n');
await writeFile(join(out, 'event-loop.md'), md);
log(`wrote ${join(out, 'event-loop.md')}`);
