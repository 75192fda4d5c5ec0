/**
 * Streaming readers for retrieval data in BEIR layout (`corpus.jsonl`, `queries.jsonl`,
 * `qrels/<split>.tsv`) and for TREC run files. Every parse error names the file and the line.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import { CrossEncoderError, InvalidArgumentError } from '../src/index.js';
import type { Qrels, ScoredDoc } from './metrics.js';

/** A data file is malformed. `file` and `line` (1-based) locate the fault. */
export class DatasetFormatError extends CrossEncoderError {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, message: string) {
    super('DATASET_FORMAT', `${file}:${line}: ${message}`);
    this.file = file;
    this.line = line;
  }
}

/** One corpus document. `title` is `''` when the corpus has none (e.g. MS MARCO). */
export interface CorpusDoc {
  id: string;
  title: string;
  text: string;
}

/** A query and its text. */
export interface Query {
  id: string;
  text: string;
}

/** One line of a TREC run, as given. */
export interface RunEntry extends ScoredDoc {
  readonly rank: number;
}

/** Query id → entries best first (see {@link readTrecRun}). Usable wherever a metrics `Run` is expected. */
export type TrecRun = Map<string, RunEntry[]>;

/**
 * The text a ranker reads for a document. BEIR's reranking and sentence-transformers'
 * evaluators feed `(title + ' ' + text).strip()`; so does this, except that a title the text
 * already starts with is not repeated (Cranfield's abstracts open with their title), which
 * changes nothing on BEIR's own datasets.
 */
export function passageText(doc: Pick<CorpusDoc, 'title' | 'text'>): string {
  const title = doc.title.trim();
  const text = doc.text.trim();
  if (!title || text.startsWith(title)) return text;
  return text ? `${title} ${text}` : title;
}

/** Non-empty lines of a UTF-8 file with their 1-based numbers; CRLF and a leading BOM are handled. */
async function* lines(file: string): AsyncGenerator<{ line: string; n: number }> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (let line of reader) {
      n++;
      if (n === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.trim() !== '') yield { line, n };
    }
  } finally {
    reader.close();
    input.destroy();
  }
}

