// The benchmark's page: three runners over the same calls, each scoring off the main thread. `web` is the package's
// browser build as users get it (CrossEncoder, its own Web Worker); `transformers.js` and `floor` run in the workers
// beside this file. bench/browser.ts drives it through `globalThis.lceBench`.
import * as lce from '../../src/web.js';
import type { AssembledPair } from '../../src/tokenize/pair-template.js';
import { connect } from './rpc.js';

interface Item {
  query: string;
  passages: string[];
}
interface Runner {
  score(index: number): Promise<ArrayLike<number>>;
  close(): Promise<void>;
}

let items: Item[] = [];
/** Where the package's time went in the last run, as its `onStats` reports it (summed over calls). */
const webStats = { tokenizeMs: 0, inferenceMs: 0, paddedTokens: 0 };
const runners = new Map<string, Runner>();
const item = (i: number) => items[i] as Item;

function startWorker(file: string): { worker: Worker; call: ReturnType<typeof connect> } {
  const worker = new Worker(new URL(file, import.meta.url), { type: 'module' });
  return { worker, call: connect(worker) };
}

const api = {
  setItems(list: Item[]) {
    items = list;
  },
  async openWeb(modelUrl: string, threads: number) {
    // With threads, ONNX Runtime's helper workers start from its loader script beside the page (see floor-worker.ts).
    const wasmPaths = threads > 1 ? new URL('./', location.href).href : undefined;
    const encoder = await lce.CrossEncoder.load(modelUrl, { threads, batchSize: 32, wasmPaths });
    const onStats = (stats: lce.ScoringStats) => {
      webStats.tokenizeMs += stats.tokenizeMs;
      webStats.inferenceMs += stats.inferenceMs;
      webStats.paddedTokens += stats.paddedTokens;
    };
    runners.set('web', {
      score: (i) =>
        encoder.score(
          item(i).passages.map((p): [string, string] => [item(i).query, p]),
          { activation: 'none', onStats },
        ),
      close: () => encoder.dispose(),
    });
    return { worker: encoder.info.worker };
  },
  async openTransformersJs(modelsUrl: string, model: string, threads: number, wasmPaths: string) {
    const { worker, call } = startWorker('./tjs-worker.js');
    await call('open', { modelsUrl, model, threads, wasmPaths });
    runners.set('transformers.js', {
      score: (i) =>
        call('score', { query: item(i).query, passages: item(i).passages, batchSize: 32 }) as Promise<Float32Array>,
      close: async () => {
        await call('close');
        worker.terminate();
      },
    });
  },
  async openFloor(
    modelUrl: string,
    threads: number,
    encoded: AssembledPair[][],
    maxBatchTokens: number,
    padId: number,
  ) {
    const { worker, call } = startWorker('./floor-worker.js');
    await call('open', { modelUrl, threads });
    const plan = (await call('prepare', { items: encoded, batchSize: 32, maxBatchTokens, padId })) as {
      passes: number;
      paddedTokens: number;
    };
    runners.set('floor', {
      score: (i) => call('score', { index: i }) as Promise<Float32Array>,
      close: async () => {
        await call('close');
        worker.terminate();
      },
    });
    return plan;
  },
  /** Every call once through `name`; the time is the page's, from the first request to the last answer. */
  async run(name: string) {
    const runner = runners.get(name);
    if (runner === undefined) throw new Error(`runner ${name} is not open`);
    const scores: number[][] = [];
    Object.assign(webStats, { tokenizeMs: 0, inferenceMs: 0, paddedTokens: 0 });
    const started = performance.now();
    for (let i = 0; i < items.length; i++) scores.push(Array.from(await runner.score(i)));
    return { ms: performance.now() - started, scores, stats: name === 'web' ? { ...webStats } : undefined };
  },
  /** One call, untimed: compiles and allocates what the first run would otherwise pay for. */
  async warm(name: string) {
    await runners.get(name)?.score(0);
  },
  async close(name: string) {
    await runners.get(name)?.close();
    runners.delete(name);
  },
  info: () => ({
    isolated: globalThis.crossOriginIsolated === true,
    cores: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
  }),
};

export type BenchApi = typeof api;
(globalThis as unknown as { lceBench: BenchApi }).lceBench = api;
document.title = 'ready';
