// Embeds a corpus slice by slice and writes each slice to the store as soon as it is embedded, so a large corpus
// shows progress and throughput, and the store is usable up to the last finished slice if the run stops. Between
// slices it yields to the event loop. It does not make indexing free for a serving app: OnnxEmbeddings runs its
// forward passes on the calling thread, so the event loop can wait as long as a slice takes to embed;
// bench/ingest.ts measures that wait. Index in a separate process (or at build time) for an app that serves
// while it indexes.
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';

export interface IngestProgress {
  done: number;
  total: number;
  seconds: number;
  /** Documents embedded and written per second so far. */
  docsPerSecond: number;
}

export interface IngestOptions {
  /**
   * Documents embedded and written together.
   * @default 64
   */
  sliceSize?: number;
  /** Called after each slice is written. */
  onProgress?: (progress: IngestProgress) => void;
}

/** Embeds `docs` with `embeddings` and hands each slice and its vectors to `write`; resolves with the totals. */
export async function ingest(
  embeddings: EmbeddingsInterface,
  docs: readonly Document[],
  write: (slice: Document[], vectors: number[][]) => Promise<void>,
  options: IngestOptions = {},
): Promise<IngestProgress> {
  const sliceSize = options.sliceSize ?? 64;
  if (!Number.isInteger(sliceSize) || sliceSize < 1) {
    throw new TypeError(`sliceSize: expected a positive integer, got ${String(sliceSize)}.`);
  }
  const started = performance.now();
  const progress = (done: number): IngestProgress => {
    const seconds = (performance.now() - started) / 1000;
    return { done, total: docs.length, seconds, docsPerSecond: seconds > 0 ? done / seconds : 0 };
  };
  for (let from = 0; from < docs.length; from += sliceSize) {
    const slice = docs.slice(from, from + sliceSize);
    await write(slice, await embeddings.embedDocuments(slice.map((d) => d.pageContent)));
    options.onProgress?.(progress(from + slice.length));
    await nextTurn(); // timers and I/O that queued up during the slice run before the next one
  }
  return progress(docs.length);
}

/** One line of progress for a terminal: rewritten in place when stdout is a TTY, else printed every tenth. */
export function progressPrinter(label: string): (p: IngestProgress) => void {
  let lastTenth = -1;
  return (p) => {
    const line = `${label}: ${p.done}/${p.total} documents, ${p.seconds.toFixed(1)} s, ${p.docsPerSecond.toFixed(1)} docs/s`;
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line}${p.done === p.total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor((10 * p.done) / p.total);
    if (tenth > lastTenth || p.done === p.total) console.log(line);
    lastTenth = tenth;
  };
}
