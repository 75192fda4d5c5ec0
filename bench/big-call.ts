// 10,000 candidates in one call: peak RSS growth while it runs, and the largest score difference against the
// same pairs scored in calls of 100. Writes bench/results/big-call.{json,md}.
// Usage: tsx bench/big-call.ts [--model tiny] [--variant fp32] [--n 10000] [--threads 2]
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { CrossEncoder as CrossEncoderType } from '../src/cross-encoder.js';
import { modelDir } from './runners.js';
import { DATA, ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'tiny' },
    variant: { type: 'string', default: 'fp32' },
    n: { type: 'string', default: '10000' },
    threads: { type: 'string', default: '2' },
    chunk: { type: 'string', default: '100' },
  },
});
const n = Number(args.n);
const chunk = Number(args.chunk);

const passages: string[] = [];
const lines = createInterface({ input: createReadStream(join(DATA, 'corpus.jsonl')), crlfDelay: Infinity });
for await (const line of lines) {
  if (passages.length >= n) break;
  if (line.trim() !== '') passages.push((JSON.parse(line) as { text: string }).text);
}
lines.close();
const query = 'what is the daily life of a honey bee colony';

const { CrossEncoder } = (await import(join(ROOT, 'dist', 'index.js'))) as { CrossEncoder: typeof CrossEncoderType };
const model = await CrossEncoder.load(modelDir(args.model as string), {
  variant: args.variant as 'fp32' | 'int8',
  threads: Number(args.threads),
  activation: 'none',
});
await model.score(passages.slice(0, 64).map((p) => [query, p]));
global.gc?.();
const before = process.memoryUsage().rss;
let peak = before;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const t = performance.now();
const whole = await model.score(passages.map((p) => [query, p]));
const wholeMs = performance.now() - t;
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);

let maxDiff = 0;
for (let start = 0; start < passages.length; start += chunk) {
  const part = await model.score(passages.slice(start, start + chunk).map((p) => [query, p]));
  part.forEach((s, i) => (maxDiff = Math.max(maxDiff, Math.abs(s - (whole[start + i] as number)))));
}
await model.dispose();

interface BigCallResult {
  model: string;
  variant: string;
  candidates: number;
  seconds: number;
  rssBeforeMb: number;
  peakRssGrowthMb: number;
  maxAbsDiffVsChunks: number;
  chunk: number;
}
const result: BigCallResult = {
  model: args.model as string,
  variant: args.variant as string,
  candidates: passages.length,
  seconds: wholeMs / 1000,
  rssBeforeMb: before / 2 ** 20,
  peakRssGrowthMb: (peak - before) / 2 ** 20,
  maxAbsDiffVsChunks: maxDiff,
  chunk,
};

// One row per model and variant: a run replaces its own row and keeps the others.
const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
const jsonPath = join(out, 'big-call.json');
const previous = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as unknown) : [];
const rows = (Array.isArray(previous) ? (previous as BigCallResult[]) : []).filter(
  (row) => row.model !== result.model || row.variant !== result.variant,
);
rows.push(result);
rows.sort((a, b) => `${a.model} ${a.variant}`.localeCompare(`${b.model} ${b.variant}`));
await writeFile(jsonPath, `${JSON.stringify(rows, null, 2)}\n`);
await writeFile(
  join(out, 'big-call.md'),
  [
    '## Many candidates in one call',
    '',
    'Measured by `npm run bench:big-call` (`-- --model minilm` for MiniLM): one `score` call over DL19 corpus ' +
      'passages; peak RSS growth over the loaded model (target ≤ 300 MB); the largest |Δ logit| against the same ' +
      'pairs scored in calls of 100 (batches are formed by length within each call, so fp32 rounding may differ in ' +
      'the last bits).',
    '',
    '| model | variant | candidates | seconds | RSS before MB | peak RSS growth MB | max abs Δ vs calls of 100 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.variant} | ${r.candidates.toLocaleString('en')} | ${r.seconds.toFixed(1)} | ` +
        `${r.rssBeforeMb.toFixed(0)} | **${r.peakRssGrowthMb.toFixed(0)}** | ${r.maxAbsDiffVsChunks.toExponential(1)} |`,
    ),
    '',
  ].join('\n'),
);
console.log(JSON.stringify(result));
