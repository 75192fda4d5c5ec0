// Concurrent small calls against one model: what micro-batching across requests could gain at most.
// Compares N concurrent calls of K candidates with one call of N·K candidates (the best a merge could do),
// alternating rounds. Writes bench/results/concurrency.{json,md}.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CrossEncoder as CrossEncoderType } from '../src/cross-encoder.js';
import { median } from './metrics.js';
import { modelDir } from './runners.js';
import { buildWorkloads, ROOT, type WorkItem } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    calls: { type: 'string', default: '8' },
    candidates: { type: 'string', default: '10' },
  },
});
const rounds = Number(args.rounds);
const calls = Number(args.calls);
const k = Number(args.candidates);
const { CrossEncoder } = (await import(join(ROOT, 'dist', 'index.js'))) as { CrossEncoder: typeof CrossEncoderType };
const workloads = await buildWorkloads(
  { dl19Queries: 12, candidates: [], lengths: [], sweepCalls: 1 },
  modelDir('minilm'),
);
const items = (workloads[0] as { items: WorkItem[] }).items.slice(0, calls);
const rows: { model: string; setting: string; medianMs: number; pairsPerSec: number }[] = [];

for (const [model, variant] of [
  ['tiny', 'fp32'],
  ['minilm', 'int8'],
] as const) {
  const ce = await CrossEncoder.load(modelDir(model), { variant, threads: Number(args.threads), activation: 'none' });
  const settings: Record<string, () => Promise<unknown>> = {
    [`${calls} concurrent calls × ${k} candidates`]: () =>
      Promise.all(items.map((it) => ce.rank(it.query, it.passages.slice(0, k)))),
    [`${calls} sequential calls × ${k} candidates`]: async () => {
      for (const it of items) await ce.rank(it.query, it.passages.slice(0, k));
    },
    [`one call × ${calls * k} pairs (merge upper bound)`]: () =>
      ce.score(items.flatMap((it) => it.passages.slice(0, k).map((p): [string, string] => [it.query, p]))),
  };
  const names = Object.keys(settings);
  const times = new Map<string, number[]>();
  for (const name of names) await (settings[name] as () => Promise<unknown>)();
  for (let r = 0; r < rounds; r++) {
    for (const name of [...names.slice(r % names.length), ...names.slice(0, r % names.length)]) {
      const t = performance.now();
      await (settings[name] as () => Promise<unknown>)();
      times.set(name, [...(times.get(name) ?? []), performance.now() - t]);
    }
  }
  for (const name of names) {
    const ms = median(times.get(name) as number[]);
    rows.push({ model: `${model} ${variant}`, setting: name, medianMs: ms, pairsPerSec: (calls * k) / (ms / 1000) });
  }
  await ce.dispose();
}

const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'concurrency.json'), `${JSON.stringify({ loadAverage: os.loadavg(), rows }, null, 2)}\n`);
const md = [
  '## Concurrent small calls (micro-batching headroom)',
  '',
  `\`tsx bench/concurrency.ts\`: ${rounds} alternating rounds, medians; load average at the end ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join('/')}.`,
  '',
  '| model | setting | median ms | pairs/s |',
  '| --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.model} | ${r.setting} | ${r.medianMs.toFixed(1)} | ${r.pairsPerSec.toFixed(0)} |`),
  '',
].join('\n');
await writeFile(join(out, 'concurrency.md'), md);
console.log(md);
