import { beforeAll, describe, expect, it } from 'vitest';
import {
  expectScoreParity,
  loadGolden,
  maxLogitError,
  pairTokenizer,
  type CrossEncoderGolden,
} from './helpers/parity.js';
import { kendallTau, spearman } from './helpers/rank-correlation.js';

// Parity on the MiniLM-L6-H384 cross-encoder: realistic size, real pretrained encoder weights.

let golden: CrossEncoderGolden;
beforeAll(async () => {
  golden = await loadGolden('minilm');
});

describe('minilm parity with sentence-transformers', () => {
  it('tokenizes every pair exactly as Hugging Face tokenizers at max_length 512', async () => {
    const tokenizer = await pairTokenizer('minilm');
    const expected = golden.tokenization.by_max_length['512'];
    const encoded = await tokenizer.encodePairs(golden.pairs, 512, 'longest_first');
    golden.pairs.forEach((_, i) => {
      expect(encoded[i]?.ids).toEqual(expected?.input_ids[i]);
    });
  });

  it('fp32 logits are within 1e-4 of PyTorch for every pair, with the same ranking', async () => {
    await expectScoreParity(golden);
  });

  // The head of this model is random, so its logits sit close together and int8 noise reorders more than it
  // would on a trained reranker; the trained model's int8 cost is measured in nDCG by the evaluation.
  it('int8 ranks nearly as fp32 does', async () => {
    const { ours: int8, errors } = await maxLogitError(golden, { variant: 'int8' });
    const { ours: fp32 } = await maxLogitError(golden);
    const rho = spearman(int8, fp32);
    const tau = kendallTau(int8, fp32);
    console.info(
      `minilm int8 vs fp32 over ${fp32.length} pairs: Spearman ${rho.toFixed(4)}, Kendall ${tau.toFixed(4)}, ` +
        `max |Δlogit| vs PyTorch ${Math.max(...errors).toFixed(4)}`,
    );
    expect(rho).toBeGreaterThan(0.95);
    expect(tau).toBeGreaterThan(0.8);
  });
});
