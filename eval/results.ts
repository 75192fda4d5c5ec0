/**
 * `npm run eval:results`: runs every row of the results table with the `eval` CLI core and the
 * Python reference (tools/eval_reference.py), then writes docs/evaluation.md and
 * docs/evaluation.json.
 *
 * Needs the models: `npm run models` (all-MiniLM-L6-v2, the distilled cross-encoder
 * models/ce-minilm-l6-ict, the Python venv) and the data in ../shared/data.
 *
 * Options:
 *   --data <dir>          data folder (default ../shared/data)
 *   --model <dir>         cross-encoder (default models/ce-minilm-l6-ict)
 *   --scifact-top-k <n>   SciFact candidates reranked per query (default 100)
 *   --max-queries <n>     evaluate only the first n queries of each dataset (smoke runs)
 *   --scifact-max-queries <n>  evaluate only the first n SciFact queries
 *   --no-reference        skip the Python reference column
 *   --reference-rows <regex>  run the Python reference only for the rows whose label matches (the others show
 *                         "not run" in that column)
 *   --training-sets       also report DL21 and Cranfield (training data: for information only)
" *   --rows <regex>        run only the rows whose label matches (docs/ is then left alone)
" *   --reference-only      with --rows: run only the Python reference of those rows (in parallel with a
 *                         TypeScript-only run; a later --reuse run picks both up)
 *   --skip <regex>        leave out the rows whose label matches; docs/ lists them as not run
 *   --reuse               reuse rows already computed with the same arguments and model files
 *                         (kept under .cache/eval-results), e.g. after retraining only the model
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { runCli, type CliDeps } from './cli.js';
import { engineLoaders } from './engine.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/data' },
    model: { type: 'string', default: 'models/ce-minilm-l6-ict' },
    'scifact-top-k': { type: 'string', default: '100' },
    'max-queries': { type: 'string' },
    'scifact-max-queries': { type: 'string' },
    'no-reference': { type: 'boolean', default: false },
    'reference-rows': { type: 'string' },
    'training-sets': { type: 'boolean', default: false },
    reuse: { type: 'boolean', default: false },
    rows: { type: 'string' },
    skip: { type: 'string' },
    'reference-only': { type: 'boolean', default: false },
  },
});

const DATA = resolve(values.data!);
const MODEL = values.model!;
const BI = 'models/all-MiniLM-L6-v2';
const PY = '.venv/bin/python';
const WORK = resolve('.cache/eval-results');
const SCIFACT_TOP_K = Number(values['scifact-top-k']);
const MAX_QUERIES = values['max-queries'];
const SCIFACT_MAX_QUERIES = values['scifact-max-queries'] ?? MAX_QUERIES;

function maxQueries(dataset: string): string | undefined {
  return dataset === 'scifact' ? SCIFACT_MAX_QUERIES : MAX_QUERIES;
}
const REFERENCE = !values['no-reference'];
const REFERENCE_ROWS = values['reference-rows'] === undefined ? undefined : new RegExp(values['reference-rows'], 'i');
const REUSE = values.reuse!;

/** A key for a command: its arguments plus the size and time of every model file it names. */
function commandKey(args: readonly string[]): string {
  const h = createHash('sha256').update(JSON.stringify(args));
  for (const a of args) {
    for (const file of [
      join(a, 'onnx', 'model.onnx'),
      join(a, 'onnx', 'model_quantized.onnx'),
      join(a, 'model.safetensors'),
    ]) {
      if (existsSync(file)) {
        const st = statSync(file);
        h.update(`${file}:${st.size}:${st.mtimeMs}`);
      }
    }
  }
  return h.digest('hex').slice(0, 16);
}

function missing(): string[] {
  const out: string[] = [];
  for (const [dir, how] of [
    [BI, 'npm run models'],
    [MODEL, MODEL.includes('ce-minilm-l6-dl21') ? 'npm run models:trained' : 'npm run models'],
  ] as const) {
    if (!existsSync(join(dir, 'onnx', 'model.onnx'))) out.push(`${dir} (build it with \`${how}\`)`);
  }
  if (REFERENCE && !existsSync(PY)) out.push(`${PY} (created by \`npm run models\`)`);
  for (const d of ['trec-dl-2019-passage', 'scifact']) if (!existsSync(join(DATA, d))) out.push(join(DATA, d));
  return out;
}

