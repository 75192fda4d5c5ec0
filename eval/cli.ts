/**
 * The eval command (`npm run eval`): measure a first stage and its reranking on a BEIR-layout
 * dataset. Its entry (main.ts) injects model loading, which keeps this module free of the engine.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import type { EmbeddingsInterface } from '@langchain/core/embeddings';

import { DEFAULT_EMBEDDING_MODEL, type Scorer } from '../src/index.js';
import { defaultRelevanceThreshold, listRuns, loadDataset, readTrecRun } from './datasets.js';
import { BiEncoderScorer, denseFirstStage } from './dense.js';
import { evaluateReranking, type FirstStage, type RerankingReport } from './evaluate.js';
import { buildPositionProbes, formatPosition, measurePosition, type PositionReport } from './position.js';
import { createProgress, type ProgressStream } from './progress.js';

/** Weights a model runs with: `onnx/model.onnx` or `onnx/model_quantized.onnx`. */
export type CliVariant = 'fp32' | 'int8';

/** Embeddings the CLI can free when done (`OnnxEmbeddings` has `dispose`). */
export type CliEmbeddings = EmbeddingsInterface & { dispose?(): Promise<void> };

/**
 * The bi-encoder used by `--first-stage dense` and `--reranker bi-encoder` when none is named: the library's hub
 * default, so the tool works from any folder. The repository's scripts pass their locally built copy explicitly.
 */
export const DEFAULT_EVAL_EMBEDDING_MODEL = DEFAULT_EMBEDDING_MODEL;

/** What {@link runCli} needs from its host. */
export interface CliDeps {
  /** Loads a cross-encoder from a folder or hub id, e.g. `CrossEncoder.load(model, { variant })`. */
  loadScorer(model: string, options: { variant: CliVariant }): Promise<Scorer & { dispose?(): Promise<void> }>;
  /** Loads a bi-encoder, e.g. `new OnnxEmbeddings({ model, variant })`; needed by dense retrieval and bi-encoder reranking. */
  loadEmbeddings?(model: string, options: { variant: CliVariant }): Promise<CliEmbeddings>;
  stdout: ProgressStream;
  stderr: ProgressStream;
}

