// The event loop while a reranker on a language model scores at real size (random weights in Qwen3-Reranker-0.6B's
// shape, models-big/qwen3-0.6b-shape; see bench/README.md): the largest delay and its 99th percentile during one
// DL19 call of 6 candidates, for ONNX fp32 in the worker at the caller's priority and at `workerNice: 10`, and GGUF
// Q8_0 (llama.cpp) in the worker. A process that does nothing else, unlike bench/decoder-speed.ts, whose process also
// holds the floor's session. Writes bench/results/decoder-event-loop.md.
// Usage: npx tsx bench/decoder-event-loop.ts [--rounds 2] [--threads 2]
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CrossEncoder } from '../src/index.js';
import { loadDl19, ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' } },
});
const threads = Number(args.threads);
const dir = join(ROOT, 'models-big', 'qwen3-0.6b-shape');
const item = (await loadDl19())[1] as { query: string; passages: string[] };
const docs = item.passages.slice(0, 6);
const common = { maxLength: 256, threads };
const engines: [string, CrossEncoder][] = [
  ["ONNX fp32, worker at the caller's priority", await CrossEncoder.load(dir, common)],
  ['ONNX fp32, `workerNice: 10`', await CrossEncoder.load(dir, { ...common, workerNice: 10 })],
  ['GGUF Q8_0 (llama.cpp), worker', await CrossEncoder.load(dir, { ...common, ggufFile: 'gguf/model-q8_0.gguf' })],
];
for (const [, engine] of engines) await engine.rank(item.query, docs.slice(0, 1));
const rows: string[] = [];
for (let round = 0; round < Number(args.rounds); round++) {
  for (const [name, engine] of engines) {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const started = performance.now();
    await engine.rank(item.query, docs);
    histogram.disable();
    const row = `| ${round + 1} | ${name} | ${(histogram.max / 1e6).toFixed(1)} | ${(histogram.percentile(99) / 1e6).toFixed(1)} | ${((performance.now() - started) / 1000).toFixed(1)} |`;
    process.stderr.write(`${row}\n`);
    rows.push(row);
  }
}
for (const [, engine] of engines) await engine.dispose();
await writeFile(
  join(ROOT, 'bench', 'results', 'decoder-event-loop.md'),
  [
    '# Event loop while a 0.6B-shape reranker on a language model scores',
    '',
    `DL19, one query x ${docs.length} candidates per call, maxLength 256, ${threads} threads, load average ` +
      `${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}, Node ${process.version}.`,
    '',
    '| round | engine | largest delay (ms) | p99 (ms) | call (s) |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n'),
);
