// Two-stage search: a bi-encoder (OnnxEmbeddings in a vector store) retrieves candidates fast, then the
// cross-encoder reranks them. Prints both rankings side by side, marking the documents judged relevant.
//
//   npm run example:search                          the bundled examples/data/docs notes, 3 questions
//   npm run example:search -- --data ../shared/data/scifact --limit 400 --queries 3   SciFact (in ../shared/data)
//   npm run example:search -- --data path/to/beir/folder    any BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv)
//   npm run example:search -- --model Xenova/ms-marco-MiniLM-L-6-v2   a hub reranker (needs internet once)
//   npm run example:search -- --store lancedb       LanceDB on disk (also: memory, the default, and chroma)
//   npm run example:search -- --store chroma --chroma-url http://localhost:8000   a running Chroma server
//   npm run example:search -- --stats              a line per query: pairs, windows, padded tokens, time per stage
//
// The reranker is the best one it can reach (examples/pick-models.ts): models/ce-minilm-l6-ict, which
// `npm run models` assembles from ../shared/models, else the hub default (cached, or downloaded on the first run
// with progress), else none: it then shows the vector search alone and says how to get one. The embedding model
// is chosen the same way (models/all-MiniLM-L6-v2, else the hub's). Without --data it searches the bundled notes,
// so it runs the same with or without ../shared.
// The store is kept under --store-dir (default: the OS cache folder, see examples/stores/open-store.ts), keyed by
// the embedding model and the corpus, so a second run reuses it without embedding again. Without --chroma-url,
// --store chroma starts `chroma run` from .venv-chroma (bash tools/chroma-venv.sh builds it).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Document } from '@langchain/core/documents';
import { CrossEncoderReranker, OnnxEmbeddings } from '../src/index.js';
import { BUNDLED_QUESTIONS } from './bundled-questions.js';
import { pickSearchModels } from './pick-models.js';
import { defaultStoreDir, openStore, STORES, type StoreKind } from './stores/open-store.js';
import { statsLine } from './stats-line.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    limit: { type: 'string', default: '400' },
    queries: { type: 'string', default: '3' },
    k: { type: 'string', default: '20' },
    top: { type: 'string', default: '5' },
    model: { type: 'string' },
    'embedding-model': { type: 'string' },
    store: { type: 'string', default: 'memory' },
    'store-dir': { type: 'string', default: defaultStoreDir() },
    'chroma-url': { type: 'string' },
    stats: { type: 'boolean', default: false },
  },
});
if (!(STORES as readonly string[]).includes(values.store)) {
  throw new Error(`--store expects one of ${STORES.join(', ')}, got ${values.store}.`);
}
const int = (flag: 'limit' | 'queries' | 'k' | 'top') => {
  const n = Number(values[flag]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} expects a positive integer, got ${values[flag]}.`);
  return n;
};

interface Dataset {
  name: string;
  docs: Document[];
  queries: { id: string; text: string; relevant: Set<string> }[];
}

async function readJsonl(file: string): Promise<Record<string, string>[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, string>);
}

/** A BEIR folder, cut to `limit` documents that always include the judged ones of the chosen queries. */
async function loadBeir(dir: string, limit: number, queryCount: number): Promise<Dataset> {
  const qrels = new Map<string, Set<string>>();
  for (const line of (await readFile(path.join(dir, 'qrels/test.tsv'), 'utf8')).split('\n').slice(1)) {
    const [qid, docId, score] = line.split('\t');
    if (!qid || !docId || Number(score) <= 0) continue;
    if (!qrels.has(qid)) qrels.set(qid, new Set());
    qrels.get(qid)?.add(docId);
  }
  const queries = (await readJsonl(path.join(dir, 'queries.jsonl')))
    .filter((q) => qrels.has(q['_id'] as string))
    .slice(0, queryCount)
    .map((q) => ({
      id: q['_id'] as string,
      text: q['text'] as string,
      relevant: qrels.get(q['_id'] as string) as Set<string>,
    }));
  const needed = new Set(queries.flatMap((q) => [...q.relevant]));
  const corpus = await readJsonl(path.join(dir, 'corpus.jsonl'));
  const chosen = corpus.filter((d) => needed.has(d['_id'] as string));
  for (const d of corpus) {
    if (chosen.length >= Math.max(limit, needed.size)) break;
    if (!needed.has(d['_id'] as string)) chosen.push(d);
  }
  const docs = chosen.map(
    (d) =>
      new Document({
        pageContent: `${d['title'] ?? ''}\n${d['text'] ?? ''}`.trim(),
        metadata: { title: d['title'] ?? '' },
        id: d['_id'] as string,
      }),
  );
  return { name: `${path.basename(dir)} (${docs.length} of ${corpus.length} documents)`, docs, queries };
}

/** The bundled folder: one document per file, with the first `queryCount` questions whose answering file is known. */
async function loadBundled(queryCount: number): Promise<Dataset> {
  const dir = path.join(import.meta.dirname, 'data/docs');
  const docs: Document[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const text = await readFile(path.join(dir, name), 'utf8');
    docs.push(new Document({ pageContent: text, metadata: { title: name }, id: name }));
  }
  const queries = BUNDLED_QUESTIONS.slice(0, queryCount).map(({ id, text, relevant }) => ({
    id,
    text,
    relevant: new Set([relevant]),
  }));
  return { name: 'bundled houseplant notes', docs, queries };
}

const short = (text: string, n = 70) => (text.length > n ? `${text.slice(0, n - 1)}…` : text).replace(/\s+/g, ' ');

async function main(): Promise<void> {
  const dataset =
    values.data === undefined
      ? await loadBundled(int('queries'))
      : existsSync(path.join(values.data, 'corpus.jsonl'))
        ? await loadBeir(values.data, int('limit'), int('queries'))
        : (console.log(`No BEIR data at ${values.data}; using the bundled notes.`), await loadBundled(int('queries')));
  const picked = await pickSearchModels(
    { embeddingModel: values['embedding-model'], model: values.model },
    path.join(repoRoot, 'models'),
  );
  if (picked === undefined) return;
  const { embeddings: embeddingChoice, reranker: rerankerChoice } = picked;
  console.log(`Corpus: ${dataset.name}\n${rerankerChoice.line}\n${embeddingChoice.line}`);
  const model = rerankerChoice.model;
  const embeddingModel = embeddingChoice.model;

  const embeddings = new OnnxEmbeddings({ model: embeddingModel, ...embeddingChoice.hub });
  await embeddings.warmup(); // loaded before indexing, so the docs/s printed are embedding and writing only
  const store = await openStore(values.store as StoreKind, embeddings, embeddingModel, dataset.docs, {
    storeDir: path.resolve(values['store-dir']),
    chromaUrl: values['chroma-url'],
  });
  console.log(store.report);
  let stats = '';
  const reranker =
    model === undefined
      ? undefined
      : new CrossEncoderReranker({
          model,
          ...rerankerChoice.hub,
          topN: int('top'),
          ...(values.stats ? { onStats: (s) => (stats = statsLine(s)) } : {}),
        });

  try {
    // Loaded (or downloaded) before the first query, so the timings printed are reranking only.
    await reranker?.warmup();
    for (const query of dataset.queries) {
      const started = Date.now();
      const candidates = await store.search(query.text, int('k'));
      const firstStage = Date.now() - started;
      const reranked = reranker
        ? await reranker.compressDocuments(
            candidates.map(([doc]) => doc),
            query.text,
          )
        : [];
      const secondStage = Date.now() - started - firstStage;
      const mark = (id: string | undefined) => (id !== undefined && query.relevant.has(id) ? '✔' : ' ');
      console.log(`\nQuery ${query.id}: ${query.text}`);
      console.log(`  before: vector search top ${int('top')} of ${candidates.length} (${firstStage} ms)`);
      candidates.slice(0, int('top')).forEach(([doc, cosine], i) => {
        console.log(
          `   ${mark(doc.id)} ${String(i + 1).padStart(2)}. cosine ${cosine.toFixed(4)}  ${short(doc.pageContent)}`,
        );
      });
      if (!reranker) continue;
      console.log(`  after: cross-encoder reranking of those ${candidates.length} (${secondStage} ms)`);
      if (values.stats) console.log(stats);
      reranked.forEach((doc, i) => {
        const was = candidates.findIndex(([c]) => c.id === doc.id) + 1;
        const cosine = candidates[was - 1]?.[1] ?? Number.NaN;
        console.log(
          `   ${mark(doc.id)} ${String(i + 1).padStart(2)}. rerank ${(doc.metadata['relevanceScore'] as number).toFixed(4)}` +
            `  cosine ${cosine.toFixed(4)}  (was #${was})  ${short(doc.pageContent, 50)}`,
        );
      });
    }
    console.log('\n✔ = judged relevant.');
  } finally {
    await store.close();
    await reranker?.dispose();
    await embeddings.dispose();
  }
}

await main();
