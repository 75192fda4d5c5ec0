import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyModel, deepFreeze, MODELS_DIR, modelDir } from './helpers/models.js';
import {
  AbortError,
  DisposedError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  NonFiniteScoreError,
} from '../src/index.js';
import { CrossEncoder } from '../src/index.js';
import type { TextPair } from '../src/index.js';

const PASSAGES = [
  'The mitochondria is the powerhouse of the cell.',
  'Paris is the capital and most populous city of France.',
  '',
  'Cross-encoders read the query and the passage together, so attention spans both.',
  'A short one.',
  'Tokyo — 東京 — is the capital of Japan 🇯🇵, with naïve café façades.',
  'x '.repeat(3000),
];
const QUERY = 'what is the capital of france';

let tiny: CrossEncoder;
beforeAll(async () => {
  tiny = await CrossEncoder.load(modelDir('tiny'));
});
afterAll(async () => {
  await tiny.dispose();
});

describe('CrossEncoder.load', () => {
  it('reads what the model is from its graph and config', () => {
    expect(tiny.info).toMatchObject({
      source: 'local',
      inputs: ['input_ids', 'attention_mask', 'token_type_ids'],
      numLabels: 1,
      maxLength: 512,
      maxBatchTokens: 2048,
      activation: 'sigmoid',
    });
  });

  it('feeds only the inputs a graph declares', async () => {
    const model = await CrossEncoder.load(modelDir('tiny-no-token-types'));
    expect(model.info.inputs).toEqual(['input_ids', 'attention_mask']);
    const scores = await model.score([[QUERY, PASSAGES[1] as string]]);
    expect(scores[0]).toBeGreaterThan(0);
    await model.dispose();
  });

  it('caps maxLength at the model maximum and rejects nonsense', async () => {
    const capped = await CrossEncoder.load(modelDir('tiny'), { maxLength: 100_000 });
    expect(capped.info.maxLength).toBe(512);
    await capped.dispose();
    await expect(CrossEncoder.load(modelDir('tiny'), { maxLength: 2 })).rejects.toThrow(InvalidArgumentError);
    await expect(CrossEncoder.load(modelDir('tiny'), { batchSize: 0 })).rejects.toThrow(/options.batchSize/);
    for (const maxBatchTokens of [0, -5, 1.5, Number.NaN, '1024' as unknown as number]) {
      await expect(CrossEncoder.load(modelDir('tiny'), { maxBatchTokens })).rejects.toThrow(/options.maxBatchTokens/);
    }
    await expect(CrossEncoder.load(modelDir('tiny'), { activation: 'relu' as never })).rejects.toThrow(
      /options.activation/,
    );
    await expect(CrossEncoder.load(modelDir('tiny'), { variant: 'int4' as never })).rejects.toThrow(/options.variant/);
  });

  it('loads the int8 variant by name', async () => {
    const int8 = await CrossEncoder.load(modelDir('tiny'), { variant: 'int8' });
    expect(int8.info.onnxPath.endsWith(join('onnx', 'model_quantized.onnx'))).toBe(true);
    await int8.dispose();
  });
});

