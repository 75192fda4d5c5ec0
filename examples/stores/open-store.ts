// The example's store choice: MemoryVectorStore (vectors cached in a JSON file), LanceDB (a folder) or Chroma (a
// server, started from .venv-chroma unless a URL is given). Each is keyed by the embedding model and the corpus,
// so a second run over the same documents reuses what the first one wrote instead of embedding again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import type { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { chromaAppend, chromaCount, chromaStore, startChromaServer, type ChromaServer } from './chroma.js';
import { ingest, progressPrinter } from './ingest.js';
import { FilterableLanceDB } from './lancedb.js';

export const STORES = ['memory', 'lancedb', 'chroma'] as const;
export type StoreKind = (typeof STORES)[number];

export interface OpenedStore {
  /** Nearest documents with their cosine similarity, best first. */
  search(query: string, k: number): Promise<[Document, number][]>;
  /** What happened to the corpus: indexed now (and how fast) or reused. */
  report: string;
  close(): Promise<void>;
}

/** The OS cache folder for the example's stores: $XDG_CACHE_HOME, ~/Library/Caches, %LOCALAPPDATA% or ~/.cache. */
export function defaultStoreDir(): string {
  const base =
    process.env['XDG_CACHE_HOME'] ||
    (process.platform === 'darwin'
      ? path.join(os.homedir(), 'Library/Caches')
      : process.platform === 'win32'
        ? (process.env['LOCALAPPDATA'] ?? path.join(os.homedir(), 'AppData/Local'))
        : path.join(os.homedir(), '.cache'));
  return path.join(base, 'langchain-cross-encoder', 'example-stores');
}

function corpusKey(model: string, docs: readonly Document[]): string {
  const hash = createHash('sha256').update(model).update('\0');
  for (const d of docs)
    hash
      .update(d.id ?? '')
      .update('\0')
      .update(d.pageContent)
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

const indexed = (p: { done: number; seconds: number; docsPerSecond: number }, where: string) =>
  `Indexed ${p.done} documents into ${where} in ${p.seconds.toFixed(1)} s (${p.docsPerSecond.toFixed(1)} docs/s).`;

export async function openStore(
  kind: StoreKind,
  embeddings: EmbeddingsInterface,
  model: string,
  docs: readonly Document[],
  options: { storeDir: string; chromaUrl?: string | undefined },
): Promise<OpenedStore> {
  const key = corpusKey(model, docs);
  const name = `docs-${key}`;
  const printer = progressPrinter('Embedding');

  if (kind === 'lancedb') {
    const dir = path.join(options.storeDir, 'lancedb');
    const existing = await FilterableLanceDB.open(embeddings, dir, name);
    if (existing !== undefined && (await existing.count()) === docs.length) {
      return {
        search: (q, k) => existing.similaritySearchWithScore(q, k),
        report: `Reusing LanceDB table ${name} in ${dir} (${docs.length} documents, nothing embedded).`,
        close: async () => {},
      };
    }
    let store: FilterableLanceDB | undefined;
    const done = await ingest(
      embeddings,
      docs,
      async (slice, vectors) => {
        // The first slice (re)creates the table, so a half-written one from an interrupted run is replaced.
        if (store === undefined) store = await FilterableLanceDB.create(embeddings, dir, name, slice, vectors);
        else await store.append(slice, vectors);
      },
      { onProgress: printer },
    );
    const opened = store as FilterableLanceDB;
    return {
      search: (q, k) => opened.similaritySearchWithScore(q, k),
      report: indexed(done, `LanceDB table ${name} in ${dir}`),
      close: async () => {},
    };
  }

  if (kind === 'chroma') {
    let server: ChromaServer | undefined;
    let url = options.chromaUrl;
    if (url === undefined) {
      server = await startChromaServer(path.join(options.storeDir, 'chroma'));
      url = server.url;
    }
    const store = chromaStore(embeddings, url, name);
    // Chroma returns cosine distance; the example prints similarity like the other stores.
    const search = async (q: string, k: number) =>
      (await store.similaritySearchWithScore(q, k)).map(([d, distance]): [Document, number] => [d, 1 - distance]);
    const close = async () => server?.stop();
    if ((await chromaCount(store)) === docs.length) {
      return { search, close, report: `Reusing Chroma collection ${name} at ${url} (nothing embedded).` };
    }
    // Upserts by id: documents an interrupted run already wrote are replaced, not duplicated.
    const done = await ingest(embeddings, docs, (slice, vectors) => chromaAppend(store, slice, vectors), {
      onProgress: printer,
    });
    return { search, close, report: indexed(done, `Chroma collection ${name} at ${url}`) };
  }

  const file = path.join(options.storeDir, 'memory', `${name}.json`);
  const store = new MemoryVectorStore(embeddings);
  if (existsSync(file)) {
    await store.addVectors(JSON.parse(await readFile(file, 'utf8')) as number[][], [...docs]);
    return {
      search: (q, k) => store.similaritySearchWithScore(q, k),
      report: `Reusing vectors from ${file} (${docs.length} documents, nothing embedded).`,
      close: async () => {},
    };
  }
  const vectors: number[][] = [];
  const done = await ingest(
    embeddings,
    docs,
    async (slice, sliceVectors) => {
      vectors.push(...sliceVectors);
      await store.addVectors(sliceVectors, slice);
    },
    { onProgress: printer },
  );
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(vectors));
  return {
    search: (q, k) => store.similaritySearchWithScore(q, k),
    report: indexed(done, `memory (vectors saved to ${file})`),
    close: async () => {},
  };
}