interface Row {
  section: string;
  label: string;
  dataset: string;
  firstStage: string;
  reranker: string;
  training?: boolean;
  ts: { ndcg: number; mrr: number; recall: number } | null;
  queries: number;
  pairs: number;
  seconds: number;
  python?: { ndcg: number; seconds: number; model: string };
  /** The row has a Python reference that --reference-rows left out. */
  referenceNotRun?: boolean;
}

const deps: CliDeps = {
  ...engineLoaders,
  stdout: process.stdout,
  stderr: process.stderr,
};

interface Spec {
  section: string;
  label: string;
  dataset: string;
  args: string[];
  firstStage: string;
  reranker: string;
  training?: boolean;
  /** Reference: which run file holds the candidates, which model and reranker. */
  ref?: {
    run: string;
    model: string;
    reranker: 'cross-encoder' | 'bi-encoder';
    topK: number;
    /** Label of a row with the same reference computation, whose result files are shared. */
    shareWith?: string;
  };
  saveRun?: string;
}

async function runRow(spec: Spec): Promise<Row> {
  if (values['reference-only']) {
    const { section, label, dataset, firstStage, reranker } = spec;
    const python = spec.ref ? reference(spec, spec.ref) : undefined;
    return { section, label, dataset, firstStage, reranker, ts: null, queries: 0, pairs: 0, seconds: 0, python };
  }
  const json = join(WORK, `${slug(spec.label)}.json`);
  const args = ['eval', '--data', join(DATA, spec.dataset), ...spec.args, '--json', json];
  const limit = maxQueries(spec.dataset);
  if (limit) args.push('--max-queries', limit);
  if (spec.saveRun) args.push('--save-run', spec.saveRun);
  const key = commandKey(args);
  const done = `${json}.key`;
  let seconds: number;
  if (REUSE && existsSync(done) && readFileSync(done, 'utf8').split(' ')[0] === key) {
    seconds = Number(readFileSync(done, 'utf8').split(' ')[1]);
    process.stderr.write(`\n== ${spec.section}: ${spec.label} (reused)\n`);
  } else {
    process.stderr.write(`\n== ${spec.section}: ${spec.label}\n$ npm run eval -- ${args.slice(1).join(' ')}\n`);
    const t = performance.now();
    const code = await runCli(args, deps);
    if (code !== 0) throw new Error(`eval failed (exit ${code}) for ${spec.label}`);
    seconds = (performance.now() - t) / 1000;
    writeFileSync(done, `${key} ${seconds}`);
  }
  const report = JSON.parse(readFileSync(json, 'utf8'));
  const stage = report.reranked ?? report.firstStage;
  const row: Row = {
    section: spec.section,
    label: spec.label,
    dataset: spec.dataset,
    firstStage: spec.firstStage,
    reranker: spec.reranker,
    training: spec.training,
    ts: stage.mean,
    queries: report.queries.length,
    pairs: report.timings.pairs,
    seconds: Math.round(seconds * 10) / 10,
  };
  if (spec.ref && REFERENCE && (REFERENCE_ROWS === undefined || REFERENCE_ROWS.test(spec.label))) {
    row.python = reference(spec, spec.ref);
  } else if (spec.ref && REFERENCE) {
    row.referenceNotRun = true;
  }
  return row;
}

const refCache = new Map<string, { ndcg: number; seconds: number; model: string }>();

