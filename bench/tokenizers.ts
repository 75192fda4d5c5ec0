// Tokenizer choice, measured: the library's tokenizer alone and whole rerank calls (tokenize + score, inline, so
// both run on one thread) on DL19 BM25 top-100, for tiny and MiniLM. With BASELINE_SRC pointing at another
// checkout's src/ (e.g. `git archive REV src | tar -x -C bench/.cache/old`), the same steps run through that
// tree's PairTokenizer and CrossEncoder too, in alternated rounds, so both sides see the same machine load.
// Run: npx tsx bench/tokenizers.ts [--queries 10] [--rounds 5]
import { join, resolve } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { median } from './metrics.js';
import { modelDir } from './runners.js';
import { loadDl19, ROOT, type WorkItem } from './workloads.js';

interface TokenizerLike {
  encodePairs(pairs: readonly (readonly [string, string])[], maxLength: number, strategy: 'longest_first'): unknown;
}
interface Side {
  name: string;
  tokenizer(model: string): Promise<TokenizerLike>;
  crossEncoder: ((model: string) => Promise<Reranker>) | undefined;
}
interface Reranker {
  score(pairs: [string, string][]): Promise<unknown>;
  dispose(): Promise<void>;
}

const { values } = parseArgs({
  options: { queries: { type: 'string', default: '10' }, rounds: { type: 'string', default: '5' } },
});
const queries = Number(values.queries);
const rounds = Number(values.rounds);

async function side(name: string, src: string, fastPath = true): Promise<Side> {
  const tok = (await import(join(src, 'tokenize', 'tokenizer.ts'))) as {
    PairTokenizer: {
      fromFiles(
        f: { tokenizerJson: string; tokenizerConfig: string },
        o: { fastPath: boolean },
      ): Promise<TokenizerLike>;
    };
  };
  const lib = (await import(join(src, 'index.ts'))) as {
    CrossEncoder: { load(dir: string, o: object): Promise<Reranker> };
  };
  return {
    name,
    tokenizer: (model) =>
      tok.PairTokenizer.fromFiles(
        {
          tokenizerJson: join(modelDir(model), 'tokenizer.json'),
          tokenizerConfig: join(modelDir(model), 'tokenizer_config.json'),
        },
        { fastPath },
      ),
    // The fast path cannot be turned off through the public API: end to end runs with it only.
    crossEncoder: fastPath
      ? (model: string) => lib.CrossEncoder.load(modelDir(model), { worker: false, threads: 2 })
      : undefined,
  };
}

const sides = [
  await side('rust tokenizers + fast WordPiece (this tree)', join(ROOT, 'src')),
  await side('rust tokenizers alone (this tree)', join(ROOT, 'src'), false),
];
if (process.env['BASELINE_SRC'] !== undefined) sides.push(await side('baseline', resolve(process.env['BASELINE_SRC'])));

const items: WorkItem[] = (await loadDl19()).slice(0, queries);
const pairs = items.reduce((n, it) => n + it.passages.length, 0);
console.log(`${items.length} DL19 queries, ${pairs} pairs; load average ${os.loadavg().map((l) => l.toFixed(1))}`);

async function alternated(label: string, steps: Map<string, () => Promise<void>>, count: number): Promise<void> {
  const times = new Map<string, number[]>([...steps.keys()].map((k) => [k, []]));
  for (const step of steps.values()) await step(); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [name, step] of steps) {
      const t = performance.now();
      await step();
      times.get(name)?.push(performance.now() - t);
    }
  }
  for (const [name, list] of times) {
    const ms = median(list);
    console.log(`${label} | ${name} | ${ms.toFixed(1)} ms | ${((count / ms) * 1000).toFixed(0)} pairs/s`);
  }
}

for (const model of ['tiny', 'minilm']) {
  const tokenizeSteps = new Map<string, () => Promise<void>>();
  for (const s of sides) {
    const tokenizer = await s.tokenizer(model);
    tokenizeSteps.set(s.name, async () => {
      for (const it of items)
        await tokenizer.encodePairs(
          it.passages.map((p) => [it.query, p] as const),
          512,
          'longest_first',
        );
    });
  }
  await alternated(`${model} tokenize`, tokenizeSteps, pairs);
  // End to end on fewer queries for MiniLM, whose inference is ten times slower.
  const e2eItems = model === 'minilm' ? items.slice(0, 2) : items;
  const e2ePairs = e2eItems.reduce((n, it) => n + it.passages.length, 0);
  const e2eSteps = new Map<string, () => Promise<void>>();
  const opened = [];
  for (const s of sides) {
    if (s.crossEncoder === undefined) continue;
    const ce = await s.crossEncoder(model);
    opened.push(ce);
    e2eSteps.set(s.name, async () => {
      for (const it of e2eItems) await ce.score(it.passages.map((p) => [it.query, p]));
    });
  }
  await alternated(`${model} end to end`, e2eSteps, e2ePairs);
  for (const ce of opened) await ce.dispose();
}
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1))}`);
