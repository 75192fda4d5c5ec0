// Chroma through @langchain/community's Chroma store, talking to a `chroma run` server (PyPI `chromadb`). The
// embeddings are always ours: the collection is created without an embedding function, so Chroma never fetches a
// model of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Chroma } from '@langchain/community/vectorstores/chroma';
import type { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';

/** The `chroma` command inside the venv that `bash tools/chroma-venv.sh` builds at the repository root. */
export const CHROMA_BIN = path.resolve(import.meta.dirname, '../../.venv-chroma/bin/chroma');

export interface ChromaServer {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}

/** Starts `chroma run` on 127.0.0.1 and a free port, persisting under `dataDir`; resolves once it answers. */
export async function startChromaServer(dataDir: string, bin = CHROMA_BIN): Promise<ChromaServer> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`bash tools/chroma-venv.sh\` to build it.`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['run', '--path', dataDir, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ANONYMIZED_TELEMETRY: 'False' },
  });
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`chroma run exited with ${child.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${url}/api/v2/heartbeat`)).ok) return { url, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await stop();
  throw new Error(`chroma run did not answer on ${url} within 60 s:\n${log}`);
}

/** A collection of the server at `url`, cosine distance, searched exhaustively enough to be exact at our sizes. */
export function chromaStore(embeddings: EmbeddingsInterface, url: string, collectionName: string): Chroma {
  return new Chroma(embeddings, {
    url,
    collectionName,
    collectionMetadata: { 'hnsw:space': 'cosine', 'hnsw:search_ef': 1000 },
  });
}

/** Documents stored in the collection so far (0 when it does not exist yet). */
export async function chromaCount(store: Chroma): Promise<number> {
  return (await store.ensureCollection()).count();
}

/** Adds documents with their ids and precomputed vectors. */
export async function chromaAppend(store: Chroma, docs: readonly Document[], vectors: number[][]): Promise<void> {
  await store.addVectors(vectors, [...docs], { ids: docs.map((d, i) => d.id ?? String(i)) });
}
