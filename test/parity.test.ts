import { beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder } from '../src/index.js';
import { modelDir, noGolden } from './helpers/models.js';
import { expectScoreParity, loadGolden, pairTokenizer, type CrossEncoderGolden } from './helpers/parity.js';

// Parity with Python on the tiny models: token ids from the Rust `tokenizers` library, logits from
// sentence-transformers' CrossEncoder on the same weights. The MiniLM-sized model is in parity.int.test.ts.

const skip = noGolden();
let golden: CrossEncoderGolden;
beforeAll(async () => {
  if (!skip) golden = await loadGolden('tiny');
});

describe.skipIf(skip)('tokenization parity with Hugging Face tokenizers', () => {
  it('covers enough real and hostile pairs, some of them truncated', () => {
    expect(golden.pairs.length).toBeGreaterThanOrEqual(200);
    expect(golden.tokenization.untruncated_lengths.filter((n) => n > 512).length).toBeGreaterThan(5);
  });

  for (const maxLength of [8, 16, 32, 128, 512]) {
    it(`gives identical ids and segment ids for every pair at max_length ${maxLength}`, async () => {
      const tokenizer = await pairTokenizer('tiny');
      const expected = golden.tokenization.by_max_length[String(maxLength)];
      if (expected === undefined) throw new Error(`golden file has no max_length ${maxLength}`);
      const encoded = await tokenizer.encodePairs(golden.pairs, maxLength, 'longest_first');
      golden.pairs.forEach((_, i) => {
        const { ids, typeIds } = encoded[i] as { ids: number[]; typeIds: number[] };
        expect({ pair: i, ids, typeIds }).toEqual({
          pair: i,
          ids: expected.input_ids[i],
          typeIds: expected.token_type_ids[i],
        });
      });
    });
  }

  it('matches only_second truncation wherever Python accepts the pair', async () => {
    const tokenizer = await pairTokenizer('tiny');
    const { input_ids } = golden.tokenization.only_second_32;
    let compared = 0;
    const encoded = await tokenizer.encodePairs(golden.pairs, 32, 'only_second');
    golden.pairs.forEach((_, i) => {
      const reference = input_ids[i];
      if (reference === null || reference === undefined) return;
      expect(encoded[i]?.ids).toEqual(reference);
      compared++;
    });
    expect(compared).toBeGreaterThan(150);
  });
});

describe.skipIf(skip)('score parity with sentence-transformers', () => {
  it('tiny: fp32 logits within 1e-4 and the same ranking, at max_length 512 and 128', async () => {
    await expectScoreParity(golden);
  });

  it('tiny: default scores equal Python default activation (sigmoid)', async () => {
    const model = await CrossEncoder.load(modelDir('tiny'));
    const scores = await model.score(golden.pairs);
    scores.forEach((s, i) => expect(Math.abs(s - (golden.scores[i] as number))).toBeLessThan(1e-5));
    await model.dispose();
  });

  it('tiny-no-token-types: parity without a token_type_ids input', async () => {
    await expectScoreParity(await loadGolden('tiny-no-token-types'));
  });

  it('tiny-2label: the relevance column matches, and the default score is its softmax probability', async () => {
    const twoLabel = await loadGolden('tiny-2label');
    await expectScoreParity(twoLabel);
    const model = await CrossEncoder.load(modelDir('tiny-2label'));
    const scores = await model.score(twoLabel.pairs);
    (twoLabel.logits as number[][]).forEach(([a, b], i) => {
      const softmax = 1 / (1 + Math.exp((a as number) - (b as number)));
      expect(Math.abs((scores[i] as number) - softmax)).toBeLessThan(1e-5);
    });
    await model.dispose();
  });
});
