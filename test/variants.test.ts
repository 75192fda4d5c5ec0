import { describe, expect, it } from 'vitest';
import { CrossEncoder, type ModelVariant } from '../src/index.js';
import { modelDir, noGolden } from './helpers/models.js';
import { loadGolden, relevanceLogit } from './helpers/parity.js';

// The reduced-precision files run through the same engine; they trade a little accuracy for size and speed.

async function logits(variant: ModelVariant, pairs: [string, string][]): Promise<number[]> {
  const model = await CrossEncoder.load(modelDir('tiny'), { variant });
  try {
    expect(model.info.onnxPath).toMatch(variant === 'fp32' ? /model\.onnx$/ : /model_(quantized|fp16)\.onnx$/);
    return await model.score(pairs, { activation: 'none' });
  } finally {
    await model.dispose();
  }
}

describe.skipIf(noGolden())('model variants', () => {
  it('fp16 stays within fp16 rounding of the fp32 logits', async () => {
    const golden = await loadGolden('tiny');
    const pairs = golden.pairs.slice(0, 64);
    const half = await logits('fp16', pairs);
    pairs.forEach((_, i) =>
      expect(Math.abs((half[i] as number) - relevanceLogit(golden.logits[i] as number))).toBeLessThan(0.05),
    );
  });

  it('int8 scores every pair with finite values close to fp32', async () => {
    const golden = await loadGolden('tiny');
    const pairs = golden.pairs.slice(0, 64);
    const [full, int8] = [await logits('fp32', pairs), await logits('int8', pairs)];
    const worst = Math.max(...full.map((v, i) => Math.abs(v - (int8[i] as number))));
    expect(Number.isFinite(worst)).toBe(true);
    expect(worst).toBeGreaterThan(0); // a different file really ran
    expect(worst).toBeLessThan(1.5);
  });
});
