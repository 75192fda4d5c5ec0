import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder } from '../src/index.js';
import { ANSWER_OUTPUT, cutAnswerHead } from '../src/engine/decoder-cut.js';
import { openPairTokenizer } from '../src/engine/model-files.js';
import { PairChatTemplate } from '../src/tokenize/chat-template.js';
import { DecoderPrompts } from '../src/tokenize/decoder-prompts.js';
import type { PairTokenizer } from '../src/tokenize/tokenizer.js';
import { copyModel, modelDir, noGolden, readDecoderGolden, type DecoderGolden } from './helpers/models.js';

// What a reranker on a language model computes and holds: the graph cut to the answer logits, the prompt ahead of
// the documents computed once per query, long prompts in pieces, and the bounds on prompt length and tokenizing.
// Scores are held to sentence-transformers' golden files (test/decoders.test.ts runs all of them through these
// paths) or, where the reference has no windows or pieces, to the same weights run whole (fam-qwen3: no cache).

const TOLERANCE = 1e-4;
const worst = (ours: readonly number[], expected: readonly number[]) =>
  Math.max(...expected.map((value, i) => Math.abs((ours[i] as number) - value)));
const noReadExternal = async (): Promise<Uint8Array> => {
  throw new Error('the test models keep their weights inside the graph');
};

const skip = noGolden();

describe.skipIf(skip)('the load-time cut of a causal graph', () => {
  for (const name of ['fam-qwen3-kv']) {
    it(`${name}: outputs yes and no at the last position as the full graph does, without the head's other rows`, async () => {
      const file = join(modelDir(name), 'onnx', 'model.onnx');
      const bytes = new Uint8Array(await readFile(file));
      const answer = JSON.parse(await readFile(join(modelDir(name), '1_LogitScore', 'config.json'), 'utf8'));
      const yes = answer.true_token_id as number;
      const no = answer.false_token_id as number;
      const cut = await cutAnswerHead(bytes, { yes, no }, noReadExternal);
      expect(cut).toBeDefined();
      const config = JSON.parse(await readFile(join(modelDir(name), 'config.json'), 'utf8'));
      // The head's [hidden, vocabulary] floats are gone but for two columns.
      expect(bytes.length - (cut as Uint8Array).length).toBeGreaterThan(
        config.hidden_size * (config.vocab_size - 2) * 4 * 0.99,
      );
      const full = await ort.InferenceSession.create(file);
      const small = await ort.InferenceSession.create(cut as Uint8Array);
      expect(small.outputNames[0]).toBe(ANSWER_OUTPUT);
      // Two left-padded rows, as the engine feeds them.
      const ids = [0, 0, 0, 17, 230, 41, 9, 88, 12, 301, 77, 5, 6, 400];
      const mask = ids.map((_, i) => (i < 3 ? 0 : 1));
      const positions = [1, 1, 1, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5, 6];
      const int64 = (values: number[], dims: number[]) =>
        new ort.Tensor('int64', BigInt64Array.from(values, BigInt), dims);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64(ids, [2, 7]),
        attention_mask: int64(mask, [2, 7]),
      };
      if (full.inputNames.includes('position_ids')) feeds['position_ids'] = int64(positions, [2, 7]);
      for (const input of full.inputNames.filter((n) => n.startsWith('past_key_values.'))) {
        feeds[input] = new ort.Tensor('float32', new Float32Array(0), [
          2,
          config.num_key_value_heads,
          0,
          config.head_dim,
        ]);
      }
      const logits = (await full.run(feeds, ['logits']))['logits'] as ort.Tensor;
      const answers = (await small.run(feeds, [ANSWER_OUTPUT]))[ANSWER_OUTPUT] as ort.Tensor;
      expect(answers.dims).toEqual([2, 2]);
      const vocabulary = logits.dims[2] as number;
      const data = logits.data as Float32Array;
      const expected = [0, 1].flatMap((row) =>
        [yes, no].map((token) => data[(row * 7 + 6) * vocabulary + token] as number),
      );
      expect(worst(Array.from(answers.data as Float32Array), expected)).toBeLessThan(1e-5);
      await full.release();
      await small.release();
    });
  }

  it('fam-qwen3: our exporter writes the cut form, which the engine opens as it is', async () => {
    const file = join(modelDir('fam-qwen3'), 'onnx', 'model.onnx');
    const session = await ort.InferenceSession.create(file);
    expect(session.outputNames).toEqual([ANSWER_OUTPUT]);
    await session.release();
    expect(
      await cutAnswerHead(new Uint8Array(await readFile(file)), { yes: 1, no: 2 }, noReadExternal),
    ).toBeUndefined();
  });

  it('leaves a graph it does not know as it is: the single-logit conversion has no vocabulary head', async () => {
    const bytes = new Uint8Array(await readFile(join(modelDir('fam-qwen3-seq-cls'), 'onnx', 'model.onnx')));
    expect(await cutAnswerHead(bytes, { yes: 1, no: 2 }, noReadExternal)).toBeUndefined();
    // Answer tokens outside the vocabulary are not cut either: the engine's own check then names them.
    const causal = new Uint8Array(await readFile(join(modelDir('fam-qwen3-kv'), 'onnx', 'model.onnx')));
    expect(await cutAnswerHead(causal, { yes: 10 ** 7, no: 2 }, noReadExternal)).toBeUndefined();
  });
});

