import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import type { Document } from '@langchain/core/documents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMA_BIN,
  chromaAppend,
  chromaStore,
  startChromaServer,
  type ChromaServer,
} from '../../examples/stores/chroma.js';
import { FilterableLanceDB } from '../../examples/stores/lancedb.js';
import { CrossEncoderReranker, OnnxEmbeddings } from '../../src/index.js';
import { modelDir, REPO_ROOT } from '../helpers/models.js';
import type { ReopenReply, ReopenRequest } from './helpers/reopen-and-rerank.js';
import { runPipeline, type PipelineResult } from './helpers/rerank-pipeline.js';
import { scifactDocs, scifactMissing, scifactQueries } from './helpers/scifact.js';

// Real stores through @langchain/community, written here and reopened in a new process, must hand the reranker the
// same candidates as MemoryVectorStore over the same vectors, and so get the same reranked order back.

/** The reranker these tests run (a project-built model folder name). */
const RERANKER_MODEL = 'ce-minilm-l6-ict';
const EMBEDDER_MODEL = 'all-MiniLM-L6-v2';
const CORPUS_SIZE = 400;
const K = 10;
const TOP_N = 5;
// Embedding the 400 abstracts is the slow part: minutes when the machine is shared.
const INDEXING_TIMEOUT_MS = 1_200_000;
const CHILD = path.join(import.meta.dirname, 'helpers/reopen-and-rerank.ts');

const chromaMissing = existsSync(CHROMA_BIN)
  ? undefined
  : `no Chroma server at ${CHROMA_BIN} (build it with \`bash tools/chroma-venv.sh\`)`;
for (const reason of [scifactMissing, chromaMissing]) if (reason !== undefined) console.warn(`skipping: ${reason}`);

let docs: Document[];
let vectors: number[][];
let runs: ReopenRequest['runs'];
let expected: PipelineResult[];
let workDir: string;

beforeAll(async () => {
  if (scifactMissing !== undefined) return;
  workDir = await mkdtemp(path.join(os.tmpdir(), 'lce-stores-'));
  docs = await scifactDocs(CORPUS_SIZE);
  // Each query once over the whole corpus and once filtered to one shard (a quarter of it).
  runs = (await scifactQueries(2)).flatMap((query, i) => [{ query }, { query, shard: i % 4 }]);
  const embeddings = new OnnxEmbeddings({ model: modelDir(EMBEDDER_MODEL) });
  const reranker = new CrossEncoderReranker({ model: modelDir(RERANKER_MODEL), topN: TOP_N });
  try {
    vectors = await embeddings.embedDocuments(docs.map((d) => d.pageContent));
    const memory = new MemoryVectorStore(embeddings);
    await memory.addVectors(vectors, docs);
    expected = [];
    for (const run of runs) {
      const filter = run.shard === undefined ? undefined : (d: Document) => d.metadata['shard'] === run.shard;
      expected.push(await runPipeline(memory, reranker, run.query, K, filter));
    }
  } finally {
    await reranker.dispose();
    await embeddings.dispose();
  }
}, INDEXING_TIMEOUT_MS);

afterAll(async () => {
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

async function reopenInChild(store: ReopenRequest['store'], location: string, name: string): Promise<ReopenReply> {
  const request: ReopenRequest = {
    store,
    location,
    name,
    embedder: modelDir(EMBEDDER_MODEL),
    reranker: modelDir(RERANKER_MODEL),
    k: K,
    topN: TOP_N,
    runs,
  };
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(request)], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ReopenReply;
}

/** Same candidates in (as a set: ties may come back in either order), same reranked order and scores out. */
function expectSameAsMemory(reply: ReopenReply): void {
  expect(reply.count).toBe(CORPUS_SIZE);
  expect(reply.results).toHaveLength(expected.length);
  reply.results.forEach((got, i) => {
    const want = expected[i] as PipelineResult;
    expect(got.query).toBe(want.query);
    expect(got.candidates).toHaveLength(K);
    expect([...got.candidates].sort()).toEqual([...want.candidates].sort());
    expect(got.reranked.map((r) => r.id)).toEqual(want.reranked.map((r) => r.id));
    got.reranked.forEach((r, j) => {
      expect(r.score).toBeCloseTo(want.reranked[j]?.score as number, 5);
      expect(r.metadata).toEqual(want.reranked[j]?.metadata);
    });
    const shard = runs[i]?.shard;
    if (shard !== undefined) for (const r of got.reranked) expect(r.metadata['shard']).toBe(shard);
  });
}

describe.skipIf(scifactMissing !== undefined)(
  `LanceDB (embedded, on disk) reopened in a new process${scifactMissing ? ` [skipped: ${scifactMissing}]` : ''}`,
  () => {
    it(
      `reranks ${CORPUS_SIZE} SciFact abstracts, filtered and not, exactly as over MemoryVectorStore`,
      async () => {
        const dir = path.join(workDir, 'lancedb');
        const embeddings = new OnnxEmbeddings({ model: modelDir(EMBEDDER_MODEL) });
        await FilterableLanceDB.create(embeddings, dir, 'scifact', docs, vectors);
        expectSameAsMemory(await reopenInChild('lancedb', dir, 'scifact'));
      },
      INDEXING_TIMEOUT_MS,
    );
  },
);

const chromaSkip = scifactMissing ?? chromaMissing;
describe.skipIf(chromaSkip !== undefined)(
  `Chroma (a \`chroma run\` server) reopened in a new process${chromaSkip ? ` [skipped: ${chromaSkip}]` : ''}`,
  () => {
    let server: ChromaServer | undefined;
    afterAll(async () => {
      await server?.stop();
    });

    it(
      `reranks ${CORPUS_SIZE} SciFact abstracts, filtered and not, exactly as over MemoryVectorStore`,
      async () => {
        server = await startChromaServer(path.join(workDir, 'chroma'));
        const embeddings = new OnnxEmbeddings({ model: modelDir(EMBEDDER_MODEL) });
        await chromaAppend(chromaStore(embeddings, server.url, 'scifact'), docs, vectors);
        expectSameAsMemory(await reopenInChild('chroma', server.url, 'scifact'));
      },
      INDEXING_TIMEOUT_MS,
    );
  },
);
