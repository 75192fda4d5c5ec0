// 10,000 candidates in one call: peak RSS growth while it runs, and the largest score difference against the
// same pairs scored in calls of 100. Writes bench/results/big-call.{json,md}.
// Usage: tsx bench/big-call.ts [--model tiny] [--variant fp32] [--n 10000] [--threads 2]
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { CrossEncoder as CrossEncoderType } from '../src/scoring/cross-encoder.js';
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

const result = {
  model: args.model,
  variant: args.variant,
  candidates: passages.length,
  seconds: wholeMs / 1000,
  rssBeforeMb: before / 2 ** 20,
  peakRssGrowthMb: (peak - before) / 2 ** 20,
  maxAbsDiffVsChunks: maxDiff,
  chunk,
};
const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
await writeFile(join(out, 'big-call.json'), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(
  join(out, 'big-call.md'),
  [
    `## ${result.candidates.toLocaleString('en')} candidates in one call (${result.model} ${result.variant})`,
    '',
    `One \`score\` call over ${result.candidates} DL19 corpus passages took ${result.seconds.toFixed(1)} s; peak RSS grew by ` +
      `**${result.peakRssGrowthMb.toFixed(0)} MB** over the loaded model (${result.rssBeforeMb.toFixed(0)} MB; target ≤ 300 MB). ` +
      `Largest |Δ logit| against the same pairs scored in calls of ${chunk}: **${result.maxAbsDiffVsChunks.toExponential(1)}** ` +
      '(batches are formed by length within each call, so fp32 rounding may differ in the last bits).',
    '',
  ].join('\n'),
);
console.log(JSON.stringify(result));