describe('score and rank', () => {
  it('returns [] for no input', async () => {
    expect(await tiny.score([])).toEqual([]);
    expect(await tiny.rank(QUERY, [])).toEqual([]);
  });

  it('gives a pair the same score whatever its batch neighbours and batch size', async () => {
    const pairs = PASSAGES.map((p): TextPair => [QUERY, p]);
    const alone = await Promise.all(pairs.map(async (pair) => (await tiny.score([pair]))[0] as number));
    for (const batchSize of [1, 2, 3, 32]) {
      const batched = await tiny.score(pairs, { batchSize });
      batched.forEach((score, i) => expect(Math.abs(score - (alone[i] as number))).toBeLessThan(1e-5));
    }
    for (const maxBatchTokens of [1, 40, 100_000]) {
      const model = await CrossEncoder.load(modelDir('tiny'), { maxBatchTokens });
      expect(model.info.maxBatchTokens).toBe(maxBatchTokens);
      const batched = await model.score(pairs);
      batched.forEach((score, i) => expect(Math.abs(score - (alone[i] as number))).toBeLessThan(1e-5));
      await model.dispose();
    }
  });

  it('ranks best first, keeps indices into the caller list and honours topK', async () => {
    const scores = await tiny.score(PASSAGES.map((p): TextPair => [QUERY, p]));
    const ranked = await tiny.rank(QUERY, PASSAGES, { topK: 3 });
    expect(ranked).toHaveLength(3);
    const expected = scores
      .map((score, index) => ({ index, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 3);
    expect(ranked).toEqual(expected);
    expect(await tiny.rank(QUERY, PASSAGES, { topK: 0 })).toEqual([]);
  });

  it('applies the activation per call without changing later calls', async () => {
    const pair: TextPair = [QUERY, PASSAGES[1] as string];
    const [logit] = await tiny.score([pair], { activation: 'none' });
    const [score] = await tiny.score([pair]);
    expect(score).toBeCloseTo(1 / (1 + Math.exp(-(logit as number))), 6);
  });

  it('never mutates the caller input', async () => {
    const docs = deepFreeze([...PASSAGES]);
    const pairs = deepFreeze(PASSAGES.map((p): TextPair => [QUERY, p]));
    await tiny.rank(QUERY, docs);
    await tiny.score(pairs);
    expect(docs).toEqual(PASSAGES);
  });

  it('scores documents of any length by truncating them', async () => {
    const huge = 'lorem ipsum dolor sit amet '.repeat(40_000);
    const [score] = await tiny.score([[QUERY, huge]]);
    expect(Number.isFinite(score)).toBe(true);
    expect((await tiny.encode(QUERY, huge)).ids).toHaveLength(512);
  });

  it('rejects bad input with a typed error naming the parameter', async () => {
    await expect(tiny.rank('   ', PASSAGES)).rejects.toThrow(InvalidArgumentError);
    await expect(tiny.rank('', PASSAGES)).rejects.toThrow(/query/);
    await expect(tiny.rank(QUERY, ['ok', 3 as never])).rejects.toThrow(/documents\[1\]/);
    await expect(tiny.rank(QUERY, [null as never])).rejects.toThrow(/documents\[0\]: expected a string, got null/);
    await expect(tiny.rank(QUERY, 'text' as never)).rejects.toThrow(/documents/);
    await expect(tiny.score([[QUERY]] as never)).rejects.toThrow(/pairs\[0\]/);
    await expect(tiny.score([[undefined, 'x']] as never)).rejects.toThrow(/pairs\[0\]\[0\]/);
    await expect(tiny.rank(QUERY, PASSAGES, { topK: -1 })).rejects.toThrow(/topK/);
  });

  it('stops between batches when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(tiny.score([[QUERY, 'x']], { signal: controller.signal })).rejects.toThrow(AbortError);
    expect(await tiny.score([[QUERY, 'x']])).toHaveLength(1);
  });

  it('returns a valid ranking for arbitrary text', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 60 }).filter((q) => q.trim() !== ''),
        fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 6 }),
        async (query, documents) => {
          const ranked = await tiny.rank(query, documents);
          expect(ranked.map((r) => r.index).sort((a, b) => a - b)).toEqual(documents.map((_, i) => i));
          for (let i = 1; i < ranked.length; i++) {
            expect((ranked[i - 1] as { score: number }).score).toBeGreaterThanOrEqual(
              (ranked[i] as { score: number }).score,
            );
          }
          ranked.forEach((r) => expect(Number.isFinite(r.score)).toBe(true));
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('two-label models', () => {
  it('scores with the softmax probability of the second class', async () => {
    const model = await CrossEncoder.load(modelDir('tiny-2label'));
    expect(model.info).toMatchObject({ numLabels: 2, activation: 'softmax' });
    const pair: TextPair = [QUERY, PASSAGES[0] as string];
    const [probability] = await model.score([pair]);
    const [rawSecond] = await model.score([pair], { activation: 'none' });
    expect(probability).toBeGreaterThan(0);
    expect(probability).toBeLessThan(1);
    expect(rawSecond).not.toBeCloseTo(probability as number, 3);
    await model.dispose();
  });
});

describe('broken models', () => {
  async function tinyWithGraph(graph: string): Promise<string> {
    const dir = await copyModel('tiny');
    await copyFile(join(MODELS_DIR, 'broken', `${graph}.onnx`), join(dir, 'onnx', 'model.onnx'));
    return dir;
  }

  it('names a missing tokenizer.json', async () => {
    const dir = await copyModel('tiny');
    await rm(join(dir, 'tokenizer.json'));
    await expect(CrossEncoder.load(dir)).rejects.toThrow(ModelNotFoundError);
    await expect(CrossEncoder.load(dir)).rejects.toThrow(/tokenizer\.json/);
  });

  it('names a missing ONNX file', async () => {
    const dir = await copyModel('tiny');
    await rm(join(dir, 'onnx', 'model_fp16.onnx'), { force: true });
    await expect(CrossEncoder.load(dir, { variant: 'fp16' })).rejects.toThrow(/model_fp16\.onnx/);
  });

  it('reports a corrupt ONNX file and a malformed tokenizer.json', async () => {
    const dir = await copyModel('tiny');
    await writeFile(join(dir, 'onnx', 'model.onnx'), 'not a protobuf');
    await expect(CrossEncoder.load(dir)).rejects.toThrow(ModelFormatError);
    const dir2 = await copyModel('tiny');
    await writeFile(join(dir2, 'tokenizer.json'), '{"truncated": ');
    await expect(CrossEncoder.load(dir2)).rejects.toThrow(/tokenizer\.json is not valid JSON/);
  });

  it('refuses graphs that are not text-pair scorers', async () => {
    await expect(CrossEncoder.load(await tinyWithGraph('wrong-inputs'))).rejects.toThrow(/pixel_values/);
    await expect(CrossEncoder.load(await tinyWithGraph('integer-outputs'))).rejects.toThrow(/int64/);
    await expect(CrossEncoder.load(await tinyWithGraph('three-labels'))).rejects.toThrow(/3 logits/);
    await expect(CrossEncoder.load(modelDir('all-MiniLM-L6-v2'))).rejects.toThrow(/embedding model/);
  });

  it('turns NaN logits into a typed error', async () => {
    const model = await CrossEncoder.load(await tinyWithGraph('nan-logits'));
    await expect(model.score([[QUERY, 'x']])).rejects.toThrow(NonFiniteScoreError);
    await model.dispose();
  });

  it('refuses use after dispose', async () => {
    const model = await CrossEncoder.load(modelDir('tiny'));
    await model.dispose();
    await model.dispose();
    await expect(model.score([[QUERY, 'x']])).rejects.toThrow(DisposedError);
  });
});