function reference(spec: Spec, ref: NonNullable<Spec['ref']>): { ndcg: number; seconds: number; model: string } {
  const key = JSON.stringify([spec.dataset, ref]);
  const cached = refCache.get(key);
  if (cached) return cached;
  const out = join(WORK, `${slug(ref.shareWith ?? spec.label)}.python.json`);
  const args = [
    'tools/eval_reference.py',
    '--data',
    join(DATA, spec.dataset),
    '--run',
    ref.run,
    '--model',
    ref.model,
    '--reranker',
    ref.reranker,
    '--top-k',
    String(ref.topK),
    '--json',
    out,
  ];
  const limit = maxQueries(spec.dataset);
  if (limit) args.push('--max-queries', limit);
  const runFile = existsSync(ref.run) ? readFileSync(ref.run) : Buffer.alloc(0);
  const k = `${commandKey(args)}-${createHash('sha256').update(runFile).digest('hex').slice(0, 16)}`;
  if (REUSE && existsSync(`${out}.key`) && readFileSync(`${out}.key`, 'utf8') === k) {
    process.stderr.write(`(Python reference reused)\n`);
  } else {
    process.stderr.write(`$ ${PY} ${args.join(' ')}\n`);
    const res = spawnSync(PY, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (res.status !== 0) throw new Error(`Python reference failed for ${spec.label}`);
    writeFileSync(`${out}.key`, k);
  }
  const r = JSON.parse(readFileSync(out, 'utf8'));
  const value = { ndcg: r.mean.ndcg as number, seconds: r.seconds as number, model: `${ref.model} (PyTorch fp32)` };
  refCache.set(key, value);
  return value;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function specs(): Spec[] {
  const dl19 = 'trec-dl-2019-passage';
  const dl19Run = join(DATA, dl19, 'runs', 'bm25.top100.trec');
  const sciBm25 = join(WORK, 'scifact-bm25.trec');
  const sciDense = join(WORK, 'scifact-dense.trec');
  const ce = (variant: string) => ['--model', MODEL, '--variant', variant];
  const list: Spec[] = [
    {
      section: 'TREC DL 2019',
      label: 'DL19 BM25',
      dataset: dl19,
      args: ['--run', 'bm25'],
      firstStage: 'BM25 run',
      reranker: '-',
    },
    {
      section: 'TREC DL 2019',
      label: 'DL19 BM25 > bi-encoder',
      dataset: dl19,
      args: ['--run', 'bm25', '--reranker', 'bi-encoder', '--model', BI],
      firstStage: 'BM25 run',
      reranker: 'all-MiniLM-L6-v2 cosine',
      ref: { run: dl19Run, model: BI, reranker: 'bi-encoder', topK: 100 },
    },
    {
      section: 'TREC DL 2019',
      label: 'DL19 BM25 > CE fp32',
      dataset: dl19,
      args: ['--run', 'bm25', ...ce('fp32')],
      firstStage: 'BM25 run',
      reranker: 'cross-encoder fp32',
      ref: { run: dl19Run, model: MODEL, reranker: 'cross-encoder', topK: 100 },
    },
    {
      section: 'TREC DL 2019',
      label: 'DL19 BM25 > CE int8',
      dataset: dl19,
      args: ['--run', 'bm25', ...ce('int8')],
      firstStage: 'BM25 run',
      reranker: 'cross-encoder int8',
      ref: { run: dl19Run, model: MODEL, reranker: 'cross-encoder', topK: 100, shareWith: 'DL19 BM25 > CE fp32' },
    },
    {
      section: 'SciFact (test)',
      label: 'SciFact BM25',
      dataset: 'scifact',
      args: ['--first-stage', 'bm25', '--top-k', String(SCIFACT_TOP_K)],
      firstStage: 'BM25',
      reranker: '-',
      saveRun: sciBm25,
    },
    {
      section: 'SciFact (test)',
      label: 'SciFact dense',
      dataset: 'scifact',
      args: ['--first-stage', 'dense', '--embedding-model', BI, '--top-k', String(SCIFACT_TOP_K)],
      firstStage: 'dense (all-MiniLM-L6-v2)',
      reranker: '-',
      saveRun: sciDense,
    },
    {
      section: 'SciFact (test)',
      label: 'SciFact BM25 > CE fp32',
      dataset: 'scifact',
      args: ['--first-stage', 'bm25', '--top-k', String(SCIFACT_TOP_K), ...ce('fp32')],
      firstStage: 'BM25',
      reranker: 'cross-encoder fp32',
      ref: { run: sciBm25, model: MODEL, reranker: 'cross-encoder', topK: SCIFACT_TOP_K },
    },
    {
      section: 'SciFact (test)',
      label: 'SciFact dense > CE fp32',
      dataset: 'scifact',
      args: ['--first-stage', 'dense', '--embedding-model', BI, '--top-k', String(SCIFACT_TOP_K), ...ce('fp32')],
      firstStage: 'dense (all-MiniLM-L6-v2)',
      reranker: 'cross-encoder fp32',
      ref: { run: sciDense, model: MODEL, reranker: 'cross-encoder', topK: SCIFACT_TOP_K },
    },
  ];
  if (values['training-sets']) {
    const dl21 = 'trec-dl-2021-passage';
    list.push(
      {
        section: 'Training data (information only)',
        label: 'DL21 BM25',
        dataset: dl21,
        args: ['--run', 'bm25'],
        firstStage: 'BM25 run',
        reranker: '-',
        training: true,
      },
      {
        section: 'Training data (information only)',
        label: 'DL21 BM25 > CE fp32',
        dataset: dl21,
        args: ['--run', 'bm25', ...ce('fp32')],
        firstStage: 'BM25 run',
        reranker: 'cross-encoder fp32',
        training: true,
      },
      {
        section: 'Training data (information only)',
        label: 'Cranfield BM25',
        dataset: 'cranfield',
        args: ['--first-stage', 'bm25'],
        firstStage: 'BM25',
        reranker: '-',
        training: true,
      },
      {
        section: 'Training data (information only)',
        label: 'Cranfield BM25 > CE fp32',
        dataset: 'cranfield',
        args: ['--first-stage', 'bm25', ...ce('fp32')],
        firstStage: 'BM25',
        reranker: 'cross-encoder fp32',
        training: true,
      },
    );
  }
  return list;
}

function modelCard(): Record<string, unknown> | null {
  const file = join(MODEL, 'training.json');
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

function trainingSets(): string {
  const data = (modelCard()?.data ?? {}) as Record<string, { queries: number; pairs: number }>;
  const names: Record<string, string> = { dl21: 'TREC DL 2021', cranfield: 'Cranfield', pairs: 'own pairs' };
  const parts = Object.entries(data).map(([k, v]) => `${names[k] ?? k} (${v.queries} queries, ${v.pairs} pairs)`);
  return parts.length ? parts.join(' and ') : 'data described in its README.md';
}

/** What comes after the distilled model, written up because it needs a GPU this report was not run with. */
const NEXT_STEP = [
  '## Next step: going past the teacher (not done)',
  '',
  "The distilled cross-encoder stays below its teacher on DL19 (0.600 against the bi-encoder's 0.642): it learns",
  "the bi-encoder's preferences on pseudo-queries, so the bi-encoder bounds it. Two ways to give it better labels,",
  'each to be reported here as DL19 nDCG@10 fp32 and int8 whether it helps or not:',
  '',
  "1. A fused teacher: the KL target becomes a softmax over a mix of the bi-encoder's cosine and BM25 (both",
  '   normalised per group, the mix weight chosen on DL21 dev queries, never on DL19), since BM25 and dense',
  '   retrieval fail on different queries.',
  '2. Listwise targets from both: the ranking of each group under each teacher turned into a Plackett-Luce or',
  '   ListNet target, so the student learns the order the teachers agree on rather than one score scale.',
  '',
  'Both change only the teacher-score step of `tools/train_cross_encoder.py --recipe ict` (computed once, before',
  'training), but each needs a full run of 3,800 batched steps: about 5 minutes on one H200, about two days on',
  'a quiet 2-core CPU (48.5 s per step, docs/fine-tuning.md). No GPU was',
  'available when this report was produced, so neither has been tried.',
];

function markdown(rows: Row[], meta: Record<string, unknown>): string {
  const f = (x: number) => x.toFixed(4);
  const out: string[] = [
    '# Evaluation',
    '',
    'Generated by `npm run eval:results` (eval/results.ts); do not edit by hand.',
    '',
    'Every row runs the eval tool (`npm run eval`) on the data in',
    '`../shared/data`. nDCG@10, MRR@10 and Recall@100 follow trec_eval (gain = graded judgment;',
    'MRR and Recall count judgment >= 2 as relevant on TREC DL, >= 1 elsewhere). The **Python**',
    'column reranks the same candidates with sentence-transformers (`CrossEncoder.predict`, or',
    'bi-encoder cosine) in PyTorch fp32 and computes nDCG@10 independently',
    '(tools/eval_reference.py); **diff** is TypeScript minus Python. The int8 row is compared with',
    'the fp32 PyTorch model, so its diff is the quantization loss.',
    '',
    `Cross-encoder: \`${MODEL}\`, ${MODEL.includes('ce-minilm-l6-ict') ? 'distilled from the all-MiniLM-L6-v2 bi-encoder on inverse-cloze pseudo-queries plus the TREC DL 2021 and Cranfield judgments' : `fine-tuned from all-MiniLM-L6-v2 on ${trainingSets()}`}, never on TREC DL 2019`,
    'or SciFact (see its README.md and docs/fine-tuning.md). **wall s** is the time of the run that',
    'produced the row (with `--reuse`, an earlier run with identical arguments and model files); the',
    'machine was shared with other work while these were measured, so treat timings as rough.',
    '',
  ];
  let section = '';
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      out.push('', `## ${section}`, '');
      out.push(
        '| first stage | reranker | nDCG@10 | MRR@10 | Recall@100 | Python nDCG@10 | diff | queries | pairs | wall s |',
      );
      out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    }
    if (r.ts === null) {
      out.push(`| ${r.firstStage} | ${r.reranker} | not run | | | | | | | |`);
      continue;
    }
    const ts = r.ts;
    const py = r.python ? f(r.python.ndcg) : r.referenceNotRun ? 'not run' : '-';
    const diff = r.python ? (ts.ndcg - r.python.ndcg >= 0 ? '+' : '') + (ts.ndcg - r.python.ndcg).toFixed(4) : '-';
    out.push(
      `| ${r.firstStage} | ${r.reranker} | ${f(ts.ndcg)} | ${f(ts.mrr)} | ${f(ts.recall)} | ${py} | ${diff} | ${r.queries} | ${r.pairs} | ${r.seconds} |`,
    );
  }
  const dl19 = rows.find((r) => r.label === 'DL19 BM25');
  const ce = rows.find((r) => r.label === 'DL19 BM25 > CE fp32');
  const bi = rows.find((r) => r.label === 'DL19 BM25 > bi-encoder');
  out.push('', '## Targets', '');
  if (dl19?.ts && ce?.ts && bi?.ts) {
    const gain = ce.ts!.ndcg - dl19.ts!.ndcg;
    out.push(
      `- DL19: cross-encoder fp32 minus BM25 = ${gain >= 0 ? '+' : ''}${gain.toFixed(4)} nDCG@10 (target >= +0.12): **${gain >= 0.12 ? 'met' : 'not met'}**.`,
      `- DL19: cross-encoder fp32 minus bi-encoder reranking = ${(ce.ts!.ndcg - bi.ts!.ndcg).toFixed(4)} (target > 0): **${ce.ts!.ndcg > bi.ts!.ndcg ? 'met' : 'not met'}**.`,
    );
  }
  const int8 = rows.find((r) => r.label === 'DL19 BM25 > CE int8');
  if (ce?.ts) {
    out.push(
      `- DL19: cross-encoder fp32 nDCG@10 = ${ce.ts.ndcg.toFixed(4)} (target >= 0.59): **${ce.ts.ndcg >= 0.59 ? 'met' : 'not met'}**.`,
    );
    if (int8?.ts) {
      const loss = ce.ts.ndcg - int8.ts.ndcg;
      out.push(
        `- DL19: int8 minus fp32 = ${(-loss).toFixed(4)} (target within 0.015): **${Math.abs(loss) <= 0.015 ? 'met' : 'not met'}**.`,
      );
    }
  }
  const worst = Math.max(
    0,
    ...rows
      .filter((r) => r.python && r.ts && !r.reranker.includes('int8'))
      .map((r) => Math.abs(r.ts!.ndcg - r.python!.ndcg)),
  );
  out.push(`- TypeScript vs Python (fp32 rows): largest |diff| = ${worst.toFixed(4)} (target <= 0.001).`);
  const notRun = rows.filter((r) => r.ts === null);
  if (notRun.length) out.push(`- Not run in this report (--skip): ${notRun.map((r) => r.label).join('; ')}.`);
  const noRef = rows.filter((r) => r.referenceNotRun);
  if (noRef.length) {
    out.push(`- Python reference not run in this report (--reference-rows): ${noRef.map((r) => r.label).join('; ')}.`);
  }
  const card = modelCard();
  if (card) {
    const sel = card.selected as { step: number; dev_ndcg10: number | null } | undefined;
    out.push(
      '',
      '## Cross-encoder training',
      '',
      `- data: ${JSON.stringify(card.data)} (DL21 judged pairs; 8 DL21 queries held out as dev)`,
      `- training wall time: ${((card.train_seconds as number) / 60).toFixed(1)} min on this machine's CPU`,
      `- checkpoint: step ${sel?.step} (DL21 dev nDCG@10 over BM25 top-50: ${sel?.dev_ndcg10 ?? 'n/a'})`,
      `- hyper-parameters: see Settings below and \`${MODEL}/README.md\``,
    );
  }
  out.push('', ...NEXT_STEP);
  out.push('', '## Settings', '');
  for (const [k, v] of Object.entries(meta)) out.push(`- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  out.push('');
  return out.join('\n');
}

async function main(): Promise<void> {
  const only = values.rows === undefined ? undefined : new RegExp(values.rows, 'i');
  const lacking = missing().filter((m) => !only || !m.includes(MODEL));
  const skip = values.skip === undefined ? undefined : new RegExp(values.skip, 'i');
  if (lacking.length) {
    process.stderr.write(`eval:results needs:\n${lacking.map((m) => `  - ${m}`).join('\n')}\n`);
    process.exitCode = 1;
    return;
  }
  mkdirSync(WORK, { recursive: true });
  const started = performance.now();
  const rows: Row[] = [];
  for (const spec of specs()) {
    if (only && !only.test(spec.label)) continue;
    if (skip?.test(spec.label)) {
      const { section, label, dataset, firstStage, reranker, training } = spec;
      rows.push({
        section,
        label,
        dataset,
        firstStage,
        reranker,
        training,
        ts: null,
        queries: 0,
        pairs: 0,
        seconds: 0,
      });
      continue;
    }
    rows.push(await runRow(spec));
  }
  if (only) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n(--rows: docs/ not written)\n`);
    return;
  }
  const cpu = cpus();
  const meta = {
    date: new Date().toISOString(),
    machine: `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, ${osType()} ${release()}, Node ${process.version}`,
    'TREC DL 2019': 'rerank the top 100 of runs/bm25.top100.trec (43 judged queries)',
    SciFact: `BM25 (k1 0.9, b 0.4) or dense (all-MiniLM-L6-v2 fp32 in a MemoryVectorStore) over the 5,183 abstracts; reranked top-k = ${SCIFACT_TOP_K}`,
    'max queries': `TREC DL: ${MAX_QUERIES ?? 'all'}; SciFact: ${SCIFACT_MAX_QUERIES ?? 'all'} (the first n judged queries in queries.jsonl order)`,
    'cross-encoder training': modelCard()?.hyperparameters ?? `see ${MODEL}/README.md and docs/fine-tuning.md`,
    'total wall time (s)': Math.round((performance.now() - started) / 100) / 10,
  };
  mkdirSync('docs', { recursive: true });
  writeFileSync('docs/evaluation.json', `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  writeFileSync('docs/evaluation.md', markdown(rows, meta));
  process.stdout.write(`\n${markdown(rows, meta)}\nwrote docs/evaluation.md and docs/evaluation.json\n`);
}

await main();
