// A reranker on a language model at real size: random weights in Qwen3-Reranker-0.6B's shape
// (tools/decoder_speed_model.py writes models/qwen3-0.6b-shape), on DL19 BM25 candidates. Ours (CrossEncoder in its
// worker, as users run it) against the raw ONNX Runtime floor: the same prompts tokenized and the same batches laid
// out as tensors before timing, only session.run timed. Alternates the two per query; reports pairs/s, prompt
// tokens/s, the ratio, the largest event-loop delay while ours scores, and the process's peak resident memory.
// Writes bench/results/decoder-speed.{json,md} (decoder-speed-int8.* with --variant int8).
// Usage: tsx bench/decoder-speed.ts [--model qwen3-0.6b-shape] [--variant fp32|int8] [--queries 2] [--candidates 8] [--max-length 256] [--threads 2]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CrossEncoder } from '../src/index.js';
import { buildDecoderFeeds, openDecoderSession, runDecoder } from '../src/engine/decoder-session.js';
import { planBatches } from '../src/tokenize/batches.js';
import { loadDl19, ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'qwen3-0.6b-shape' },
    queries: { type: 'string', default: '2' },
    candidates: { type: 'string', default: '8' },
    'max-length': { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'fp32' },
  },
});
const variant = args.variant === 'int8' ? 'int8' : 'fp32';
const onnxFile = variant === 'int8' ? 'model_quantized.onnx' : 'model.onnx';
const dir = join(ROOT, 'models', args.model as string);
const threads = Number(args.threads);
const maxLength = Number(args['max-length']);
const log = (m: string) => process.stderr.write(`[decoder-speed] ${m}\n`);

const items = (await loadDl19())
  .slice(0, Number(args.queries))
  .map((item) => ({ ...item, passages: item.passages.slice(0, Number(args.candidates)) }));
const model = await CrossEncoder.load(dir, { maxLength, threads, activation: 'none', variant });
const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
const graph = await openDecoderSession(
  { onnx: join(dir, 'onnx', onnxFile) },
  { threads },
  { heads: config['num_key_value_heads'], headDim: config['head_dim'] },
);
log(`loaded ${args.model}: maxLength ${model.info.maxLength}, maxBatchTokens ${model.info.maxBatchTokens}`);

// The floor's input: ours's own prompt ids and batch plan, laid out before timing.
const prepared = await Promise.all(
  items.map(async (item) => {
    const rows = await Promise.all(item.passages.map((p) => model.encode(item.query, p)));
    const batches = planBatches(
      rows.map((r) => r.ids.length),
      32,
      model.info.maxBatchTokens,
    );
    const tokens = rows.reduce((n, r) => n + r.ids.length, 0);
    return { tokens, feeds: batches.map((b) => buildDecoderFeeds(rows, b, graph, 0)) };
  }),
);

const totals = { ours: { ms: 0, pairs: 0, tokens: 0 }, floor: { ms: 0, pairs: 0, tokens: 0 } };
let maxDelayMs = 0;
for (const [q, item] of items.entries()) {
  for (const which of q % 2 === 0 ? (['ours', 'floor'] as const) : (['floor', 'ours'] as const)) {
    const t = performance.now();
    if (which === 'ours') {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      await model.rank(item.query, item.passages);
      histogram.disable();
      maxDelayMs = Math.max(maxDelayMs, histogram.max / 1e6);
    } else {
      for (const feeds of (prepared[q] as (typeof prepared)[number]).feeds) await runDecoder(graph, feeds);
    }
    const ms = performance.now() - t;
    totals[which].ms += ms;
    totals[which].pairs += item.passages.length;
    totals[which].tokens += (prepared[q] as (typeof prepared)[number]).tokens;
    log(`query ${q + 1}/${items.length} ${which}: ${item.passages.length} pairs in ${(ms / 1000).toFixed(1)} s`);
  }
}
await model.dispose();
await graph.session.release();

const rate = (t: { ms: number; pairs: number; tokens: number }) => ({
  pairsPerSec: t.pairs / (t.ms / 1000),
  tokensPerSec: t.tokens / (t.ms / 1000),
});
const result = {
  model: args.model,
  variant,
  shape: {
    layers: config['num_hidden_layers'],
    hidden: config['hidden_size'],
    vocabulary: config['vocab_size'],
  },
  queries: items.length,
  candidates: Number(args.candidates),
  maxLength,
  threads,
  meanPromptTokens: totals.ours.tokens / totals.ours.pairs,
  ours: rate(totals.ours),
  floor: rate(totals.floor),
  oursOverFloorTime: totals.ours.ms / totals.floor.ms,
  maxEventLoopDelayMs: maxDelayMs,
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  loadavg: loadavg(),
  node: process.version,
};
log(JSON.stringify(result));
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
const file = `decoder-speed${variant === 'int8' ? '-int8' : ''}`;
await writeFile(join(ROOT, 'bench', 'results', `${file}.json`), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(
  join(ROOT, 'bench', 'results', `${file}.md`),
  [
    `# ${args.model} (${variant}): ${result.shape.layers} layers, hidden ${result.shape.hidden}, vocabulary ${result.shape.vocabulary}`,
    '',
    `DL19 BM25, ${items.length} queries x ${result.candidates} candidates, maxLength ${maxLength}, ${threads} threads, ` +
      `mean prompt ${result.meanPromptTokens.toFixed(0)} tokens, load average ${result.loadavg.map((x) => x.toFixed(1)).join(' ')}.`,
    '',
    '| runner | pairs/s | prompt tokens/s |',
    '| --- | --- | --- |',
    `| ours (worker) | ${result.ours.pairsPerSec.toFixed(2)} | ${result.ours.tokensPerSec.toFixed(0)} |`,
    `| raw ONNX Runtime floor | ${result.floor.pairsPerSec.toFixed(2)} | ${result.floor.tokensPerSec.toFixed(0)} |`,
    '',
    `Ours takes ${result.oursOverFloorTime.toFixed(2)}x the floor's time; largest event-loop delay while ours scored ` +
      `${result.maxEventLoopDelayMs.toFixed(1)} ms; peak resident memory ${result.peakRssMiB.toFixed(0)} MiB.`,
    '',
  ].join('\n'),
);
