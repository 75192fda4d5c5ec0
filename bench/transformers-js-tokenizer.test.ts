import { AutoTokenizer, env } from '@huggingface/transformers';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR, noGolden } from '../test/helpers/models.js';
import { loadGolden, pairTokenizer, type CrossEncoderGolden } from '../test/helpers/parity.js';

// The benchmark's transformers.js peer tokenizes pairs differently from Python; this pins how. It lives with the
// benchmark because transformers.js is installed only in this workspace.

const SEP = 102;
const skip = noGolden();
let golden: CrossEncoderGolden;
beforeAll(async () => {
  if (!skip) golden = await loadGolden('tiny');
});

describe.skipIf(skip)('transformers.js pair truncation against Hugging Face tokenizers', () => {
  it('keeps the final separator where transformers.js cuts the pair tail', async () => {
    env.allowRemoteModels = false;
    env.localModelPath = `${MODELS_DIR}/`;
    const theirs = await AutoTokenizer.from_pretrained('tiny');
    const ours = await pairTokenizer('tiny');
    const expected = golden.tokenization.by_max_length['16'];
    let differing = 0;
    const oursAt16 = await ours.encodePairs(golden.pairs, 16, 'longest_first');
    golden.pairs.forEach(([query, passage], i) => {
      if ((golden.tokenization.untruncated_lengths[i] as number) <= 16) return;
      const reference = expected?.input_ids[i];
      const ourIds = oursAt16[i]?.ids;
      const encoded = theirs(query, { text_pair: passage, truncation: true, max_length: 16 });
      const theirIds = Array.from(encoded.input_ids.data as BigInt64Array, Number);
      expect(ourIds).toEqual(reference);
      expect(ourIds?.at(-1)).toBe(SEP);
      if (JSON.stringify(theirIds) !== JSON.stringify(reference)) differing++;
    });
    // Nearly every truncated pair differs: transformers.js drops the final [SEP] and most of the passage.
    expect(differing).toBeGreaterThan(100);
  });
});