describe.skipIf(skip)('the shared prefix and long prompts in pieces', { timeout: 600_000 }, () => {
  let golden: DecoderGolden;
  let plain: CrossEncoder;
  let cached: CrossEncoder;
  beforeAll(async () => {
    golden = await readDecoderGolden('fam-qwen3-kv');
    // The same weights: fam-qwen3 runs every prompt whole, fam-qwen3-kv continues each from the shared prefix.
    plain = await CrossEncoder.load(modelDir('fam-qwen3'), { worker: false, maxLength: 2048 });
    cached = await CrossEncoder.load(modelDir('fam-qwen3-kv'), { worker: false, maxLength: 2048 });
  });
  afterAll(async () => {
    await plain?.dispose();
    await cached?.dispose();
  });

  it('computes the prompt ahead of the documents once per query and keeps the golden scores', async () => {
    const query = golden.pairs[0]?.[0] as string;
    const indices = golden.pairs.flatMap(([q], i) => (q === query ? [i] : []));
    expect(indices.length).toBeGreaterThan(3);
    const pairs = indices.map((i) => golden.pairs[i] as [string, string]);
    const stats: { paddedTokens: number }[] = [];
    const cachedScores = await cached.score(pairs, { activation: 'none', onStats: (s) => stats.push(s) });
    const plainStats: { paddedTokens: number }[] = [];
    await plain.score(pairs, { activation: 'none', onStats: (s) => plainStats.push(s) });
    const prompts = await Promise.all(pairs.map(([q, d]) => cached.encode(q, d)));
    const whole = prompts.reduce((n, p) => n + p.ids.length, 0);
    // The prefix (about 110 tokens) went through the graph once rather than once per document.
    expect(plainStats[0]?.paddedTokens).toBeGreaterThanOrEqual(whole);
    expect(stats[0]?.paddedTokens).toBeLessThan((plainStats[0]?.paddedTokens as number) - (indices.length - 2) * 50);
    // maxLength 2048 keeps every golden pair whole: the 512-token golden scores apply.
    const expected = indices.map((i) => golden.by_max_length['512']?.default.logits[i] as number);
    const fits = prompts.map((p, k) => (p.ids.length < 512 ? k : -1)).filter((k) => k >= 0);
    expect(fits.length).toBeGreaterThan(3);
    expect(
      worst(
        fits.map((k) => cachedScores[k] as number),
        fits.map((k) => expected[k] as number),
      ),
    ).toBeLessThan(TOLERANCE);
  });

  it('scores windows and prompts longer than one piece as the whole prompts score', async () => {
    const [query, passage] = golden.pairs[0] as [string, string];
    const long = Array.from({ length: 12 }, (_, k) => `${k}: ${passage}`).join(' ');
    expect((await cached.encode(query, long)).ids.length).toBeGreaterThan(1100);
    const pairs: [string, string][] = [
      [query, long],
      [query, passage],
      [golden.pairs[5]?.[0] as string, long.slice(0, 3000)],
    ];
    expect(
      worst(await cached.score(pairs, { activation: 'none' }), await plain.score(pairs, { activation: 'none' })),
    ).toBeLessThan(TOLERANCE);
    const windows = { activation: 'none', maxChunksPerDoc: 6, chunkTokens: 300 } as const;
    expect(worst(await cached.score(pairs, windows), await plain.score(pairs, windows))).toBeLessThan(TOLERANCE);
  });
});

