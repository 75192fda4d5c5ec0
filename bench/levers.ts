// Each optimisation lever measured on its own, alternating rounds in one invocation. Writes
// bench/results/levers.{json,md}. Usage: tsx bench/levers.ts [--rounds 3] [--threads 2] [--quick]
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import type { CrossEncoder as CrossEncoderType } from '../src/cross-encoder.js';
import { buildFeeds, type FeedLayout } from '../src/engine/feeds.js';
import { planBatches } from '../src/tokenize/batches.js';
import type { AssembledPair } from '../src/tokenize/pair-template.js';
import { openPairTokenizer } from '../src/engine/model-files.js';
import { median } from './metrics.js';
import { modelDir, onnxFile, type Variant } from './runners.js';
import { buildWorkloads, ROOT, type WorkItem } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
  },
});
const rounds = Number(args.rounds);
const threads = Number(args.threads);
const lib = (await import(join(ROOT, 'dist', 'index.js'))) as { CrossEncoder: typeof CrossEncoderType };

interface Row {
  lever: string;
  setting: string;
  model: string;
  scope: string;
  medianMs: number;
  pairsPerSec: number;
}
const rows: Row[] = [];
const log = (m: string) => process.stderr.write(`[levers] ${m}\n`);

/** Runs `candidates` in alternating rounds and records the median time of each. */
async function alternate(
  lever: string,
  model: string,
  scope: string,
  pairs: number,
  candidates: Record<string, () => Promise<void>>,
): Promise<void> {
  const times = new Map<string, number[]>();
  const names = Object.keys(candidates);
  for (const name of names) await (candidates[name] as () => Promise<void>)();
  for (let round = 0; round < rounds; round++) {
    const order = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
    for (const name of order) {
      const t = performance.now();
      await (candidates[name] as () => Promise<void>)();
      times.set(name, [...(times.get(name) ?? []), performance.now() - t]);
    }
  }
  for (const name of names) {
    const ms = median(times.get(name) as number[]);
    rows.push({ lever, setting: name, model, scope, medianMs: ms, pairsPerSec: pairs / (ms / 1000) });
    log(`${lever} ${model} ${name}: ${ms.toFixed(1)} ms`);
  }
}

const workloads = await buildWorkloads(
  { dl19Queries: 12, candidates: [], lengths: [], sweepCalls: 1 },
  modelDir('ce-minilm-l6-ict'),
);
const dl19 = (workloads[0] as { items: WorkItem[] }).items;
const configs: { model: string; variant: Variant; items: WorkItem[] }[] = [
  { model: 'tiny', variant: 'fp32', items: dl19.slice(0, args.quick ? 2 : 6) },
  { model: 'ce-minilm-l6-ict', variant: 'fp32', items: dl19.slice(0, args.quick ? 1 : 2) },
  { model: 'ce-minilm-l6-ict', variant: 'int8', items: dl19.slice(0, 1) },
];

for (const { model, variant, items } of configs) {
  const pairs = items.reduce((n, it) => n + it.passages.length, 0);
  const label = `${model} ${variant}`;
  const rerankAll = (m: CrossEncoderType) => async () => {
    for (const it of items) await m.rank(it.query, it.passages);
  };

  // End to end through the library: each setting loads its own model, settings alternate, then all are freed.
  const compareSettings = async (lever: string, settings: Record<string, Record<string, unknown>>) => {
    const models: Record<string, CrossEncoderType> = {};
    for (const [name, options] of Object.entries(settings)) {
      models[name] = await lib.CrossEncoder.load(modelDir(model), { variant, activation: 'none', ...options });
    }
    await alternate(
      lever,
      label,
      `${pairs} DL19 pairs`,
      pairs,
      Object.fromEntries(Object.entries(models).map(([k, m]) => [k, rerankAll(m)])),
    );
    for (const m of Object.values(models)) await m.dispose();
  };

  // Batching: the padded-token budget per pass against fixed batches of 32 pairs (32 x 512 tokens never binds).
  await compareSettings(
    'batching (end to end, at most 32 pairs per pass)',
    Object.fromEntries(
      [16_384, 4096, 2048, 1024, 512].map((tokens) => [
        tokens === 16_384 ? 'fixed batches of 32 pairs' : `maxBatchTokens ${tokens}`,
        { threads, maxBatchTokens: tokens },
      ]),
    ),
  );

  // Spinning, threads, worker.
  await compareSettings('session and backend (end to end)', {
    'spinning off, 2 threads (new default)': { threads },
    'spinning on (ORT default)': { threads, ortOptions: { extra: { session: { intra_op: { allow_spinning: '1' } } } } },
    '1 thread': { threads: 1 },
    'threads unset (ORT default: physical cores)': {},
    'inline (worker: false)': { threads, worker: false },
  });

  // Raw session options on pre-built feeds (inference alone).
  const dir = modelDir(model);
  const tokenizer = await openPairTokenizer({
    tokenizerJson: join(dir, 'tokenizer.json'),
    tokenizerConfig: join(dir, 'tokenizer_config.json'),
  });
  const layout: FeedLayout = {
    Tensor: ort.Tensor,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
    int32: false,
    padId: 0,
  };
  const feeds: Record<string, ort.Tensor>[] = [];
  for (const it of items) {
    const enc = await tokenizer.encodePairs(
      it.passages.map((p) => [it.query, p] as const),
      512,
      'longest_first',
    );
    for (const b of planBatches(
      enc.map((e) => e.ids.length),
      32,
    ))
      feeds.push(buildFeeds(enc, b, layout));
  }
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  const sessionOptions: Record<string, ort.InferenceSession.SessionOptions> = {
    'graph all, arena on (default)': base,
    'graph extended': { ...base, graphOptimizationLevel: 'extended' },
    'graph basic': { ...base, graphOptimizationLevel: 'basic' },
    'memory arena off': { ...base, enableCpuMemArena: false },
    'executionMode parallel': { ...base, executionMode: 'parallel' },
  };
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const [k, o] of Object.entries(sessionOptions)) {
    sessions[k] = await ort.InferenceSession.create(join(dir, onnxFile(variant)), o);
  }
  await alternate(
    'session options (session.run only)',
    label,
    `${pairs} DL19 pairs`,
    pairs,
    Object.fromEntries(
      Object.entries(sessions).map(([k, s]) => [
        k,
        async () => {
          for (const f of feeds) await s.run(f);
        },
      ]),
    ),
  );
  for (const s of Object.values(sessions)) await s.release();
}

