// The JavaScript runners of the benchmark. Each reranks one call (a query and its candidates) and returns raw
// logits in the candidates' order; the driver times whole calls.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaultMaxBatchTokens } from '../src/engine/pair-model.js';
import { resolveSessionOptions } from '../src/engine/session.js';
import { parseModelConfig } from '../src/engine/config.js';
import type { CrossEncoder as CrossEncoderType } from '../src/cross-encoder.js';
import type { CrossEncoderReranker as RerankerType } from '../src/langchain/reranker.js';
import { buildFeeds, type FeedLayout } from '../src/engine/feeds.js';
import { planBatches } from '../src/tokenize/batches.js';
import type { AssembledPair } from '../src/tokenize/pair-template.js';
import { openPairTokenizer } from '../src/engine/model-files.js';
import { ROOT, type WorkItem } from './workloads.js';

export type Variant = 'fp32' | 'int8';

export interface RunnerConfig {
  model: string;
  variant: Variant;
  threads: number;
  batchSize: number;
}

export interface Runner {
  readonly name: string;
  /** Work done before timing starts (only the raw-ORT floor uses it: tokenization is not part of its cost). */
  prepare?(items: readonly WorkItem[]): Promise<void> | void;
  rerank(item: WorkItem): Promise<Float64Array>;
  dispose(): Promise<void>;
}

export const modelDir = (model: string) => join(ROOT, 'models', model);
export const onnxFile = (variant: Variant) => (variant === 'int8' ? 'onnx/model_quantized.onnx' : 'onnx/model.onnx');

/** The library as users get it: the built package (dist/), CrossEncoderReranker over a shared CrossEncoder. */
export async function openOurs(
  config: RunnerConfig,
  options: { worker?: boolean; workerNice?: number } = {},
): Promise<Runner> {
  const lib = (await import(join(ROOT, 'dist', 'index.js'))) as {
    CrossEncoder: typeof CrossEncoderType;
    CrossEncoderReranker: typeof RerankerType;
  };
  const model = await lib.CrossEncoder.load(modelDir(config.model), {
    variant: config.variant,
    threads: config.threads,
    batchSize: config.batchSize,
    activation: 'none',
    worker: options.worker ?? true,
    ...(options.workerNice === undefined ? {} : { workerNice: options.workerNice }),
  });
  const reranker = new lib.CrossEncoderReranker({ model, topN: 100_000 });
  return {
    name: options.worker === false ? 'ours-inline' : 'ours',
    async rerank(item) {
      const ranked = await reranker.rerank(item.passages, item.query, { topN: item.passages.length });
      const out = new Float64Array(item.passages.length);
      for (const r of ranked) out[r.index] = r.relevanceScore;
      return out;
    },
    dispose: () => model.dispose(),
  };
}

/** transformers.js used correctly by hand: tokenizer with padding and truncation, batches of 32 in input order. */
export async function openTransformersJs(config: RunnerConfig): Promise<Runner> {
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.localModelPath = join(ROOT, 'models') + '/';
  const tokenizer = await tf.AutoTokenizer.from_pretrained(config.model);
  const model = await tf.AutoModelForSequenceClassification.from_pretrained(config.model, {
    dtype: config.variant === 'int8' ? 'q8' : 'fp32',
    device: 'cpu',
    session_options: { intraOpNumThreads: config.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' },
  });
  return {
    name: 'transformers.js',
    async rerank(item) {
      const out = new Float64Array(item.passages.length);
      for (let start = 0; start < item.passages.length; start += config.batchSize) {
        const passages = item.passages.slice(start, start + config.batchSize);
        const inputs = tokenizer(
          passages.map(() => item.query),
          { text_pair: passages, padding: true, truncation: true },
        );
        const { logits } = (await model(inputs)) as { logits: { data: Float32Array } };
        out.set(logits.data, start);
      }
      return out;
    },
    dispose: async () => {
      await model.dispose();
    },
  };
}

/**
 * The floor: pairs tokenized before timing, length-sorted batches padded and laid out as tensors before timing;
 * the timed part is only session.run, back to back, on the calling thread.
 */
export async function openRawOrt(config: RunnerConfig): Promise<Runner> {
  const dir = modelDir(config.model);
  const tokenizer = await openPairTokenizer({
    tokenizerJson: join(dir, 'tokenizer.json'),
    tokenizerConfig: join(dir, 'tokenizer_config.json'),
  });
  // The same session options the library uses, so the floor differs from ours only by the work around run().
  const session = await ort.InferenceSession.create(
    join(dir, onnxFile(config.variant)),
    resolveSessionOptions({ threads: config.threads }),
  );
  const layout: FeedLayout = {
    Tensor: ort.Tensor,
    inputs: session.inputNames as FeedLayout['inputs'],
    int32: false,
    padId: tokenizer.padId,
  };
  // The engine's own batch plan: the floor is what inference alone costs for the batches ours runs.
  const configPath = join(dir, 'config.json');
  const maxBatchTokens = defaultMaxBatchTokens(
    parseModelConfig(JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>, configPath),
  );
  const prepared = new Map<WorkItem, { batches: number[][]; feeds: Record<string, ort.Tensor>[] }>();
  return {
    name: 'raw-ort',
    async prepare(items) {
      prepared.clear();
      for (const item of items) {
        const encoded: AssembledPair[] = await tokenizer.encodePairs(
          item.passages.map((p) => [item.query, p] as const),
          512,
          'longest_first',
        );
        const batches = planBatches(
          encoded.map((e) => e.ids.length),
          config.batchSize,
          maxBatchTokens,
        );
        prepared.set(item, { batches, feeds: batches.map((b) => buildFeeds(encoded, b, layout)) });
      }
    },
    async rerank(item) {
      const plan = prepared.get(item);
      if (plan === undefined) throw new Error('raw-ort: prepare() first');
      const out = new Float64Array(item.passages.length);
      for (let b = 0; b < plan.batches.length; b++) {
        const result = await session.run(plan.feeds[b] as Record<string, ort.Tensor>);
        const logits = result[session.outputNames[0] as string]?.data as Float32Array;
        (plan.batches[b] as number[]).forEach((pair, row) => (out[pair] = logits[row] as number));
      }
      return out;
    },
    dispose: () => session.release(),
  };
}

export async function openRunner(name: string, config: RunnerConfig): Promise<Runner> {
  switch (name) {
    case 'ours':
      return openOurs(config);
    case 'ours-inline':
      return openOurs(config, { worker: false });
    case 'transformers.js':
      return openTransformersJs(config);
    case 'raw-ort':
      return openRawOrt(config);
    default:
      throw new Error(`unknown runner ${name}`);
  }
}
