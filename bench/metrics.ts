// Numbers the benchmark reports: quantiles, BERT FLOP counts, the GEMM roof.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export const median = (values: readonly number[]) => quantile(values, 0.5);

export interface BertShape {
  layers: number;
  hidden: number;
  intermediate: number;
}

export function readShape(modelDir: string): BertShape {
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
  return {
    layers: config['num_hidden_layers'] as number,
    hidden: config['hidden_size'] as number,
    intermediate: config['intermediate_size'] as number,
  };
}

/**
 * Forward-pass FLOPs of one BERT pair of `tokens` real (unpadded) tokens, one multiply-add = 2 FLOPs:
 *   per layer: 2·L·(4h² + 2h·i)   Q, K, V and output projections plus the two feed-forward matmuls
 *            + 4·L²·h              attention scores QKᵀ and the weighted sum of V
 *   once:      2h² + 2h            pooler and the one-logit classifier
 * Embeddings, layer norms, softmax and GELU are left out (memory-bound, a few per cent).
 * Padding is not counted, so a runner that pads more shows a lower effective GFLOP/s.
 */
export function pairFlops(shape: BertShape, tokens: number): number {
  const { layers, hidden: h, intermediate: i } = shape;
  const L = tokens;
  return layers * (2 * L * (4 * h * h + 2 * h * i) + 4 * L * L * h) + 2 * h * h + 2 * h;
}

/** fp32 GEMM roof through ONNX Runtime: best GFLOP/s of an n×n MatMul with the given intra-op threads. */
export async function ortGemmRoof(modelPath: string, n: number, threads: number, seconds: number): Promise<number> {
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const data = (seed: number) => Float32Array.from({ length: n * n }, (_, k) => Math.sin(k * 0.37 + seed));
  const feeds = { a: new ort.Tensor('float32', data(1), [n, n]), b: new ort.Tensor('float32', data(2), [n, n]) };
  await session.run(feeds);
  let best = 0;
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    const t = performance.now();
    await session.run(feeds);
    best = Math.max(best, (2 * n ** 3) / ((performance.now() - t) / 1000) / 1e9);
  }
  await session.release();
  return best;
}