// CPU-side pieces. The tokenizer: the general Hugging Face tokenizer for every text, the fast WordPiece path, and
// the fast path with the query encoded once per call (the engine). Int64 feeds written as int32 words into a
// BigInt64Array buffer instead of one BigInt per element (the engine's layout): it did not pay (see the notes), so
// it is not in src/.
{
  const dir = modelDir('tiny');
  const files = { tokenizerJson: join(dir, 'tokenizer.json'), tokenizerConfig: join(dir, 'tokenizer_config.json') };
  const tokenizer = await openPairTokenizer(files);
  const general = await openPairTokenizer(files, { fastPath: false });
  const items = dl19.slice(0, 6);
  const pairs = items.reduce((n, it) => n + it.passages.length, 0);
  await alternate('tokenizer', 'any (BERT WordPiece)', `${pairs} DL19 pairs`, pairs, {
    'general tokenizer, every text': async () => {
      for (const it of items) for (const p of it.passages) await general.encodePair(it.query, p, 512, 'longest_first');
    },
    'fast WordPiece path, query once per pair': async () => {
      for (const it of items)
        for (const p of it.passages) await tokenizer.encodePair(it.query, p, 512, 'longest_first');
    },
    'fast WordPiece path, query once per call (engine)': async () => {
      for (const it of items) {
        await tokenizer.encodePairs(
          it.passages.map((p) => [it.query, p] as const),
          512,
          'longest_first',
        );
      }
    },
  });
  const encoded: AssembledPair[] = [];
  for (const it of items)
    for (const p of it.passages) encoded.push(await tokenizer.encodePair(it.query, p, 512, 'longest_first'));
  const batches = planBatches(
    encoded.map((e) => e.ids.length),
    32,
  );
  const layout: FeedLayout = {
    Tensor: ort.Tensor,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
    int32: false,
    padId: 0,
  };
  await alternate('int64 feed layout', 'any', `${pairs} pairs, batches of 32`, pairs, {
    'one BigInt per element (engine)': async () => {
      for (const b of batches) buildFeeds(encoded, b, layout);
    },
    'int32 words into a BigInt64Array buffer': async () => {
      for (const b of batches) feedsFromWords(encoded, b);
    },
  });
}

/** The alternative int64 layout: each value in the low word of a little-endian 64-bit slot. */
function feedsFromWords(pairs: readonly AssembledPair[], batch: readonly number[]): Record<string, ort.Tensor> {
  let width = 0;
  for (const i of batch) width = Math.max(width, (pairs[i] as AssembledPair).ids.length);
  const words = () => new Int32Array(batch.length * width * 2);
  const ids = words();
  const mask = words();
  const types = words();
  batch.forEach((pairIndex, row) => {
    const pair = pairs[pairIndex] as AssembledPair;
    for (let t = 0; t < pair.ids.length; t++) {
      const k = (row * width + t) * 2;
      ids[k] = pair.ids[t] as number;
      mask[k] = 1;
      types[k] = pair.typeIds[t] as number;
    }
  });
  const dims = [batch.length, width];
  return {
    input_ids: new ort.Tensor('int64', new BigInt64Array(ids.buffer), dims),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(mask.buffer), dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(types.buffer), dims),
  };
}

const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
const meta = { date: new Date().toISOString(), threads, rounds, loadAverage: os.loadavg() };
await writeFile(join(out, 'levers.json'), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
const md = [
  '## Levers, one at a time',
  '',
  `Measured by \`tsx bench/levers.ts\` (${rounds} alternating rounds, medians, ${threads} threads; load average at the end ` +
    `${meta.loadAverage.map((l) => l.toFixed(2)).join('/')}). Time per setting; lower is better.`,
  '',
  '| lever | model | workload | setting | median ms | pairs/s |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.lever} | ${r.model} | ${r.scope} | ${r.setting} | ${r.medianMs.toFixed(1)} | ${r.pairsPerSec.toFixed(0)} |`,
  ),
  '',
].join('\n');
await writeFile(join(out, 'levers.md'), md);
console.log(md);
