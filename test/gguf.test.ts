import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder, CrossEncoderReranker, InvalidArgumentError, ModelFormatError } from '../src/index.js';
import { GgufDecoderForward } from '../src/engine/gguf-forward.js';
import {
  copyModel,
  modelDir,
  noGolden,
  readDecoderGolden,
  type DecoderGolden,
  type DecoderScored,
} from './helpers/models.js';

// GGUF weights of the tiny Qwen3 reranker (converted by llama.cpp's own converter when `npm run models` builds
// fam-qwen3) run by llama.cpp through node-llama-cpp, on the prompts the engine builds. The F32 file isolates the
// pipeline from weight precision: its scores must be sentence-transformers' own. Q8_0 is what users run for speed.

const DIR = modelDir('fam-qwen3');
const F32 = 'gguf/model-f32.gguf';
const Q8 = 'gguf/model-q8_0.gguf';
const TOLERANCE = 1e-4;

const worst = (ours: readonly number[], expected: readonly number[]) =>
  Math.max(...expected.map((value, i) => Math.abs((ours[i] as number) - value)));

const skip = noGolden();

describe.skipIf(skip)('GGUF weights through llama.cpp', { timeout: 600_000 }, () => {
  let golden: DecoderGolden;
  beforeAll(async () => {
    golden = await readDecoderGolden('fam-qwen3');
  });

  // In the worker, one length is enough to show the file opens and scores there as it does inline.
  for (const [worker, lengths] of [
    [false, [160, 512]],
    [true, [160]],
  ] as const) {
    it(`F32: sentence-transformers' scores at ${lengths.join(' and ')} tokens, with its instruction and another (worker: ${worker})`, async () => {
      for (const maxLength of lengths) {
        const model = await CrossEncoder.load(DIR, { ggufFile: F32, maxLength, worker });
        try {
          expect(model.info.onnxPath).toBe(join(DIR, F32));
          for (const which of ['default', 'custom'] as const) {
            const expected = golden.by_max_length[String(maxLength)]?.[which] as DecoderScored;
            const instruction = which === 'custom' ? golden.custom_instruction : undefined;
            const pairs = [...golden.pairs, ...golden.hostile_pairs];
            const scores = await model.score(pairs, { activation: 'none', instruction });
            const difference = worst(scores, [...expected.logits, ...expected.hostile_logits]);
            expect({ maxLength, which, ok: difference < TOLERANCE }).toEqual({ maxLength, which, ok: true });
            console.log(
              `F32 GGUF maxLength ${maxLength} ${which}: worst |llama.cpp - Python| ${difference.toExponential(2)}`,
            );
          }
        } finally {
          await model.dispose();
        }
      }
    });
  }

  it('Q8_0: ranks the golden candidates close to the full-precision model, as probabilities by default', async () => {
    const model = await CrossEncoder.load(DIR, { ggufFile: Q8, maxLength: 512 });
    try {
      const expected = (golden.by_max_length['512'] as { default: DecoderScored }).default.logits;
      const logits = await model.score(golden.pairs, { activation: 'none' });
      const probabilities = await model.score(golden.pairs.slice(0, 5));
      probabilities.forEach((p, i) => expect(p).toBeCloseTo(1 / (1 + Math.exp(-(logits[i] as number))), 6));
      // Quantizing a tiny random model moves its logits by up to about one; the order must mostly hold.
      let agree = 0;
      let pairs = 0;
      for (let i = 0; i < expected.length; i += 7) {
        for (let j = i + 1; j < expected.length; j += 5) {
          pairs += 1;
          if (
            Math.sign((expected[i] as number) - (expected[j] as number)) ===
            Math.sign((logits[i] as number) - (logits[j] as number))
          )
            agree += 1;
        }
      }
      expect(agree / pairs).toBeGreaterThan(0.85);
      console.log(
        `Q8_0 GGUF: worst |llama.cpp - Python| ${worst(logits, expected).toExponential(2)}, pair order kept ${(agree / pairs).toFixed(3)}`,
      );
    } finally {
      await model.dispose();
    }
  });

  describe('the same engine around it', () => {
    let gguf: CrossEncoder;
    let onnx: CrossEncoder;
    beforeAll(async () => {
      gguf = await CrossEncoder.load(DIR, { ggufFile: F32, maxLength: 4096, worker: false });
      onnx = await CrossEncoder.load(DIR, { maxLength: 4096, worker: false });
    });
    afterAll(async () => {
      await gguf?.dispose();
      await onnx?.dispose();
    });

    it('scores prompts longer than its first context, growing it', async () => {
      const [query, passage] = golden.pairs[0] as [string, string];
      const long = Array.from({ length: 40 }, () => passage).join(' ');
      expect((await gguf.encode(query, long)).ids.length).toBeGreaterThan(2048);
      const pairs: [string, string][] = [
        [query, passage],
        [query, long],
        [query, passage],
      ];
      expect(
        worst(await gguf.score(pairs, { activation: 'none' }), await onnx.score(pairs, { activation: 'none' })),
      ).toBeLessThan(TOLERANCE);
    });

    it('closes a context grown for a long prompt once its batch is scored', async () => {
      const [query, passage] = golden.pairs[0] as [string, string];
      const long = await gguf.encode(query, Array.from({ length: 40 }, () => passage).join(' '));
      const short = await gguf.encode(query, passage);
      const forward = await GgufDecoderForward.open(join(DIR, F32), { threads: 2, maxLength: 4096, probe: short.ids });
      try {
        const open = forward.contextTokens;
        expect(open).toBeGreaterThan(0);
        expect(open).toBeLessThanOrEqual(2048);
        await forward.score([long], [0]);
        expect(forward.contextTokens).toBe(0);
        await forward.score([short], [0]);
        expect(forward.contextTokens).toBe(open);
      } finally {
        await forward.release();
      }
    });

    it('gives overlapping calls on the calling thread the scores they get one at a time', async () => {
      const [query, passage] = golden.pairs[3] as [string, string];
      const calls: [string, string][][] = [
        golden.pairs.slice(0, 20),
        [[query, Array.from({ length: 30 }, () => passage).join(' ')]],
        golden.pairs.slice(20, 30),
      ];
      const together = await Promise.all(calls.map((pairs) => gguf.score(pairs, { activation: 'none', batchSize: 4 })));
      for (const [k, pairs] of calls.entries()) {
        expect(together[k]).toEqual(await gguf.score(pairs, { activation: 'none', batchSize: 4 }));
      }
    });

    it('splits long documents into the windows ONNX Runtime scores, and ranks them through the reranker', async () => {
      const docs = golden.pairs.slice(0, 12).map(([, d]) => d);
      const query = (golden.pairs[0] as [string, string])[0];
      const options = { maxChunksPerDoc: 3, chunkTokens: 24 };
      const a = await gguf.rank(query, docs, options);
      const b = await onnx.rank(query, docs, options);
      expect(a.map((r) => [r.index, r.chunk])).toEqual(b.map((r) => [r.index, r.chunk]));
      expect(
        worst(
          a.map((r) => r.score),
          b.map((r) => r.score),
        ),
      ).toBeLessThan(TOLERANCE);
      const reranker = new CrossEncoderReranker({
        model: DIR,
        ggufFile: F32,
        topN: 3,
        instruction: golden.custom_instruction,
      });
      try {
        const top = await reranker.rerank(docs, query);
        const direct = await onnx.score(
          docs.map((d): [string, string] => [query, d]),
          { instruction: golden.custom_instruction },
        );
        top.forEach(({ index, relevanceScore }) =>
          expect(Math.abs(relevanceScore - (direct[index] as number))).toBeLessThan(TOLERANCE),
        );
      } finally {
        await reranker.dispose();
      }
    });
  });

  it('refuses options that only ONNX Runtime reads, and a path that is not a GGUF file, before loading', async () => {
    await expect(CrossEncoder.load(DIR, { ggufFile: F32, variant: 'int8' })).rejects.toThrow(
      /options\.ggufFile.*does not read variant/,
    );
    await expect(CrossEncoder.load(DIR, { ggufFile: F32, executionProviders: ['cpu'] })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(CrossEncoder.load(DIR, { ggufFile: 'onnx/model.onnx' })).rejects.toThrow(/ending in \.gguf/);
    await expect(CrossEncoder.load(DIR, { ggufFile: '/abs/model.gguf' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses GGUF weights for a cross-encoder, and a file converted without its ranking head', async () => {
    const crossEncoder = await copyModel('tiny');
    try {
      await cp(join(DIR, F32), join(crossEncoder, 'model.gguf'));
      await expect(CrossEncoder.load(crossEncoder, { ggufFile: 'model.gguf', worker: false })).rejects.toThrow(
        /rerankers on a language model only/,
      );
    } finally {
      await rm(crossEncoder, { recursive: true, force: true });
    }
    const error = await CrossEncoder.load(DIR, { ggufFile: 'gguf/causal-lm-f32.gguf', worker: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(/no ranking head.*tools\/gguf_export\.py/);
  });
});
