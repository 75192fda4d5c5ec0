// A reranker on a language model at real size: random weights in Qwen3-Reranker-0.6B's shape
// (tools/decoder_speed_model.py writes models-big/qwen3-0.6b-shape), on DL19 BM25 candidates. Ours (CrossEncoder in
// its worker, as users run it) and its peers against the raw ONNX Runtime floor, which is in every run: the same
// prompts tokenized and the same batches laid out as tensors before timing, only session.run timed. The peers
// (bench/decoder-peers.ts): transformers.js by hand on the same ONNX file, and with --gguf node-llama-cpp's ranking
// context on the same weights in GGUF Q8_0 and F16 (tools/gguf_export.py). Runners take turns per query, the order
// rotating. `--runners ours-gguf` adds ours on the GGUF Q8_0 weights (`ggufFile`: llama.cpp in the worker, on the
// prompts ours builds), timed as ours is. Reports pairs/s, prompt tokens/s, each runner's time over the floor's, its largest |score - ours| (as
// probabilities), the largest event-loop delay while each of ours's engines scores, and the process's peak resident memory. Each fp32
// session holds about 3 GB, so groups run as separate processes (--runners), each with its own floor.
// node-llama-cpp runs ours's prompt ids (--gguf-prompt ours) or its own template on the texts (own; untruncated,
// so compare prompt tokens/s). Writes bench/results/decoder-speed[-int8][-gguf|-gguf-own].{json,md}.
// Usage: tsx bench/decoder-speed.ts [--model qwen3-0.6b-shape] [--variant fp32|int8] [--runners ours,ours-gguf,transformers.js]
//          [--gguf [--gguf-prompt ours|own]] [--queries 2] [--candidates 8] [--max-length 256] [--threads 2]
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CrossEncoder } from '../src/index.js';
import { buildDecoderFeeds, openDecoderSession, runDecoder } from '../src/engine/decoder-session.js';
import { planBatches } from '../src/tokenize/batches.js';
import { openLlamaRanking, openTransformersJsDecoder, type DecoderPeer, type PeerConfig } from './decoder-peers.js';
import { loadDl19, ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'qwen3-0.6b-shape' },
    queries: { type: 'string', default: '2' },
    candidates: { type: 'string', default: '8' },
    'max-length': { type: 'string', default: '256' },
    threads: { type: 'string', default: '2' },
    variant: { type: 'string', default: 'fp32' },
    runners: { type: 'string', default: 'ours,transformers.js' },
    gguf: { type: 'boolean', default: false },
    'gguf-prompt': { type: 'string', default: 'ours' },
  },
});
const variant = args.variant === 'int8' ? 'int8' : 'fp32';
const onnxFile = variant === 'int8' ? 'model_quantized.onnx' : 'model.onnx';
// Large models are built outside the shared test-model folder.
const dir = [join(ROOT, 'models-big', args.model as string), join(ROOT, 'models', args.model as string)].find((d) =>
  existsSync(join(d, 'config.json')),
);
if (dir === undefined) throw new Error(`no models-big/${args.model} or models/${args.model}: see bench/README.md`);
// tools/gguf_export.py writes the GGUF files into the model's own folder, where `ggufFile` finds them.
const ggufDir = join(dir, 'gguf');
const threads = Number(args.threads);
const maxLength = Number(args['max-length']);
const wanted = new Set((args.runners as string).split(',').filter((name) => name !== ''));
const log = (m: string) => process.stderr.write(`[decoder-speed] ${m}\n`);

const items = (await loadDl19())
  .slice(0, Number(args.queries))
  .map((item) => ({ ...item, passages: item.passages.slice(0, Number(args.candidates)) }));
// Ours prepares every runner's prompt ids, so it is loaded even when it is not timed.
const model = await CrossEncoder.load(dir, { maxLength, threads, activation: 'none', variant });
const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
// The floor runs the graph as exported (no cut: full-vocabulary logits at every position, every prompt whole), in
// batches capped as the engine capped such a graph (64 Mi output floats per pass).
const graph = await openDecoderSession(
  { onnx: join(dir, 'onnx', onnxFile) },
  { threads },
  { heads: config['num_key_value_heads'], headDim: config['head_dim'] },
);
const logitScore = JSON.parse(await readFile(join(dir, '1_LogitScore', 'config.json'), 'utf8')) as Record<
  string,
  number