export const HELP = `Usage: npm run eval -- --data <dataset dir> [options]

Measures nDCG@10, MRR@10 and Recall@100 (trec_eval semantics) of a first stage and,
with --model, of its top-k reranked by a cross-encoder.

Options:
  --data <dir>                 BEIR-layout folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv
  --run <file|name>            TREC run to rerank: a path, or a name under <dir>/runs
                               (e.g. "bm25" for runs/bm25.top100.trec)
  --first-stage bm25|dense     bm25: BM25 (k1=0.9, b=0.4) over corpus.jsonl, the default without --run;
                               dense: cosine nearest neighbours of the --embedding-model vectors in a
                               LangChain MemoryVectorStore (corpus vectors cached under --cache-dir)
  --model <dir|hub id>         model to rerank with; omit to measure the first stage only
  --reranker <kind>            cross-encoder (default): score (query, passage) pairs with --model;
                               bi-encoder: cosine of bi-encoder embeddings (--model, default
                               the --embedding-model)
  --variant fp32|int8          weights of the reranking model: onnx/model.onnx or
                               onnx/model_quantized.onnx (default fp32)
  --embedding-model <dir|id>   bi-encoder for dense retrieval (default ${DEFAULT_EVAL_EMBEDDING_MODEL})
  --cache-dir <dir>            where corpus vectors are cached (default .cache/embeddings)
  --save-run <file>            write the first-stage candidates (top --top-k) as a TREC run
  --top-k <n>                  candidates reranked per query (default 100)
  --split <name>               qrels split (default test)
  --relevance-threshold <n>    minimum judgment counted relevant by MRR and Recall
                               (default 2 for TREC DL folders, else 1); nDCG uses graded judgments
  --max-queries <n>            evaluate only the first n judged queries
  --position                   also measure position sensitivity: each evaluated query's best judged
                               passage (its leading sentences) at several offsets of a window of other
                               queries' passages; prints the spread of its score (max - min) over them
  --position-offsets <n>       offsets per answer, evenly spaced start to end (default 5)
  --position-filler-words <n>  words of filler around the answer (default 60; keep the window inside
                               the model's maximum length)
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
  reranker: { type: 'string' },
  variant: { type: 'string' },
  'embedding-model': { type: 'string' },
  'cache-dir': { type: 'string' },
  'save-run': { type: 'string' },
  'top-k': { type: 'string' },
  split: { type: 'string' },
  'relevance-threshold': { type: 'string' },
  'max-queries': { type: 'string' },
  json: { type: 'string' },
  position: { type: 'boolean' },
  'position-offsets': { type: 'string' },
  'position-filler-words': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs `eval` with `argv` (the arguments after the program name, starting with `eval`); resolves to the exit code. */
export async function runCli(argv: string[], deps: CliDeps): Promise<number> {
  let args: ReturnType<typeof parseCli>;
  try {
    args = parseCli(argv);
  } catch (error) {
    if (!(error instanceof UsageError) && !isParseArgsError(error)) throw error;
    deps.stderr.write(`error: ${(error as Error).message}\nRun "npm run eval -- --help" for usage.\n`);
    return 2;
  }
  if (args === 'help') {
    deps.stdout.write(HELP);
    return 0;
  }

  let scorer: Awaited<ReturnType<CliDeps['loadScorer']>> | undefined;
  let embeddings: CliEmbeddings | undefined;
  try {
    const needsEmbeddings = args.firstStage === 'dense' || (args.reranker === 'bi-encoder' && !args.model);
    if ((needsEmbeddings || args.reranker === 'bi-encoder') && !deps.loadEmbeddings)
      throw new Error('this host cannot load a bi-encoder (no loadEmbeddings)');
    const dataset = await loadDataset(args.data, { split: args.split });
    let firstStage: FirstStage = 'bm25';
    if (args.run) firstStage = await readTrecRun(args.run);
    else if (listRuns(args.data).length > 0) {
      deps.stderr.write(
        `note: ${dataset.name} ships first-stage runs; its corpus may be a subset, so ${args.firstStage === 'dense' ? 'dense retrieval' : 'BM25'} over it is not comparable to published numbers (pass --run).\n`,
      );
    }
    if (needsEmbeddings) embeddings = await deps.loadEmbeddings!(args.embeddingModel, { variant: 'fp32' });
    // Embedding the corpus is part of the dense first stage's cost, so the report's first-stage time includes it.
    let corpusEmbeddingMs = 0;
    if (args.firstStage === 'dense') {
      let embedBar: ReturnType<typeof createProgress> | undefined;
      const started = performance.now();
      firstStage = await denseFirstStage(dataset, {
        embeddings: embeddings!,
        modelId: `${resolveIfLocal(args.embeddingModel)}#fp32`,
        cacheDir: args.cacheDir,
        onCache: ({ hit, file }) =>
          deps.stderr.write(`${hit ? 'using cached' : 'embedding the corpus; caching'} vectors: ${file}\n`),
        onProgress: (done, total) => {
          embedBar ??= createProgress('embedding corpus', total, deps.stderr);
          embedBar.update(done);
        },
      });
      embedBar?.finish();
      corpusEmbeddingMs = performance.now() - started;
    }
    if (args.reranker === 'bi-encoder') {
      const encoder = args.model ? await deps.loadEmbeddings!(args.model, { variant: args.variant }) : embeddings!;
      scorer = new BiEncoderScorer(encoder);
      if (encoder === embeddings) embeddings = undefined; // the scorer frees it
    } else if (args.model) scorer = await deps.loadScorer(args.model, { variant: args.variant });
    let bar: ReturnType<typeof createProgress> | undefined;
    const report = await evaluateReranking({
      dataset,
      firstStage,
      scorer,
      topK: args.topK,
      relevanceThreshold: args.relevanceThreshold,
      maxQueries: args.maxQueries,
      keepCandidates: args.saveRun !== undefined,
      onProgress: scorer
        ? (done, total) => {
            bar ??= createProgress('reranking', total, deps.stderr);
            bar.update(done);
          }
        : undefined,
    });
    bar?.finish();
    if (args.firstStage === 'dense') {
      report.settings.firstStage = `dense ${args.embeddingModel}`;
      report.timings.firstStageMs += corpusEmbeddingMs;
      report.timings.totalMs += corpusEmbeddingMs;
      report.timings.corpusEmbeddingMs = corpusEmbeddingMs;
    }
    const modelName = describeModel(args);
    deps.stdout.write(formatReport(report, { run: args.run, model: modelName }));
    let position: PositionReport | undefined;
    if (args.position && scorer) {
      const fillerWords = args.positionFillerWords;
      const { probes, skipped } = buildPositionProbes(dataset, report.queries, {
        offsets: args.positionOffsets,
        fillerWords,
      });
      position = await measurePosition(scorer, probes, { skipped, fillerWords });
      deps.stdout.write(formatPosition(position));
    }
    if (args.saveRun) {
      await writeFile(args.saveRun, formatRun(report.candidates ?? {}, args.topK));
      deps.stderr.write(`wrote ${args.saveRun}\n`);
    }
    if (args.json) {
      const { candidates: _candidates, ...rest } = report;
      const record = {
        tool: 'langchain-cross-encoder eval',
        run: args.run ?? null,
        model: args.model ?? null,
        reranker: scorer ? args.reranker : null,
        variant: scorer ? args.variant : null,
        embeddingModel: args.firstStage === 'dense' || needsEmbeddings ? args.embeddingModel : null,
        ...rest,
        ...(position ? { position } : {}),
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
    await embeddings?.dispose?.();
  }
}

