// Ingestion: SciFact abstracts embedded by OnnxEmbeddings (all-MiniLM-L6-v2) and written slice by slice into an
// embedded LanceDB table through examples/stores/ingest.ts, as the two-stage example does. Reports docs/s, the
// largest event-loop delay while it ran (how long a serving app would wait) and the machine's load.
// Writes bench/results/ingest.{json,md}.
// Usage: tsx bench/ingest.ts [--sizes 400,5183] [--slice 64] [--threads 2]
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Document } from '@langchain/core/documents';
import { ingest } from '../examples/stores/ingest.js';
import { FilterableLanceDB } from '../examples/stores/lancedb.js';
import { OnnxEmbeddings } from '../src/index.js';
import { ROOT } from './workloads.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '400,5183' },
    slice: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
  },
});
const log = (m: string) => process.stderr.write(`[ingest] ${m}\n`);

interface Row {
  documents: number;
  seconds: number;
  docsPerSecond: number;
  eventLoopMaxMs: number;
  load1Before: number;
  load1After: number;
}

const corpus = (await readFile(join(ROOT, '../shared/data/scifact/corpus.jsonl'), 'utf8'))
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Record<string, string>)
  .map(
    (d) =>
      new Document({
        pageContent: `${d['title'] ?? ''}\n${d['text'] ?? ''}`.trim(),
        metadata: { title: d['title'] ?? '' },
        id: d['_id'] as string,
      }),
  );
const rows: Row[] = [];
const dir = await mkdtemp(join(tmpdir(), 'lce-ingest-'));
const embeddings = new OnnxEmbeddings({
  model: join(ROOT, 'models/all-MiniLM-L6-v2'),
  threads: Number(args.threads),
});
try {
  await embeddings.warmup(); // model load is not ingestion
  for (const size of args.sizes.split(',').map(Number)) {
    const docs = corpus.slice(0, size);
    const load1Before = loadavg()[0] as number;
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    let store: FilterableLanceDB | undefined;
    const done = await ingest(
      embeddings,
      docs,
      async (slice, vectors) => {
        if (store === undefined) store = await FilterableLanceDB.create(embeddings, dir, `n${size}`, slice, vectors);
        else await store.append(slice, vectors);
      },
      {
        sliceSize: Number(args.slice),
        onProgress: (p) => log(`${size}: ${p.done}/${p.total}, ${p.docsPerSecond.toFixed(1)} docs/s`),
      },
    );
    delay.disable();
    const row: Row = {
      documents: docs.length,
      seconds: done.seconds,
      docsPerSecond: done.docsPerSecond,
      eventLoopMaxMs: delay.max / 1e6,
      load1Before,
      load1After: loadavg()[0] as number,
    };
    log(JSON.stringify(row));
    rows.push(row);
  }
} finally {
  await embeddings.dispose();
  await rm(dir, { recursive: true, force: true });
}

const cores = cpus().length;
const md = [
  `SciFact abstracts (title + text) embedded with all-MiniLM-L6-v2 (fp32, max 256 tokens, ${args.threads} ONNX threads, ` +
    `slices of ${args.slice}) and written to an embedded LanceDB table; ${cores} cores, load average noted.`,
  '',
  '| documents | seconds | docs/s | largest event-loop delay (ms) | load (1 min) before → after |',
  '| ---: | ---: | ---: | ---: | --- |',
  ...rows.map(
    (r) =>
      `| ${r.documents} | ${r.seconds.toFixed(1)} | ${r.docsPerSecond.toFixed(1)} | ${r.eventLoopMaxMs.toFixed(0)} | ` +
      `${r.load1Before.toFixed(1)} → ${r.load1After.toFixed(1)} |`,
  ),
  '',
].join('\n');
await mkdir(join(ROOT, 'bench/results'), { recursive: true });
await writeFile(join(ROOT, 'bench/results/ingest.json'), `${JSON.stringify({ cores, rows }, null, 2)}\n`);
await writeFile(join(ROOT, 'bench/results/ingest.md'), md);
process.stdout.write(md);
