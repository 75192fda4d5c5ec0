// The reranking benchmark: every runner on the same machine, model files and thread count, rounds alternating
// between runners in one invocation. Writes bench/results/results.{json,md} and a chart.
// Usage: npm run bench [-- --quick] [--rounds N] [--threads N] [--models tiny,ce-minilm-l6-ict] [--out DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openPairTokenizer } from '../src/engine/model-files.js';
import { median, ortGemmRoof, pairFlops, quantile, readShape } from './metrics.js';
import { PYTHON, PythonProcess, ST_SCRIPT, threadEnv } from './python.js';
import { renderChart, renderMarkdown, type Results, type RunnerStats } from './report.js';
import { modelDir, openRunner, type Runner, type Variant } from './runners.js';
import {
  buildWorkloads,
  CACHE,
  ROOT,
  writeWorkloadFile,
  type WorkItem,
  type Workload,
  type WorkloadPlan,
} from './workloads.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    threads: { type: 'string', default: '2' },
    models: { type: 'string', default: 'tiny,ce-minilm-l6-ict' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
    'no-st': { type: 'boolean', default: false },
    'no-cold': { type: 'boolean', default: false },
    // Re-render results.md and the chart from an existing results.json (e.g. after bench/levers.ts ran).
    render: { type: 'boolean', default: false },
    // Re-measure only cold start and peak RSS into an existing results.json.
    'cold-only': { type: 'boolean', default: false },
  },
});
const quick = args.quick === true;
const threads = Number(args.threads);
const rounds = Number(args.rounds ?? (quick ? 1 : 3));
const models = (args.models as string).split(',');
const variants: Variant[] = ['fp32', 'int8'];
const BATCH = 32;

// Sizes per model: MiniLM costs ~2 GFLOP per 100-token pair, so on a small machine its sweeps stay short.
const PLANS: Record<string, WorkloadPlan> = quick
  ? {
      tiny: { dl19Queries: 3, candidates: [10, 100, 1000], lengths: [32, 128, 512], sweepCalls: 1 },
      'ce-minilm-l6-ict': { dl19Queries: 1, candidates: [10, 50], lengths: [32, 128], sweepCalls: 1 },
    }
  : {
      tiny: {
        dl19Queries: 10,
        candidates: [10, 50, 100, 500, 1000],
        lengths: [16, 32, 64, 128, 256, 512],
        sweepCalls: 1,
      },
      'ce-minilm-l6-ict': {
        dl19Queries: 3,
        candidates: [10, 50, 100],
        lengths: [16, 64, 128, 256, 512],
        sweepCalls: 1,
      },
    };
// Candidates per call in the length sweep.
const LENGTH_SWEEP_CANDIDATES: Record<string, number> = { tiny: 32, 'ce-minilm-l6-ict': 8 };

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function machine() {
  const lscpu = spawnSync('lscpu', [], { encoding: 'utf8' }).stdout ?? '';
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'm').exec(lscpu)?.[1]?.trim();
  return {
    cpu: field('Model name') ?? os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    threadsPerCore: Number(field('Thread\\(s\\) per core') ?? 1),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    onnxruntimeNode: (
      JSON.parse(
        execFileSync('node', ['-p', 'JSON.stringify(require("onnxruntime-node/package.json"))'], {
          cwd: ROOT,
          encoding: 'utf8',
        }),
      ) as { version: string }
    ).version,
    python: execFileSync(
      PYTHON,
      [
        '-c',
        'import sys,torch,sentence_transformers as s;print(sys.version.split()[0],torch.__version__,s.__version__)',
      ],
      { encoding: 'utf8' },
    ).trim(),
  };
}

interface Slot {
  key: string;
  runner: string;
  variant: Variant;
  /** JS runner, or a Python model loaded under this key. */
  js?: Runner;
  python?: PythonProcess;
  /** Which workloads it runs. */
  only?: (w: Workload) => boolean;
}

interface Sample {
  totalMs: number[];
  perCallMs: number[];
  eventLoopMaxMs: number[];
  scores?: number[][];
}

async function timeJs(
  runner: Runner,
  items: readonly WorkItem[],
  keepScores: boolean,
): Promise<{ totalMs: number; perCall: number[]; elMax: number; scores: number[][] }> {
  const perCall: number[] = [];
  const scores: number[][] = [];
  let elMax = 0;
  const t0 = performance.now();
  for (const item of items) {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    const t = performance.now();
    const result = await runner.rerank(item);
    perCall.push(performance.now() - t);
    histogram.disable();
    elMax = Math.max(elMax, histogram.max / 1e6);
    if (keepScores) scores.push(Array.from(result));
  }
  return { totalMs: performance.now() - t0, perCall, elMax, scores };
}