function parseJsonObject(file: string, n: number, line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new DatasetFormatError(file, n, `invalid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DatasetFormatError(file, n, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

/** `_id` may be a string or a number in the wild; both become strings. */
function idField(file: string, n: number, record: Record<string, unknown>): string {
  const id = record._id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  throw new DatasetFormatError(file, n, 'missing or empty "_id"');
}

function stringField(file: string, n: number, record: Record<string, unknown>, key: string, required: boolean): string {
  const value = record[key];
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) {
    if (!required) return '';
    throw new DatasetFormatError(file, n, `missing "${key}"`);
  }
  throw new DatasetFormatError(file, n, `"${key}" must be a string`);
}

async function* corpusRecords(file: string): AsyncGenerator<[CorpusDoc, number]> {
  for await (const { line, n } of lines(file)) {
    const record = parseJsonObject(file, n, line);
    const doc = {
      id: idField(file, n, record),
      title: stringField(file, n, record, 'title', false),
      text: stringField(file, n, record, 'text', true),
    };
    yield [doc, n];
  }
}

async function* queryRecords(file: string): AsyncGenerator<[Query, number]> {
  for await (const { line, n } of lines(file)) {
    const record = parseJsonObject(file, n, line);
    yield [{ id: idField(file, n, record), text: stringField(file, n, record, 'text', true) }, n];
  }
}

/** Streams `corpus.jsonl` records (`_id`, optional `title`, `text`). Other fields are ignored. */
export async function* readCorpus(file: string): AsyncGenerator<CorpusDoc> {
  for await (const [doc] of corpusRecords(file)) yield doc;
}

/** Streams `queries.jsonl` records (`_id`, `text`). */
export async function* readQueries(file: string): AsyncGenerator<Query> {
  for await (const [query] of queryRecords(file)) yield query;
}

/** Collects records into a map keyed by id; a repeated id is an error. */
async function collect<T extends { id: string }>(
  file: string,
  records: AsyncIterable<[T, number]>,
): Promise<Map<string, T>> {
  const map = new Map<string, T>();
  for await (const [item, n] of records) {
    if (map.has(item.id)) throw new DatasetFormatError(file, n, `duplicate id ${item.id}`);
    map.set(item.id, item);
  }
  return map;
}

/** The whole corpus, keyed by id, in file order. */
export function loadCorpus(file: string): Promise<Map<string, CorpusDoc>> {
  return collect(file, corpusRecords(file));
}

/** Query id → text, in file order. */
export async function loadQueries(file: string): Promise<Map<string, string>> {
  const queries = await collect(file, queryRecords(file));
  return new Map([...queries].map(([id, q]) => [id, q.text]));
}

/**
 * Reads qrels: BEIR TSV (`query-id<TAB>corpus-id<TAB>score`, header optional) or TREC qrels
 * (`qid iter docid rel`). Judgments must be integers, as trec_eval reads them; a repeated
 * (query, document) pair is an error, as in trec_eval.
 */
export async function readQrels(file: string): Promise<Map<string, Map<string, number>>> {
  const qrels = new Map<string, Map<string, number>>();
  let first = true;
  for await (const { line, n } of lines(file)) {
    const fields = line.includes('\t') ? line.split('\t').map((f) => f.trim()) : line.trim().split(/\s+/);
    // BEIR's header line (`query-id corpus-id score`): a first line whose judgment is not a number.
    const isHeader = first && fields.length === 3 && Number.isNaN(Number(fields[2]));
    first = false;
    if (isHeader) continue;
    if (fields.length !== 3 && fields.length !== 4) {
      throw new DatasetFormatError(file, n, `expected 3 (BEIR) or 4 (TREC) fields, got ${fields.length}`);
    }
    const [qid, docid, rel] = fields.length === 3 ? fields : [fields[0], fields[2], fields[3]];
    if (!qid || !docid) throw new DatasetFormatError(file, n, 'empty query or document id');
    if (!/^[+-]?\d+$/.test(rel!)) throw new DatasetFormatError(file, n, `judgment must be an integer, got "${rel}"`);
    let judgments = qrels.get(qid);
    if (!judgments) qrels.set(qid, (judgments = new Map()));
    if (judgments.has(docid))
      throw new DatasetFormatError(file, n, `duplicate judgment for query ${qid}, document ${docid}`);
    judgments.set(docid, Number.parseInt(rel!, 10));
  }
  return qrels;
}

/**
 * Reads a TREC run (`qid Q0 docid rank score tag`, whitespace-separated). Each query's entries
 * are sorted by the rank column; equal ranks fall back to trec_eval's order (score descending,
 * then id descending). Note that metrics ignore the rank column, like trec_eval: they re-sort
 * by score. A document repeated within a query is an error, as in trec_eval.
 */
export async function readTrecRun(file: string): Promise<TrecRun> {
  const run: TrecRun = new Map();
  const seen = new Map<string, Set<string>>();
  for await (const { line, n } of lines(file)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 6)
      throw new DatasetFormatError(file, n, `expected 6 fields (qid Q0 docid rank score tag), got ${fields.length}`);
    const [qid, , id, rankText, scoreText] = fields as [string, string, string, string, string, string];
    const rank = Number(rankText);
    const score = Number(scoreText);
    if (!Number.isInteger(rank)) throw new DatasetFormatError(file, n, `rank must be an integer, got "${rankText}"`);
    if (!Number.isFinite(score))
      throw new DatasetFormatError(file, n, `score must be a finite number, got "${scoreText}"`);
    let docs = seen.get(qid);
    if (!docs) seen.set(qid, (docs = new Set()));
    if (docs.has(id)) throw new DatasetFormatError(file, n, `document ${id} appears twice for query ${qid}`);
    docs.add(id);
    let entries = run.get(qid);
    if (!entries) run.set(qid, (entries = []));
    entries.push({ id, rank, score });
  }
  for (const entries of run.values()) {
    entries.sort(
      (a, b) => a.rank - b.rank || (a.score !== b.score ? b.score - a.score : a.id < b.id ? 1 : a.id > b.id ? -1 : 0),
    );
  }
  return run;
}

/** A dataset loaded in memory. */
export interface Dataset {
  /** The folder name, e.g. `scifact`. */
  name: string;
  dir: string;
  split: string;
  corpus: Map<string, CorpusDoc>;
  /** Query id → text. */
  queries: Map<string, string>;
  qrels: Qrels;
}

/** Options for {@link loadDataset}. */
export interface LoadDatasetOptions {
  /** Which `qrels/<split>.tsv` to read. @default 'test' */
  split?: string;
}

/** Loads a BEIR-layout folder. Throws `InvalidArgumentError` when a required file is absent. */
export async function loadDataset(dir: string, options: LoadDatasetOptions = {}): Promise<Dataset> {
  const split = options.split ?? 'test';
  const root = resolve(dir);
  const paths = {
    corpus: join(root, 'corpus.jsonl'),
    queries: join(root, 'queries.jsonl'),
    qrels: join(root, 'qrels', `${split}.tsv`),
  };
  for (const [what, path] of Object.entries(paths)) {
    if (!existsSync(path)) throw new InvalidArgumentError('data', `no ${what} file at ${path}`);
  }
  const [corpus, queries, qrels] = await Promise.all([
    loadCorpus(paths.corpus),
    loadQueries(paths.queries),
    readQrels(paths.qrels),
  ]);
  return { name: basename(root), dir: root, split, corpus, queries, qrels };
}

/** Run files shipped with a dataset (`runs/*.trec`), sorted by name; `[]` when there are none. */
export function listRuns(dir: string): string[] {
  const runs = join(resolve(dir), 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs)
    .filter((f) => f.endsWith('.trec'))
    .sort()
    .map((f) => join(runs, f));
}

/**
 * The default relevance threshold for binary measures: 2 for TREC DL / MS MARCO passage
 * judgments (NIST's 0-3 scale, where 1 means "related"), 1 elsewhere (SciFact, Cranfield, BEIR).
 */
export function defaultRelevanceThreshold(datasetName: string): number {
  return /trec-dl|msmarco|dl(19|20|21|22)/i.test(datasetName) ? 2 : 1;
}