describe.skipIf(skip)('bounds on what one prompt takes', { timeout: 600_000 }, () => {
  let golden: DecoderGolden;
  beforeAll(async () => {
    golden = await readDecoderGolden('fam-qwen3');
  });

  it('defaults to 8192 tokens per pair when the model takes far more', async () => {
    const copy = await copyModel('fam-qwen3');
    try {
      for (const file of ['config.json', 'tokenizer_config.json']) {
        const json = JSON.parse(await readFile(join(copy, file), 'utf8'));
        if (file === 'config.json') json.max_position_embeddings = 40960;
        else json.model_max_length = 40960;
        await writeFile(join(copy, file), JSON.stringify(json));
      }
      const model = await CrossEncoder.load(copy, { worker: false });
      expect(model.info.maxLength).toBe(8192);
      await model.dispose();
      const raised = await CrossEncoder.load(copy, { worker: false, maxLength: 20000 });
      expect(raised.info.maxLength).toBe(20000);
      await raised.dispose();
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  async function prompts(wrap?: (tokenizer: PairTokenizer) => PairTokenizer, template?: PairChatTemplate) {
    const dir = modelDir('fam-qwen3');
    const tokenizer = await openPairTokenizer({
      tokenizerJson: join(dir, 'tokenizer.json'),
      tokenizerConfig: join(dir, 'tokenizer_config.json'),
    });
    const source = await readFile(join(dir, 'chat_template.jinja'), 'utf8');
    const chat = template ?? new PairChatTemplate(source, 'flat', {}, 'chat_template.jinja');
    return new DecoderPrompts(wrap === undefined ? tokenizer : wrap(tokenizer), chat);
  }

  it('tokenizes a huge document from a prefix, and the text ahead of it once per query, with the same ids', async () => {
    const texts: string[] = [];
    const spy = (tokenizer: PairTokenizer) =>
      new Proxy(tokenizer, {
        get(target, key) {
          if (key === 'encodeText') {
            return (text: string) => {
              texts.push(text);
              return target.encodeText(text);
            };
          }
          const value = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const [query, passage] = golden.pairs[0] as [string, string];
    const huge = Array.from({ length: 8000 }, () => passage).join(' ');
    expect(huge.length).toBeGreaterThan(1_000_000);
    const watched = await prompts(spy);
    const reference = await prompts();
    const pairs: [string, string][] = [
      [query, huge],
      [query, passage],
      [query, huge.slice(0, 20_000)],
    ];
    const rows = await watched.encodeWindows(pairs, undefined, 128, {
      maxChunks: 1,
      chunkTokens: undefined,
      strideTokens: undefined,
    });
    // Every text handed to the tokenizer is far shorter than the document.
    expect(Math.max(...texts.map((t) => t.length))).toBeLessThan(100_000);
    // The query is tokenized inside one text per call, not inside every pair's prompt.
    expect(texts.filter((t) => t.includes(query)).length).toBeLessThanOrEqual(4);
    // Same ids as prompts tokenized whole (the reference cuts the document by hand well past 128 tokens).
    const whole = await reference.encodeWindows(
      [
        [query, huge.slice(0, 60_000)],
        [query, passage],
        [query, huge.slice(0, 20_000)],
      ],
      undefined,
      128,
      { maxChunks: 1, chunkTokens: undefined, strideTokens: undefined },
    );
    expect(rows.rows.map((r) => r.ids)).toEqual(whole.rows.map((r) => r.ids));
    expect(rows.truncated).toBe(whole.truncated);
  });

  it('counts a pair as truncated only when its windows leave tokens out, as the cross-encoder path does', async () => {
    const model = await prompts();
    const [query, passage] = golden.pairs[0] as [string, string];
    const long = `${passage} ${passage} ${passage}`;
    const windows = (maxChunks: number) =>
      model.encodeWindows([[query, long]], undefined, 160, {
        maxChunks,
        chunkTokens: undefined,
        strideTokens: undefined,
      });
    expect((await windows(1)).truncated).toBe(1);
    const covered = await windows(64);
    expect(covered.rows.length).toBeGreaterThan(1);
    expect(covered.truncated).toBe(0);
    expect((await windows(2)).truncated).toBe((await windows(2)).rows.length === 2 ? 1 : 0);
  });

  it('does not keep a failed rendering of the template: the next call renders again', async () => {
    const dir = modelDir('fam-qwen3');
    const source = await readFile(join(dir, 'chat_template.jinja'), 'utf8');
    const real = new PairChatTemplate(source, 'flat', {}, 'chat_template.jinja');
    let fail = true;
    const flaky = {
      render(query: string, document: string, instruction: string | undefined) {
        if (fail) throw new Error('the template failed this once');
        return real.render(query, document, instruction);
      },
    } as unknown as PairChatTemplate;
    const model = await prompts(undefined, flaky);
    await expect(model.encodePair('q', 'd', undefined, 128)).rejects.toThrow(/this once/);
    fail = false;
    const ids = (await model.encodePair('q', 'd', undefined, 128)).ids;
    expect(ids).toEqual((await (await prompts()).encodePair('q', 'd', undefined, 128)).ids);
  });
});