async function benchModel(model: string, results: Results): Promise<void> {
  const plan = PLANS[model] as WorkloadPlan;
  const workloads = await buildWorkloads(plan, modelDir('tiny'), LENGTH_SWEEP_CANDIDATES[model] ?? 32);
  const workloadFile = await writeWorkloadFile(workloads);
  const shape = readShape(modelDir(model));
  const tokenizer = await openPairTokenizer({
    tokenizerJson: join(modelDir(model), 'tokenizer.json'),
    tokenizerConfig: join(modelDir(model), 'tokenizer_config.json'),
  });
  const workloadFacts = new Map<string, { pairs: number; tokens: number; flops: number }>();
  for (const w of workloads) {
    let pairs = 0;
    let tokens = 0;
    let flops = 0;
    for (const item of w.items) {
      for (const passage of item.passages) {
        const n = (await tokenizer.encodePair(item.query, passage, 512, 'longest_first')).ids.length;
        pairs++;
        tokens += n;
        flops += pairFlops(shape, n);
      }
    }
    workloadFacts.set(w.key, { pairs, tokens, flops });
    results.workloads.push({
      model,
      key: w.key,
      kind: w.kind,
      param: w.param,
      calls: w.items.length,
      pairs,
      meanTokens: tokens / pairs,
    });
  }

  // Every runner of both precisions is open at once, so rounds alternate precision as well as runner.
  const slots: Slot[] = [];
  const python = args['no-st'] === true ? undefined : new PythonProcess(threads);
  for (const variant of variants) {
    for (const name of ['ours', 'raw-ort', 'transformers.js']) {
      log(`${model} ${variant}: opening ${name}`);
      slots.push({
        key: `${name}/${variant}`,
        runner: name,
        variant,
        js: await openRunner(name, { model, variant, threads, batchSize: BATCH }),
      });
    }
  }
  if (python !== undefined) {
    log(`${model}: opening sentence-transformers (PyTorch)`);
    await python.call({ cmd: 'load', model: modelDir(model), backend: 'torch', variant: 'fp32', threads });
    slots.push({
      key: 'sentence-transformers/fp32',
      runner: 'sentence-transformers',
      variant: 'fp32',
      python,
      only: (w) => w.kind === 'dl19',
    });
  }
  for (const slot of slots) await slot.js?.prepare?.(workloads.flatMap((w) => w.items));

  // Warm-up: one call each, untimed.
  const first = workloads[0]?.items[0] as WorkItem;
  for (const slot of slots) {
    if (slot.js !== undefined) await slot.js.rerank(first);
    else await slot.python?.call({ cmd: 'run', workloads: workloadFile, key: 'dl19', batch: BATCH, first: 1 });
  }

  const samples = new Map<string, Sample>();
  for (let round = 0; round < rounds; round++) {
    for (const [wi, w] of workloads.entries()) {
      const active = slots.filter((s) => s.only?.(w) ?? true);
      // Rotate the order every round and workload so no runner always goes first (or last).
      const shift = (round + wi) % active.length;
      const order = [...active.slice(shift), ...active.slice(0, shift)];
      for (const slot of order) {
        const id = `${slot.key}|${w.key}`;
        const sample = samples.get(id) ?? { totalMs: [], perCallMs: [], eventLoopMaxMs: [] };
        const keep = round === rounds - 1;
        if (slot.js !== undefined) {
          const r = await timeJs(slot.js, w.items, keep);
          sample.totalMs.push(r.totalMs);
          sample.perCallMs.push(...r.perCall);
          sample.eventLoopMaxMs.push(r.elMax);
          if (keep) sample.scores = r.scores;
        } else if (slot.python !== undefined) {
          const r = await slot.python.call<{ per_call_ms: number[]; total_ms: number; scores: number[][] }>({
            cmd: 'run',
            workloads: workloadFile,
            key: w.key,
            batch: BATCH,
          });
          sample.totalMs.push(r.total_ms);
          sample.perCallMs.push(...r.per_call_ms);
          if (keep) sample.scores = r.scores;
        }
        samples.set(id, sample);
      }
      log(`${model} round ${round + 1}/${rounds} ${w.key} done`);
    }
  }

  // The inline backend, for the event-loop comparison only: one 100-candidate call per precision.
  const elInline = new Map<Variant, number>();
  for (const variant of variants) {
    const inline = await openRunner('ours-inline', { model, variant, threads, batchSize: BATCH });
    await inline.rerank(first);
    elInline.set(variant, (await timeJs(inline, [first], false)).elMax);
    await inline.dispose();
  }

  for (const slot of slots) {
    for (const w of workloads) {
      const sample = samples.get(`${slot.key}|${w.key}`);
      if (sample === undefined) continue;
      const facts = workloadFacts.get(w.key) as { pairs: number; flops: number };
      const t = median(sample.totalMs);
      const reference = samples.get(`raw-ort/${slot.variant}|${w.key}`)?.scores;
      let maxDiff = 0;
      if (reference !== undefined && sample.scores !== undefined) {
        sample.scores.forEach((row, i) =>
          row.forEach((s, j) => (maxDiff = Math.max(maxDiff, Math.abs(s - (reference[i]?.[j] ?? Number.NaN))))),
        );
      }
      const stats: RunnerStats = {
        model,
        variant: slot.variant,
        runner: slot.runner,
        workload: w.key,
        rounds: sample.totalMs.length,
        medianMs: t,
        pairsPerSec: facts.pairs / (t / 1000),
        gflops: facts.flops / (t / 1000) / 1e9,
        p50Ms: quantile(sample.perCallMs, 0.5),
        p95Ms: quantile(sample.perCallMs, 0.95),
        eventLoopMaxMs: sample.eventLoopMaxMs.length > 0 ? Math.max(...sample.eventLoopMaxMs) : null,
        maxAbsDiffVsRawOrt: reference === undefined || sample.scores === undefined ? null : maxDiff,
        roundMs: sample.totalMs,
      };
      results.runs.push(stats);
    }
  }
  for (const variant of variants)
    results.eventLoop.push({
      model,
      variant,
      runner: 'ours-inline',
      workload: 'dl19',
      maxMs: elInline.get(variant) ?? Number.NaN,
    });

  // int8 against fp32: how far the two precisions agree on the DL19 rankings.
  const fp32 = samples.get('ours/fp32|dl19')?.scores;
  const int8 = samples.get('ours/int8|dl19')?.scores;
  if (fp32 !== undefined && int8 !== undefined) results.agreement.push({ model, ...rankAgreement(fp32, int8) });

  for (const slot of slots) await slot.js?.dispose();
  await python?.close();

  if (args['no-cold'] !== true) await coldStarts(model, workloadFile, results);
}

