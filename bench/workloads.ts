// Benchmark workloads: real TREC DL 2019 BM25 candidate lists, plus synthetic sweeps of candidate count and
// passage length built from the same corpus. Every runner (JS and Python) reads the same JSON file.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openPairTokenizer } from '../src/engine/model-files.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CACHE = join(ROOT, 'bench', '.cache');
export const DATA = process.env['BENCH_DATA'] ?? join(ROOT, '..', 'shared', 'data', 'trec-dl-2019-passage');

/** One rerank call: a query and its candidates. */
export interface WorkItem {
  id: string;
  query: string;
  passages: string[];
}

/** A named list of rerank calls; `tokens` is the mean pair length in model tokens (special tokens included). */
export interface Workload {
  key: string;
  kind: 'dl19' | 'candidates' | 'length';
  /** Candidates per call (candidates sweep) or target pair length in tokens (length sweep). */
  param: number;
  items: WorkItem[];
}

async function readJsonl(path: string, onRow: (row: Record<string, string>) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== '') onRow(JSON.parse(line) as Record<string, string>);
}

/** DL19 queries with their BM25 top-100 candidates, in run order. */
export async function loadDl19(): Promise<WorkItem[]> {
  const queries = new Map<string, string>();
  await readJsonl(join(DATA, 'queries.jsonl'), (row) => queries.set(row['_id'] as string, row['text'] as string));
  const runs = new Map<string, string[]>();
  for (const line of readFileSync(join(DATA, 'runs', 'bm25.top100.trec'), 'utf8').split('\n')) {
    const [qid, , docid] = line.split(/\s+/);
    if (qid === undefined || docid === undefined || qid === '') continue;
    const list = runs.get(qid) ?? [];
    list.push(docid);
    runs.set(qid, list);
  }
  const wanted = new Set([...runs.values()].flat());
  const texts = new Map<string, string>();
  await readJsonl(join(DATA, 'corpus.jsonl'), (row) => {
    const id = row['_id'] as string;
    if (!wanted.has(id)) return;
    const title = row['title'] ?? '';
    texts.set(id, title === '' ? (row['text'] as string) : `${title} ${row['text'] as string}`);
  });
  return [...runs.entries()].map(([qid, docs]) => ({
    id: qid,
    query: queries.get(qid) as string,
    passages: docs.map((d) => texts.get(d) as string),
  }));
}

/** Spreads `n` picks over `total` positions deterministically. */
function spread<T>(list: readonly T[], n: number): T[] {
  if (n >= list.length) return [...list];
  return Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)] as T);
}

export interface WorkloadPlan {
  dl19Queries: number;
  candidates: number[];
  lengths: number[];
  /** Calls per sweep point. */
  sweepCalls: number;
}

export const FULL_PLAN: WorkloadPlan = {
  dl19Queries: 12,
  candidates: [10, 50, 100, 500, 1000],
  lengths: [16, 32, 64, 128, 256, 512],
  sweepCalls: 1,
};

export const QUICK_PLAN: WorkloadPlan = {
  dl19Queries: 3,
  candidates: [10, 100, 500],
  lengths: [32, 128, 512],
  sweepCalls: 1,
};

/** Builds (or reads from the cache) every workload of a plan. Passages are real DL19 text. */
export async function buildWorkloads(
  plan: WorkloadPlan,
  tokenizerDir: string,
  lengthSweepCandidates = 32,
): Promise<Workload[]> {
  const cacheFile = join(
    CACHE,
    `workloads-${JSON.stringify({ ...plan, lengthSweepCandidates }).replace(/[^0-9a-z]+/gi, '_')}.json`,
  );
  if (existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, 'utf8')) as Workload[];
  const dl19 = await loadDl19();
  const workloads: Workload[] = [];
  workloads.push({ key: 'dl19', kind: 'dl19', param: 100, items: spread(dl19, plan.dl19Queries) });

  // Candidate sweep: the first query against a pool of every distinct DL19 candidate (4,000+ passages).
  const pool = [...new Set(dl19.flatMap((q) => q.passages))];
  for (const n of plan.candidates) {
    const items = Array.from({ length: plan.sweepCalls }, (_, c) => {
      const q = dl19[(c * 7) % dl19.length] as WorkItem;
      const start = (c * 997) % pool.length;
      const passages = Array.from({ length: n }, (_, i) => pool[(start + i) % pool.length] as string);
      return { id: `${q.id}-n${n}`, query: q.query, passages };
    });
    workloads.push({ key: `cand-${n}`, kind: 'candidates', param: n, items });
  }

  // Length sweep: `lengthSweepCandidates` candidates per call, each pair exactly `len` tokens after truncation (built from corpus
  // text long enough to be cut, so every runner sees the same pair length).
  const tokenizer = await openPairTokenizer({
    tokenizerJson: join(tokenizerDir, 'tokenizer.json'),
    tokenizerConfig: join(tokenizerDir, 'tokenizer_config.json'),
  });
  const longText = pool.join(' ').split(/\s+/);
  for (const len of plan.lengths) {
    const items: WorkItem[] = [];
    for (let c = 0; c < plan.sweepCalls; c++) {
      const q = dl19[(c * 11 + 3) % dl19.length] as WorkItem;
      const qTokens = (await tokenizer.encodeText(q.query)).ids.length;
      const want = Math.max(1, len - qTokens - tokenizer.addedTokens);
      const passages: string[] = [];
      let cursor = c * 5000;
      for (let i = 0; i < lengthSweepCandidates; i++) {
        // The longest word window holding at most `want` tokens (every word is at least one token).
        const window = (k: number) => Array.from({ length: k }, (_, w) => longText[(cursor + w) % longText.length]);
        const count = async (k: number) => (await tokenizer.encodeText(window(k).join(' '))).ids.length;
        let lo = 1;
        let hi = want;
        while (lo < hi) {
          const mid = Math.ceil((lo + hi) / 2);
          if ((await count(mid)) <= want) lo = mid;
          else hi = mid - 1;
        }
        const words = window(lo);
        cursor += lo;
        passages.push(words.join(' '));
      }
      items.push({ id: `${q.id}-L${len}`, query: q.query, passages });
    }
    workloads.push({ key: `len-${len}`, kind: 'length', param: len, items });
  }
  await mkdir(CACHE, { recursive: true });
  await writeFile(cacheFile, JSON.stringify(workloads));
  return workloads;
}

/** Writes workloads where the Python runner reads them. */
export async function writeWorkloadFile(workloads: Workload[]): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const path = join(CACHE, 'workloads.current.json');
  await writeFile(path, JSON.stringify(workloads));
  return path;
}