function describeModel(args: CliArgs): string | undefined {
  if (args.reranker === 'bi-encoder')
    return `bi-encoder ${args.model ?? args.embeddingModel} (cosine, ${args.variant})`;
  return args.model ? `${args.model} (${args.variant})` : undefined;
}

/** A local folder given relatively is keyed by its absolute path; hub ids stay as they are. */
function resolveIfLocal(model: string): string {
  return existsSync(model) ? resolve(model) : model;
}

/** First-stage candidates as a TREC run (`qid Q0 docid rank score tag`), best first. */
export function formatRun(candidates: Record<string, { id: string; score: number }[]>, depth: number): string {
  const lines: string[] = [];
  for (const [qid, docs] of Object.entries(candidates))
    docs.slice(0, depth).forEach((d, i) => lines.push(`${qid} Q0 ${d.id} ${i + 1} ${d.score} first-stage`));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

interface CliArgs {
  data: string;
  run?: string;
  model?: string;
  firstStage: 'bm25' | 'dense' | 'run';
  reranker: 'cross-encoder' | 'bi-encoder';
  variant: CliVariant;
  embeddingModel: string;
  cacheDir: string;
  saveRun?: string;
  split: string;
  topK: number;
  relevanceThreshold?: number;
  maxQueries?: number;
  json?: string;
  position: boolean;
  positionOffsets: number;
  positionFillerWords: number;
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
  if (stage !== undefined && stage !== 'bm25' && stage !== 'dense')
    throw new UsageError(`--first-stage must be bm25 or dense, got "${stage}"`);
  const reranker = values.reranker ?? 'cross-encoder';
  if (reranker !== 'cross-encoder' && reranker !== 'bi-encoder')
    throw new UsageError(`--reranker must be cross-encoder or bi-encoder, got "${reranker}"`);
  if (values.position && !values.model && reranker === 'cross-encoder')
    throw new UsageError('--position scores with the reranker: give --model (or --reranker bi-encoder)');
  const variant = values.variant ?? 'fp32';
  if (variant !== 'fp32' && variant !== 'int8')
    throw new UsageError(`--variant must be fp32 or int8, got "${variant}"`);
  return {
    data,
    run: values.run === undefined ? undefined : resolveRun(data, values.run),
    model: values.model,
    firstStage: values.run !== undefined ? 'run' : (stage ?? 'bm25'),
    reranker,
    variant,
    embeddingModel: values['embedding-model'] ?? DEFAULT_EVAL_EMBEDDING_MODEL,
    cacheDir: resolve(values['cache-dir'] ?? join('.cache', 'embeddings')),
    saveRun: values['save-run'],
    split: values.split ?? 'test',
    topK: values['top-k'] === undefined ? 100 : integer('--top-k', values['top-k']),
    relevanceThreshold:
      values['relevance-threshold'] === undefined
        ? undefined
        : finite('--relevance-threshold', values['relevance-threshold']),
    maxQueries: values['max-queries'] === undefined ? undefined : integer('--max-queries', values['max-queries']),
    json: values.json,
    position: values.position ?? false,
    positionOffsets:
      values['position-offsets'] === undefined ? 5 : integer('--position-offsets', values['position-offsets']),
    positionFillerWords:
      values['position-filler-words'] === undefined
        ? 60
        : integer('--position-filler-words', values['position-filler-words']),
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
  // Recall at a cutoff deeper than the candidates kept is recall over what was kept: name the depth that applies.
  const recallK = Math.min(settings.recallCutoff, settings.candidatesKept);
  const out = [
    `${dataset.name} (${dataset.split}): ${report.queries.length} queries evaluated, ${dataset.documents} documents`,
    `first stage: ${first}${settings.reranked ? `; reranked top ${settings.topK} with ${source.model ?? 'the scorer'}` : ''}`,
    `MRR@${settings.mrrCutoff} and Recall@${recallK} count judgment >= ${settings.relevanceThreshold} as relevant` +
      (settings.relevanceThreshold === defaultRelevanceThreshold(dataset.name) ? ' (default for this dataset)' : '') +
      `; nDCG@${settings.ndcgCutoff} uses graded judgments.`,
    '',
    `${'stage'.padEnd(12)}${`nDCG@${settings.ndcgCutoff}`.padStart(10)}${`MRR@${settings.mrrCutoff}`.padStart(10)}${`Recall@${recallK}`.padStart(12)}`,
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
      (t.corpusEmbeddingMs === undefined ? '' : ` (corpus embedding ${(t.corpusEmbeddingMs / 1000).toFixed(1)} s)`) +
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