/** Load-to-first-score time and peak RSS of every runner, a fresh process each. */
async function coldStarts(model: string, workloadFile: string, results: Results): Promise<void> {
  for (const variant of variants) {
    const names = [
      'ours',
      'raw-ort',
      'transformers.js',
      ...(variant === 'fp32' && args['no-st'] !== true ? ['sentence-transformers'] : []),
    ];
    for (const name of names) {
      log(`${model} ${variant}: cold start of ${name}`);
      const child =
        name === 'sentence-transformers'
          ? spawnSync(PYTHON, [ST_SCRIPT, 'cold', modelDir(model), 'torch', variant, String(threads), workloadFile], {
              env: threadEnv(threads),
              encoding: 'utf8',
            })
          : spawnSync(
              process.execPath,
              ['--import', 'tsx', join(ROOT, 'bench', 'cold.ts'), name, model, variant, String(threads), workloadFile],
              { cwd: ROOT, encoding: 'utf8' },
            );
      const line = child.stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as { cold_ms: number; peak_rss_mb: number };
        results.cold.push({ model, variant, runner: name, coldMs: parsed.cold_ms, peakRssMb: parsed.peak_rss_mb });
      } catch {
        log(`cold start of ${name} failed: ${child.stderr.slice(-500)}`);
      }
    }
  }
}