>;
const answer = { yes: logitScore['true_token_id'] as number, no: logitScore['false_token_id'] as number };
const floorBatchTokens = Math.max(1, Math.floor((64 * 1024 * 1024) / (config['vocab_size'] as number)));
log(`loaded ${args.model}: maxLength ${model.info.maxLength}, maxBatchTokens ${model.info.maxBatchTokens}`);
const peerConfig: PeerConfig = {
  dir,
  variant,
  threads,
  maxLength,
  batchSize: 32,
  maxBatchTokens: model.info.maxBatchTokens,
};
// Ours on the GGUF Q8_0 weights (`ggufFile`, llama.cpp in the worker), timed like ours on ONNX.
const oursGguf = wanted.has('ours-gguf')
  ? await CrossEncoder.load(dir, { maxLength, threads, activation: 'none', ggufFile: 'gguf/model-q8_0.gguf' })
  : undefined;
const engines = new Map<string, CrossEncoder>([
  ...(wanted.has('ours') ? [['ours', model] as const] : []),
  ...(oursGguf === undefined ? [] : [['ours-gguf', oursGguf] as const]),
]);
const peers: DecoderPeer[] = [];
if (wanted.has('transformers.js')) peers.push(await openTransformersJsDecoder(peerConfig));
if (args.gguf)
  for (const format of ['q8_0', 'f16'])
    peers.push(
      await openLlamaRanking({
        ...peerConfig,
        gguf: join(ggufDir, `model-${format}.gguf`),
        label: format.toUpperCase(),
        prompt: args['gguf-prompt'] === 'own' ? 'own' : 'ours',
      }),
    );
log(`runners: ${['floor', ...engines.keys(), ...peers.map((p) => p.name)].join(', ')}`);

// The floor's input: ours's own prompt ids and batch plan, laid out before timing.
const prepared = await Promise.all(
  items.map(async (item) => {
    const rows = await Promise.all(item.passages.map((p) => model.encode(item.query, p)));
    const batches = planBatches(
      rows.map((r) => r.ids.length),
      32,
      floorBatchTokens,
    );
    const tokens = rows.reduce((n, r) => n + r.ids.length, 0);
    return {
      rows,
      tokens,
      batches,
      feeds: batches.map((b) =>
        buildDecoderFeeds(
          b.map((i) => (rows[i] as (typeof rows)[number]).ids),
          graph,
          0,
        ),
      ),
    };
  }),
);

interface Total {
  ms: number;
  pairs: number;
  tokens: number;
  /** Largest |probability - ours's| over the pairs, and how many pairs had ours's exact prompt ids. */
  maxDiff: number;
  sameIds: number;
}
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const names = ['floor', ...engines.keys(), ...peers.map((p) => p.name)];
const totals = new Map<string, Total>(names.map((n) => [n, { ms: 0, pairs: 0, tokens: 0, maxDiff: 0, sameIds: 0 }]));
// One untimed pair per runner first: sessions, arenas and llama.cpp's context allocate on their first call.
{
  const item = items[0] as (typeof items)[number];
  const prep = prepared[0] as (typeof prepared)[number];
  await runDecoder(graph, prep.feeds[0] as (typeof prep.feeds)[number]);
  for (const engine of engines.values()) await engine.rank(item.query, item.passages.slice(0, 1));
  for (const peer of peers) await peer.score(item.query, item.passages.slice(0, 1), prep.rows.slice(0, 1));
}
// The largest event-loop delay while each of ours's engines scored.
const maxDelay = new Map<string, number>();
for (const [q, item] of items.entries()) {
  const prep = prepared[q] as (typeof prepared)[number];
  const peerScores = new Map<string, { probabilities: number[]; ids: readonly (readonly number[])[] }>();
  // Ours's scores on these pairs, for the peers to be compared with (from the timed run when ours is timed).
  let oursScores: number[] | undefined;
  const order = names.map((_, k) => names[(k + q) % names.length] as string);
  for (const name of order) {
    const total = totals.get(name) as Total;
    let tokens = prep.tokens;
    const t = performance.now();
    const engine = engines.get(name);
    if (engine !== undefined) {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      histogram.enable();
      const ranked = await engine.rank(item.query, item.passages);
      histogram.disable();
      maxDelay.set(name, Math.max(maxDelay.get(name) ?? 0, histogram.max / 1e6));
      const scores = new Array<number>(item.passages.length);
      for (const r of ranked) scores[r.index] = sigmoid(r.score);
      if (name === 'ours') oursScores = scores;
      else peerScores.set(name, { probabilities: scores, ids: prep.rows.map((r) => r.ids) });
    } else if (name === 'floor') {
      const outputs = [];
      for (const feeds of prep.feeds) outputs.push(await runDecoder(graph, feeds));
      // yes - no at the last position, read after timing, so the floor's scores can be held to ours.
      const probabilities = new Array<number>(item.passages.length);
      outputs.forEach((out, b) => {
        const [rows, width, vocabulary] = out.dims as [number, number, number];
        (prep.batches[b] as number[]).forEach((pair, row) => {
          const last = (row * width + width - 1) * vocabulary;
          probabilities[pair] = sigmoid(
            (out.data[last + answer.yes] as number) - (out.data[last + answer.no] as number),
          );
        });
        void rows;
      });
      peerScores.set(name, { probabilities, ids: prep.rows.map((r) => r.ids) });
    } else {
      const peer = peers.find((p) => p.name === name) as DecoderPeer;
      const out = await peer.score(item.query, item.passages, prep.rows);
      tokens = out.tokens;
      peerScores.set(name, out);
    }
    const ms = performance.now() - t;
    total.ms += ms;
    total.pairs += item.passages.length;
    total.tokens += tokens;
    log(`query ${q + 1}/${items.length} ${name}: ${item.passages.length} pairs in ${(ms / 1000).toFixed(1)} s`);
  }
  // Agreement with ours, once every runner has scored this query.
  oursScores ??= (await model.score(item.passages.map((p): [string, string] => [item.query, p]))).map(sigmoid);
  for (const [name, out] of peerScores) {
    const total = totals.get(name) as Total;
    out.probabilities.forEach((p, i) => {
      total.maxDiff = Math.max(total.maxDiff, Math.abs(p - ((oursScores as number[])[i] as number)));
      const mine = out.ids[i] ?? [];
      const theirs = (prep.rows[i] as { ids: readonly number[] }).ids;
      if (mine.length === theirs.length && mine.every((id, k) => id === theirs[k])) total.sameIds++;
    });
  }
}
await model.dispose();
await oursGguf?.dispose();
await graph.session.release();
for (const peer of peers) await peer.dispose();

