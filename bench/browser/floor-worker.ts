// The floor: ONNX Runtime Web alone, in a Web Worker. Pairs arrive tokenized (by the Node side, with the same
// tokenizer); batches are planned as the engine plans them (length-sorted, at most 32 pairs and the model's token
// budget a pass) and laid out as tensors before timing, so a timed call is session.run back to back.
import type * as Ort from 'onnxruntime-web';
import { buildFeeds, type FeedLayout } from '../../src/engine/feeds.js';
import type { PairInputName } from '../../src/engine/session.js';
import { planBatches } from '../../src/tokenize/batches.js';
import type { AssembledPair } from '../../src/tokenize/pair-template.js';
import { serve } from './rpc.js';

// Loaded on the first request, as src/platform/web.ts loads it.
let ort: typeof Ort;
let session: Ort.InferenceSession | undefined;
let prepared: { count: number; batches: number[][]; feeds: Record<string, Ort.Tensor>[] }[] = [];

serve(async (request) => {
  switch (request.type) {
    case 'open': {
      const { modelUrl, threads } = request as unknown as { modelUrl: string; threads: number };
      ort = await import('onnxruntime-web');
      ort.env.wasm.numThreads = threads;
      // With threads, ONNX Runtime starts its helper workers from its loader script: the copy beside the page, not
      // this bundle (which would start as a helper and never answer).
      if (threads > 1) ort.env.wasm.wasmPaths = new URL('./', self.location.href).href;
      ort.env.wasm.proxy = false;
      const bytes = new Uint8Array(await (await fetch(`${modelUrl}/onnx/model.onnx`)).arrayBuffer());
      // The session options the package uses in browsers (src/engine/session.ts, less the thread-pool sizes that
      // src/platform/web.ts leaves out: WebAssembly takes its thread count from env.wasm.numThreads).
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
        extra: { session: { intra_op: { allow_spinning: '0' } } },
      });
      return session.inputNames;
    }
    case 'prepare': {
      const { items, batchSize, maxBatchTokens, padId } = request as unknown as {
        items: AssembledPair[][];
        batchSize: number;
        maxBatchTokens: number;
        padId: number;
      };
      const current = session as Ort.InferenceSession;
      const layout: FeedLayout = {
        Tensor: ort.Tensor,
        inputs: current.inputNames as PairInputName[],
        int32: false,
        padId,
      };
      prepared = items.map((pairs) => {
        const batches = planBatches(
          pairs.map((p) => p.ids.length),
          batchSize,
          maxBatchTokens,
        );
        return { count: pairs.length, batches, feeds: batches.map((b) => buildFeeds(pairs, b, layout)) };
      });
      const widths = (pairs: AssembledPair[], batch: number[]) =>
        Math.max(...batch.map((i) => pairs[i]?.ids.length ?? 0));
      return {
        passes: prepared.reduce((n, p) => n + p.batches.length, 0),
        paddedTokens: prepared.reduce(
          (n, p, k) => n + p.batches.reduce((m, b) => m + b.length * widths(items[k] as AssembledPair[], b), 0),
          0,
        ),
      };
    }
    case 'score': {
      const { index } = request as unknown as { index: number };
      const current = session as Ort.InferenceSession;
      const plan = prepared[index];
      if (plan === undefined) throw new Error(`item ${index} was not prepared`);
      const out = new Float32Array(plan.count);
      for (let b = 0; b < plan.batches.length; b++) {
        const result = await current.run(plan.feeds[b] as Record<string, Ort.Tensor>);
        const logits = result[current.outputNames[0] as string]?.data as Float32Array;
        const width = logits.length / (plan.batches[b] as number[]).length;
        (plan.batches[b] as number[]).forEach((pair, row) => (out[pair] = logits[row * width] as number));
      }
      return out;
    }
    case 'close':
      await session?.release();
      session = undefined;
      return null;
    default:
      throw new Error(`unknown request ${request.type}`);
  }
});
