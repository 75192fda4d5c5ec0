/**
 * `langchain-cross-encoder eval`: measure a first stage and its reranking on a BEIR-layout
 * dataset. The bin wrapper injects model loading, which keeps this module free of the engine.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import type { Scorer } from '../scoring/scorer.js';
import { defaultRelevanceThreshold, listRuns, loadDataset, readTrecRun } from './datasets.js';
import { evaluateReranking, type FirstStage, type RerankingReport } from './evaluate.js';
import { createProgress, type ProgressStream } from './progress.js';

/** What {@link runCli} needs from its host. */
export interface CliDeps {
  /** Loads a model from a folder or hub id, e.g. `CrossEncoder.load`. */
  loadScorer(model: string): Promise<Scorer & { dispose?(): Promise<void> }>;
  stdout: ProgressStream;
  stderr: ProgressStream;
}

export const HELP = `Usage: langchain-cross-encoder eval --data <dataset dir> [options]

Measures nDCG@10, MRR@10 and Recall@100 (trec_eval semantics) of a first stage and,
with --model, of its top-k reranked by a cross-encoder.

Options:
  --data <dir>                 BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv
  --run <file|name>            TREC run to rerank: a path, or a name under <dir>/runs
                               (e.g. "bm25" for runs/bm25.top100.trec)
  --first-stage bm25           BM25 (k1=0.9, b=0.4) over corpus.jsonl; the default without --run
  --model <dir|hub id>         cross-encoder to rerank with; omit to measure the first stage only
  --top-k <n>                  candidates reranked per query (default 100)
  --split <name>               qrels split (default test)
  --relevance-threshold <n>    minimum judgment counted relevant by MRR and Recall
                               (default 2 for TREC DL folders, else 1); nDCG uses graded judgments
  --max-queries <n>            evaluate only the first n judged queries
  --json <file>                also write settings, averages, per-query values and timings as JSON
  -h, --help                   show this help

Exit codes: 0 done, 1 failure (bad data, model error), 2 usage error.
`;

class UsageError extends Error {}

const OPTIONS = {
  data: { type: 'string' },
  run: { type: 'string' },
  'first-stage': { type: 'string' },
  model: { type: 'string' },
  'top-k': { type: 'string' },
  split: { type: 'string' },
  'relevance-threshold': { type: 'string' },
  'max-queries': { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `eval` with `argv` (the arguments after the program name, starting with `eval`); resolves to the exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  let args: ReturnType<typeof parseCli>;
  try {
    args = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError) && !isParseArgsError(error)) throw error;
    deps.stderr.write(`error: ${(error as Error).message}\nRun "langchain-cross-encoder eval --help" for usage.\n`);
    return 2;
  }
  if (args === 'help') {
    deps.stdout.write(HELP);
    return 0;
  }

  let scorer: Awaited<ReturnType<CliDeps['loadScorer']>> | undefined;
  try {
    const dataset = await loadDataset(args.data, { split: args.split });
    let firstStage: FirstStage = 'bm25';
    if (args.run) firstStage = await readTrecRun(args.run);
    else if (listRuns(args.data).length > 0) {
      deps.stderr.write(
        `note: ${dataset.name} ships first-stage runs; its corpus may be a subset, so BM25 over it is not comparable to published numbers (pass --run).\n`,
      );
    }
    if (args.model) scorer = await deps.loadScorer(args.model);
    let bar: ReturnType<typeof createProgress> | undefined;
    const report = await evaluateReranking({
      dataset,
      firstStage,
      scorer,
      topK: args.topK,
      relevanceThreshold: args.relevanceThreshold,
      maxQueries: args.maxQueries,
      onProgress: scorer
        ? (done, total) => {
            bar ??= createProgress('reranking', total, deps.stderr);
            bar.update(done);
          }
        : undefined,
    });
    bar?.finish();
    deps.stdout.write(formatReport(report, { run: args.run, model: args.model }));
    if (args.json) {
      const record = {
        tool: 'langchain-cross-encoder eval',
        run: args.run ?? null,
        model: args.model ?? null,
        ...report,
      };
      await writeFile(args.json, `${JSON.stringify(record, null, 2)}\n`);
      deps.stderr.write(`wrote ${args.json}\n`);
    }
    return 0;
  } catch (error) {
    deps.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await scorer?.dispose?.();
  }
}