const floor = totals.get('floor') as Total;
const runners = names.map((name) => {
  const t = totals.get(name) as Total;
  const peer = name !== 'ours';
  return {
    name,
    pairsPerSec: t.pairs / (t.ms / 1000),
    tokensPerSec: t.tokens / (t.ms / 1000),
    meanPromptTokens: t.tokens / t.pairs,
    overFloorTime: t.ms / floor.ms,
    ...(peer ? { maxAbsDiffToOurs: t.maxDiff, sameIdsAsOurs: `${t.sameIds}/${t.pairs}` } : {}),
  };
});
const result = {
  model: args.model,
  variant,
  gguf: args.gguf,
  shape: {
    layers: config['num_hidden_layers'],
    hidden: config['hidden_size'],
    vocabulary: config['vocab_size'],
  },
  queries: items.length,
  candidates: Number(args.candidates),
  maxLength,
  threads,
  runners,
  maxEventLoopDelayMs: Object.fromEntries(maxDelay),
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  loadavg: loadavg(),
  node: process.version,
};
log(JSON.stringify(result));
const RUNNER_LABELS: Record<string, string> = {
  floor: `raw ONNX Runtime floor (${variant}, graph as exported)`,
  ours: `ours (worker, ${variant})`,
  'ours-gguf': 'ours (worker, GGUF Q8_0 through llama.cpp)',
};
await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
const ggufFile = args['gguf-prompt'] === 'own' ? '-gguf-own' : '-gguf';
const file = `decoder-speed${variant === 'int8' ? '-int8' : ''}${args.gguf ? ggufFile : ''}`;
await writeFile(join(ROOT, 'bench', 'results', `${file}.json`), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(
  join(ROOT, 'bench', 'results', `${file}.md`),
  [
    `# ${args.model} (${variant}${args.gguf ? ', GGUF' : ''}): ${result.shape.layers} layers, hidden ${result.shape.hidden}, vocabulary ${result.shape.vocabulary}`,
    '',
    `DL19 BM25, ${items.length} queries x ${result.candidates} candidates, maxLength ${maxLength}, ${threads} threads, ` +
      `load average ${result.loadavg.map((x) => x.toFixed(1)).join(' ')}; runners interleaved per query.`,
    '',
    '| runner | pairs/s | prompt tokens/s | mean prompt tokens | time / floor | pairs/s over floor | max abs diff to ours (probability) | prompt ids as ours |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...runners.map(
      (r) =>
        `| ${RUNNER_LABELS[r.name] ?? r.name} | ` +
        `${r.pairsPerSec.toFixed(2)} | ${r.tokensPerSec.toFixed(0)} | ${r.meanPromptTokens.toFixed(0)} | ` +
        `${r.overFloorTime.toFixed(2)}x | ${(1 / r.overFloorTime).toFixed(2)}x | ${r.maxAbsDiffToOurs === undefined ? '' : r.maxAbsDiffToOurs.toExponential(1)} | ` +
        `${r.sameIdsAsOurs ?? ''} |`,
    ),
    '',
    [...maxDelay]
      .map(([name, ms]) => `Largest event-loop delay while ${RUNNER_LABELS[name]} scored ${ms.toFixed(1)} ms; `)
      .join('') + `peak resident memory of the process (all runners) ${result.peakRssMiB.toFixed(0)} MiB.`,
    '',
  ].join('\n'),
);
