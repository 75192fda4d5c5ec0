/**
 * Dense first stage and bi-encoder reranking for the evaluation: a LangChain embeddings model
 * (all-MiniLM-L6-v2 through `OnnxEmbeddings` in the CLI) embeds the corpus into a
 * `MemoryVectorStore`, which returns the nearest documents by cosine similarity. Corpus vectors
 * are cached on disk, keyed by model and corpus content, so a second run skips the embedding.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';

import { InvalidArgumentError } from '../src/index.js';
import type { RankOptions, RankResult, Scorer, ScoreOptions, TextPair } from '../src/index.js';
import { type Dataset, passageText } from './datasets.js';
import type { FirstStageFunction } from './evaluate.js';
import type { ScoredDoc } from './metrics.js';

/** Options for {@link denseFirstStage}. */
export interface DenseFirstStageOptions {
  /** Embeds the corpus (`embedDocuments`) and each query (`embedQuery`). */
  embeddings: EmbeddingsInterface;
  /** Names the model in the cache key, e.g. its folder or hub id (plus variant). */
  modelId: string;
  /** Folder for cached corpus vectors; omit to embed every time. */
  cacheDir?: string;
  /** Documents per `embedDocuments` call (progress is reported after each). @default 256 */
  chunkSize?: number;
  /** Called after each chunk of the corpus is embedded. */
  onProgress?: (done: number, total: number) => void;
  /** Told whether the vectors came from the cache. */
  onCache?: (event: { hit: boolean; file: string }) => void;
}

/** The cache key of a corpus under a model: sha256 over the model id and every (id, passage text). */
export function corpusKey(modelId: string, docs: Iterable<{ id: string; text: string }>): string {
  const h = createHash('sha256');
  h.update(`model\0${modelId}\0`);
  for (const doc of docs) h.update(`${doc.id}\0${doc.text}\0`);
  return h.digest('hex').slice(0, 24);
}

/** Corpus documents in file order with the text a ranker reads; empty passages are left out. */
function corpusTexts(dataset: Dataset): { id: string; text: string }[] {
  const out: { id: string; text: string }[] = [];
  for (const doc of dataset.corpus.values()) {
    const text = passageText(doc);
    if (text.trim() !== '') out.push({ id: doc.id, text });
  }
  return out;
}

function readCache(file: string, ids: readonly string[]): number[][] | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const buf = readFileSync(file);
    const dim = buf.readUInt32LE(0);
    const count = buf.readUInt32LE(4);
    if (count !== ids.length || dim === 0 || buf.length !== 8 + dim * count * 4) return undefined;
    const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + buf.length));
    const out: number[][] = [];
    for (let i = 0; i < count; i++) out.push(Array.from(floats.subarray(i * dim, (i + 1) * dim)));
    return out;
  } catch {
    return undefined; // a damaged cache is rebuilt
  }
}

function writeCache(file: string, vectors: readonly number[][]): void {
  const dim = vectors[0]?.length ?? 0;
  const buf = Buffer.alloc(8 + dim * vectors.length * 4);
  buf.writeUInt32LE(dim, 0);
  buf.writeUInt32LE(vectors.length, 4);
  const floats = new Float32Array(buf.buffer, buf.byteOffset + 8, dim * vectors.length);
  vectors.forEach((v, i) => floats.set(v, i * dim));
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, buf);
  renameSync(tmp, file); // atomic: a reader never sees half a file
}

/**
 * Embeds the corpus into a LangChain `MemoryVectorStore` and returns a first stage that gives each
 * query its `depth` nearest documents by cosine similarity.
 */
export async function denseFirstStage(dataset: Dataset, options: DenseFirstStageOptions): Promise<FirstStageFunction> {
  const { embeddings } = options;
  const chunkSize = options.chunkSize ?? 256;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new InvalidArgumentError('chunkSize', `must be a positive integer, got ${chunkSize}`);
  const docs = corpusTexts(dataset);
  const ids = docs.map((d) => d.id);
  let file: string | undefined;
  let vectors: number[][] | undefined;
  if (options.cacheDir) {
    mkdirSync(options.cacheDir, { recursive: true });
    file = join(options.cacheDir, `${corpusKey(options.modelId, docs)}.f32`);
    vectors = readCache(file, ids);
    options.onCache?.({ hit: vectors !== undefined, file });
  }
  if (vectors === undefined) {
    vectors = [];
    for (let i = 0; i < docs.length; i += chunkSize) {
      const chunk = docs.slice(i, i + chunkSize).map((d) => d.text);
      vectors.push(...(await embeddings.embedDocuments(chunk)));
      options.onProgress?.(Math.min(i + chunkSize, docs.length), docs.length);
    }
    if (file && vectors.length > 0) writeCache(file, vectors);
  } else {
    options.onProgress?.(docs.length, docs.length);
  }
  const store = new MemoryVectorStore(embeddings);
  await store.addVectors(
    vectors,
    docs.map((d) => new Document({ pageContent: '', metadata: { id: d.id }, id: d.id })),
  );
  return async (query, depth): Promise<ScoredDoc[]> => {
    const vector = await embeddings.embedQuery(query.text);
    const hits = await store.similaritySearchVectorWithScore(vector, depth);
    return hits.map(([doc, score]) => ({ id: doc.metadata.id as string, score }));
  };
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * A {@link Scorer} from a bi-encoder: the score of a (query, passage) pair is the cosine similarity
 * of their embeddings. Reranking with it is the baseline a cross-encoder has to beat.
 */
export class BiEncoderScorer implements Scorer {
  readonly #embeddings: EmbeddingsInterface & { dispose?(): Promise<void> };

  constructor(embeddings: EmbeddingsInterface & { dispose?(): Promise<void> }) {
    this.#embeddings = embeddings;
  }

  async score(pairs: readonly TextPair[], options: ScoreOptions = {}): Promise<number[]> {
    if (pairs.length === 0) return [];
    options.signal?.throwIfAborted();
    const queries = [...new Set(pairs.map(([q]) => q))];
    const queryVectors = new Map<string, number[]>();
    for (const q of queries) queryVectors.set(q, await this.#embeddings.embedQuery(q));
    options.signal?.throwIfAborted();
    const passages = await this.#embeddings.embedDocuments(pairs.map(([, p]) => p));
    return pairs.map(([q], i) => cosine(queryVectors.get(q)!, passages[i]!));
  }

  async rank(query: string, documents: readonly string[], options: RankOptions = {}): Promise<RankResult[]> {
    const scores = await this.score(
      documents.map((d) => [query, d] as const),
      options,
    );
    const ranked = scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score); // stable
    return options.topK === undefined ? ranked : ranked.slice(0, options.topK);
  }

  async dispose(): Promise<void> {
    await this.#embeddings.dispose?.();
  }
}
