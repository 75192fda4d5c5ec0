// One fresh process: load a runner, score one DL19 call (100 candidates), report load-to-first-score time and
// peak RSS. Run by bench/run.ts; prints one JSON line.
import { readFileSync } from 'node:fs';
import type { Workload } from './workloads.js';

const [runnerName, model, variant, threads, workloadFile] = process.argv.slice(2);
const workloads = JSON.parse(readFileSync(workloadFile as string, 'utf8')) as Workload[];
const item = workloads.find((w) => w.key === 'dl19')?.items[0];
if (item === undefined) throw new Error('no dl19 workload');
const start = performance.now();
const { openRunner } = await import('./runners.js');
const runner = await openRunner(runnerName as string, {
  model: model as string,
  variant: variant as 'fp32' | 'int8',
  threads: Number(threads),
  batchSize: 32,
});
await runner.prepare?.([item]);
await runner.rerank(item);
const coldMs = performance.now() - start;
await runner.dispose();
console.log(JSON.stringify({ cold_ms: coldMs, peak_rss_mb: peakRssMb() }));

/**
 * This process's own RSS high-water mark. Not getrusage's maxRSS: Linux carries the parent's peak into a forked
 * child, so a child of a large benchmark process would report the parent's memory.
 */
function peakRssMb(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? process.memoryUsage().rss / 2 ** 20 : Number(kb) / 1024;
}
