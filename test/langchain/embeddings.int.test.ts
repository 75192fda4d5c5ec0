import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxEmbeddings } from '../../src/index.js';
import { openPairTokenizer } from '../../src/engine/model-files.js';
import { noGolden } from '../helpers/models.js';

const MODEL = path.resolve('models/all-MiniLM-L6-v2');

interface Golden {
  max_seq_length: number;
  dimension: number;
  texts: string[];
  input_ids: number[][];
  embeddings: number[][];
}

const skip = noGolden();
const golden = skip
  ? ({} as Golden)
  : (JSON.parse(await readFile('models/golden/all-MiniLM-L6-v2.json', 'utf8')) as Golden);
const embeddings = new OnnxEmbeddings({ model: MODEL, batchSize: 5 });
afterAll(() => embeddings.dispose());

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  });
  return dot / Math.sqrt(na * nb);
}

describe.skipIf(skip)('OnnxEmbeddings on all-MiniLM-L6-v2 matches sentence-transformers', () => {
  it('reads max_seq_length from sentence_bert_config.json', async () => {
    expect(await embeddings.maxLength()).toBe(golden.max_seq_length);
  });

  it('tokenizes every golden text as sentence-transformers does (incl. truncation of the long one)', async () => {
    const tokenizer = await openPairTokenizer({
      tokenizerJson: path.join(MODEL, 'tokenizer.json'),
      tokenizerConfig: path.join(MODEL, 'tokenizer_config.json'),
    });
    expect(golden.input_ids.some((ids) => ids.length === golden.max_seq_length)).toBe(true);
    const encoded = await tokenizer.encodeSingles(golden.texts, golden.max_seq_length);
    golden.texts.forEach((_, i) => {
      expect(encoded[i]?.ids).toEqual(golden.input_ids[i]);
    });
  });

  it('embedDocuments (batched, mixed lengths): cosine ≥ 0.9999 and max abs diff ≤ 1e-4 per text', async () => {
    const vectors = await embeddings.embedDocuments(golden.texts);
    expect(vectors).toHaveLength(golden.texts.length);
    vectors.forEach((vector, i) => {
      const expected = golden.embeddings[i] as number[];
      expect(vector).toHaveLength(golden.dimension);
      expect(cosine(vector, expected)).toBeGreaterThanOrEqual(0.9999);
      const maxDiff = Math.max(...vector.map((x, j) => Math.abs(x - (expected[j] as number))));
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    });
  });

  it('embedQuery gives the same vector as embedDocuments (padding does not leak into the mean)', async () => {
    const longest = golden.texts.reduce((a, b) => (a.length >= b.length ? a : b));
    const shortest = golden.texts.reduce((a, b) => (a.length <= b.length ? a : b));
    const [batched] = await embeddings.embedDocuments([shortest, longest]);
    const alone = await embeddings.embedQuery(shortest);
    alone.forEach((x, j) => expect(x).toBeCloseTo(batched?.[j] as number, 5));
  });

  it('normalize: false returns the raw mean, parallel to the normalised vector', async () => {
    const raw = new OnnxEmbeddings({ model: MODEL, normalize: false });
    const [vector] = await raw.embedDocuments([golden.texts[0] as string]);
    expect(Math.abs(Math.hypot(...(vector as number[])) - 1)).toBeGreaterThan(1e-3);
    expect(cosine(vector as number[], golden.embeddings[0] as number[])).toBeGreaterThanOrEqual(0.9999);
    await raw.dispose();
  });
});