interface CliArgs {
  data: string;
  run?: string;
  model?: string;
  split: string;
  topK: number;
  relevanceThreshold?: number;
  maxQueries?: number;
  json?: string;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

function parseCli(argv: string[]): CliArgs | 'help' {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return 'help';
  const [command, ...extra] = positionals;
  if (command !== 'eval')
    throw new UsageError(command ? `unknown command "${command}" (expected "eval")` : 'missing command "eval"');
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (!values.data) throw new UsageError('--data <dataset dir> is required');
  const data = resolve(values.data);
  if (!existsSync(data) || !statSync(data).isDirectory()) throw new UsageError(`--data: ${data} is not a folder`);
  if (values.run !== undefined && values['first-stage'] !== undefined)
    throw new UsageError('give either --run or --first-stage, not both');
  const stage = values['first-stage'];
  if (stage !== undefined && stage !== 'bm25') {
    // Dense retrieval is planned: it will plug in as a FirstStageFunction (see evaluate.ts).
    throw new UsageError(
      stage === 'dense'
        ? '--first-stage dense is not available yet; use bm25 or --run'
        : `--first-stage must be bm25, got "${stage}"`,
    );
  }
  return {
    data,
    run: values.run === undefined ? undefined : resolveRun(data, values.run),
    model: values.model,
    split: values.split ?? 'test',
    topK: values['top-k'] === undefined ? 100 : integer('--top-k', values['top-k']),
    relevanceThreshold:
      values['relevance-threshold'] === undefined
        ? undefined
        : finite('--relevance-threshold', values['relevance-threshold']),
    maxQueries: values['max-queries'] === undefined ? undefined : integer('--max-queries', values['max-queries']),
    json: values.json,
  };
}

/** A run is a path, or a name under `<data>/runs` with or without its `.top100.trec` / `.trec` suffix. */
function resolveRun(data: string, run: string): string {
  const candidates = [resolve(run), ...['', '.trec', '.top100.trec'].map((suffix) => join(data, 'runs', run + suffix))];
  const found = candidates.find((path) => existsSync(path) && statSync(path).isFile());
  if (found) return found;
  const available = listRuns(data).map((p) => p.slice(join(data, 'runs').length + 1));
  throw new UsageError(
    `--run: no file "${run}"${available.length ? ` (runs in ${data}/runs: ${available.join(', ')})` : ''}`,
  );
}

function integer(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

function finite(flag: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got "${text}"`);
  return n;
}

/** The human-readable summary printed by the CLI. */
export function formatReport(report: RerankingReport, source: { run?: string; model?: string } = {}): string {
  const { dataset, settings } = report;
  const f = (x: number): string => x.toFixed(4);
  const signed = (x: number): string => (x >= 0 ? '+' : '') + x.toFixed(4);
  const first = source.run ? `run ${source.run}` : settings.firstStage;
  const out = [
    `${dataset.name} (${dataset.split}): ${report.queries.length} queries evaluated, ${dataset.documents} documents`,
    `first stage: ${first}${settings.reranked ? `; reranked top ${settings.topK} with ${source.model ?? 'the scorer'}` : ''}`,
    `MRR@${settings.mrrCutoff} and Recall@${settings.recallCutoff} count judgment >= ${settings.relevanceThreshold} as relevant` +
      (settings.relevanceThreshold === defaultRelevanceThreshold(dataset.name) ? ' (default for this dataset)' : '') +
      `; nDCG@${settings.ndcgCutoff} uses graded judgments.`,
    '',
    `${'stage'.padEnd(12)}${`nDCG@${settings.ndcgCutoff}`.padStart(10)}${`MRR@${settings.mrrCutoff}`.padStart(10)}${`Recall@${settings.recallCutoff}`.padStart(12)}`,
  ];
  const row = (name: string, v: { ndcg: number; mrr: number; recall: number }, fmt: (x: number) => string) =>
    `${name.padEnd(12)}${fmt(v.ndcg).padStart(10)}${fmt(v.mrr).padStart(10)}${fmt(v.recall).padStart(12)}`;
  out.push(row('first stage', report.firstStage.mean, f));
  if (report.reranked) {
    const a = report.firstStage.mean;
    const b = report.reranked.mean;
    out.push(
      row('reranked', b, f),
      row('change', { ndcg: b.ndcg - a.ndcg, mrr: b.mrr - a.mrr, recall: b.recall - a.recall }, signed),
    );
  }
  out.push('');
  const t = report.timings;
  const rate = t.rerankMs > 0 ? `, ${Math.round((t.pairs / t.rerankMs) * 1000)} pairs/s` : '';
  out.push(
    `time: first stage ${(t.firstStageMs / 1000).toFixed(1)} s` +
      (settings.reranked ? `, reranking ${(t.rerankMs / 1000).toFixed(1)} s (${t.pairs} pairs${rate})` : ''),
  );
  const notes: string[] = [];
  if (report.skipped.noCandidates.length)
    notes.push(`${report.skipped.noCandidates.length} judged queries had no candidates and were skipped`);
  if (report.skipped.noText.length)
    notes.push(`${report.skipped.noText.length} judged queries have no text in queries.jsonl and were skipped`);
  if (report.withoutRelevant.length)
    notes.push(
      `${report.withoutRelevant.length} queries have no judgment >= ${settings.relevanceThreshold} (MRR and Recall 0)`,
    );
  if (report.missingFromCorpus.candidates) {
    notes.push(
      `${report.missingFromCorpus.candidates} candidates in ${report.missingFromCorpus.queries} queries are not in corpus.jsonl and were dropped before reranking`,
    );
  }
  for (const note of notes) out.push(`note: ${note}`);
  return `${out.join('\n')}\n`;
}