/** Mean top-10 overlap and Kendall's tau-b between two score lists per query. */
function rankAgreement(
  a: number[][],
  b: number[][],
): { queries: number; top10Overlap: number; kendallTau: number; maxAbsLogitDiff: number } {
  let overlap = 0;
  let tau = 0;
  let maxDiff = 0;
  a.forEach((x, q) => {
    const y = b[q] as number[];
    const top = (s: number[]) =>
      new Set(
        s
          .map((v, i) => [v, i] as const)
          .sort((p, r) => r[0] - p[0])
          .slice(0, 10)
          .map(([, i]) => i),
      );
    const ta = top(x);
    overlap += [...top(y)].filter((i) => ta.has(i)).length / 10;
    let concordant = 0;
    let discordant = 0;
    for (let i = 0; i < x.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((x[i] as number) - (y[i] as number)));
      for (let j = i + 1; j < x.length; j++) {
        const s = Math.sign((x[i] as number) - (x[j] as number)) * Math.sign((y[i] as number) - (y[j] as number));
        if (s > 0) concordant++;
        else if (s < 0) discordant++;
      }
    }
    tau += (concordant - discordant) / Math.max(1, concordant + discordant);
  });
  return { queries: a.length, top10Overlap: overlap / a.length, kendallTau: tau / a.length, maxAbsLogitDiff: maxDiff };
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'index.js')))
    throw new Error('Build first: npm run build (the benchmark runs dist/).');
  const started = new Date();
  const results: Results = {
    startedAt: started.toISOString(),
    quick,
    threads,
    batchSize: BATCH,
    rounds,
    machine: machine(),
    loadAverage: { start: os.loadavg(), end: [] },
    roof: { ortGflops: 0, numpyGflops: null, n: 1024 },
    workloads: [],
    runs: [],
    eventLoop: [],
    cold: [],
    agreement: [],
    notes: [],
  };
  log(
    `machine: ${results.machine.cpu}, ${results.machine.cpus} CPUs, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  // The GEMM roof, measured in this run with the same thread count.
  const matmul = join(CACHE, 'matmul-1024.onnx');
  const python = new PythonProcess(threads);
  if (!existsSync(matmul)) await python.call({ cmd: 'matmul_onnx', path: matmul, n: 1024 });
  results.roof.ortGflops = await ortGemmRoof(matmul, 1024, threads, quick ? 1 : 3);
  results.roof.numpyGflops = (
    await python.call<{ gflops: number }>({ cmd: 'gemm', n: 1024, seconds: quick ? 1 : 3 })
  ).gflops;
  await python.close();
  log(
    `GEMM roof: ORT ${results.roof.ortGflops.toFixed(1)} GFLOP/s, numpy ${results.roof.numpyGflops?.toFixed(1)} GFLOP/s`,
  );

  // What this machine does to an idle event loop: the floor under every event-loop number below.
  const windows: number[] = [];
  for (let i = 0; i < 10; i++) {
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    await new Promise((resolve) => setTimeout(resolve, 300));
    histogram.disable();
    windows.push(histogram.max / 1e6);
  }
  results.eventLoopIdle = { maxMs: Math.max(...windows), medianWindowMaxMs: median(windows), windows: windows.length };
  log(`idle event loop: max delay ${results.eventLoopIdle.maxMs.toFixed(1)} ms over ${windows.length} × 300 ms`);

  for (const model of models) {
    await benchModel(model, results);
    results.loadAverage.end = os.loadavg();
    results.finishedAt = new Date().toISOString();
    await writeOutputs(results);
  }
}

async function writeOutputs(results: Results): Promise<void> {
  const out = args.out as string;
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(out, 'results.md'), renderMarkdown(results));
  const svg = renderChart(results);
  await writeFile(join(out, 'chart.svg'), svg);
  const png = spawnSync('rsvg-convert', ['-o', join(out, 'chart.png'), join(out, 'chart.svg')]);
  if (png.status !== 0) spawnSync('convert', ['-density', '120', join(out, 'chart.svg'), join(out, 'chart.png')]);
  log(`wrote ${out}/results.{json,md}, chart.svg${existsSync(join(out, 'chart.png')) ? ', chart.png' : ''}`);
}

if (args.render === true || args['cold-only'] === true) {
  const results = JSON.parse(readFileSync(join(args.out as string, 'results.json'), 'utf8')) as Results;
  if (args['cold-only'] === true) {
    results.cold = [];
    for (const model of models) {
      const plan = PLANS[model] as WorkloadPlan;
      const workloads = await buildWorkloads(plan, modelDir('tiny'), LENGTH_SWEEP_CANDIDATES[model] ?? 32);
      await coldStarts(model, await writeWorkloadFile(workloads), results);
    }
    results.notes.push(
      `Cold start and peak RSS re-measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC ` +
        `(load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join('/')}), with each process's own RSS high-water mark (VmHWM).`,
    );
  }
  await writeOutputs(results);
  process.exit(0);
}
await main();
