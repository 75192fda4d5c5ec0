import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder, CrossEncoderReranker, InvalidArgumentError } from '../src/index.js';
import { startHubServer } from './helpers/hub-server.js';
import {
  DECODER_MODELS as MODELS,
  modelDir,
  noGolden,
  readDecoderGolden,
  type DecoderGolden,
  type DecoderScored as Scored,
} from './helpers/models.js';

// Rerankers on a language model (tools/decoders.py): a tiny random Qwen3ForCausalLM with a chat template in
// Qwen3-Reranker's layout, exported in the cut form (the answer logits at the last position); the same weights
// behind a Transformers.js-style graph with a cache (cut at load, each document continued from the shared prefix of
// its query); and the single-logit sequence-classification conversion. Prompt ids and raw scores against sentence-transformers 6.2, at a
// length that cuts most documents and one that keeps them, with the model's instruction and with another.

const TOLERANCE = 1e-4;

/** Indices where `ours` and `expected` differ by more than the tolerance, with the worst difference. */
function mismatches(ours: readonly number[], expected: readonly number[]) {
  const bad = expected.flatMap((value, i) => (Math.abs((ours[i] as number) - value) > TOLERANCE ? [i] : []));
  const worst = Math.max(...expected.map((value, i) => Math.abs((ours[i] as number) - value)));
  return { bad, worst: bad.length === 0 ? 'ok' : worst };
}

const skip = noGolden();
for (const name of MODELS) {
  describe.skipIf(skip)(
    `${name}: prompt-exact and score-exact against sentence-transformers`,
    { timeout: 600_000 },
    () => {
      let golden: DecoderGolden;
      beforeAll(async () => {
        golden = await readDecoderGolden(name);
      });

      for (const maxLength of [160, 512]) {
        for (const which of ['default', 'custom'] as const) {
          it(`gives the same prompt ids and raw scores at maxLength ${maxLength} with the ${which} instruction`, async () => {
            const expected = golden.by_max_length[String(maxLength)]?.[which] as Scored;
            const instruction = which === 'custom' ? golden.custom_instruction : undefined;
            const model = await CrossEncoder.load(modelDir(name), {
              worker: false,
              maxLength,
              ...(instruction === undefined ? {} : { instruction }),
            });
            try {
              for (const [pairs, ids, logits] of [
                [golden.pairs, expected.ids, expected.logits],
                [golden.hostile_pairs, expected.hostile_ids, expected.hostile_logits],
              ] as const) {
                const encoded = await Promise.all(pairs.map(([q, d]) => model.encode(q, d)));
                const differing = encoded.flatMap((row, i) =>
                  JSON.stringify(row.ids) === JSON.stringify(ids[i]) ? [] : [i],
                );
                expect({ maxLength, which, differing }).toEqual({ maxLength, which, differing: [] });
                const ours = await model.score(pairs, { activation: 'none' });
                expect({ maxLength, which, ...mismatches(ours, logits) }).toEqual({
                  maxLength,
                  which,
                  bad: [],
                  worst: 'ok',
                });
              }
            } finally {
              await model.dispose();
            }
          });
        }
      }
    },
  );
}

describe.skipIf(skip)('a reranker on a language model through the public API', { timeout: 600_000 }, () => {
  let golden: DecoderGolden;
  let model: CrossEncoder;
  beforeAll(async () => {
    golden = await readDecoderGolden('fam-qwen3');
    model = await CrossEncoder.load(modelDir('fam-qwen3'), { maxLength: 160 });
  });
  afterAll(() => model?.dispose());

  it('scores in the worker with the sigmoid sentence-transformers applies by default', async () => {
    expect(golden.default_activation_fn).toBe('Sigmoid');
    expect(model.info.activation).toBe('sigmoid');
    const pairs = golden.pairs.slice(0, 40);
    const ours = await model.score(pairs);
    const expected = (golden.by_max_length['160'] as { default: Scored }).default.logits.slice(0, 40);
    expect(
      mismatches(
        ours,
        expected.map((x) => 1 / (1 + Math.exp(-x))),
      ),
    ).toEqual({ bad: [], worst: 'ok' });
  });

  it('takes an instruction per call, leaving the model default for the next call', async () => {
    const pairs = golden.pairs.slice(0, 30);
    const scored = golden.by_max_length['160'] as { default: Scored; custom: Scored };
    const custom = await model.score(pairs, { activation: 'none', instruction: golden.custom_instruction });
    expect(mismatches(custom, scored.custom.logits.slice(0, 30))).toEqual({ bad: [], worst: 'ok' });
    const plain = await model.score(pairs, { activation: 'none' });
    expect(mismatches(plain, scored.default.logits.slice(0, 30))).toEqual({ bad: [], worst: 'ok' });
  });

  it('splits long documents into windows that keep the prompt and score as the best one', async () => {
    const expected = (golden.by_max_length['160'] as { default: Scored }).default;
    const long = golden.pairs.flatMap((pair, i) => ((expected.ids[i] as number[]).length === 160 ? [pair] : []));
    expect(long.length).toBeGreaterThan(100);
    const sample = long.slice(0, 30);
    const truncated = await model.score(sample, { activation: 'none' });
    const stats: { chunks: number }[] = [];
    const windowed = await model.score(sample, {
      activation: 'none',
      maxChunksPerDoc: 4,
      onStats: (s) => stats.push(s),
    });
    expect(stats[0]?.chunks).toBeGreaterThan(sample.length);
    // The first window is the truncated prompt, so the best window is never worse; some documents do better.
    windowed.forEach((score, i) => expect(score).toBeGreaterThanOrEqual((truncated[i] as number) - 1e-6));
    expect(windowed.some((score, i) => score > (truncated[i] as number) + 1e-3)).toBe(true);
    const ranked = await model.rank(sample[0]?.[0] as string, [sample[0]?.[1] as string], { maxChunksPerDoc: 4 });
    expect(ranked[0]?.chunk).toBeGreaterThanOrEqual(0);
  });

  it('reranks with an instruction through CrossEncoderReranker', async () => {
    const [query] = golden.pairs[0] as [string, string];
    const docs = golden.pairs.filter(([q]) => q === query).map(([, d]) => d);
    const withDefault = new CrossEncoderReranker({ model, topN: docs.length });
    const withCustom = new CrossEncoderReranker({
      model,
      topN: docs.length,
      instruction: golden.custom_instruction,
    });
    const documents = docs.map((pageContent) => ({ pageContent, metadata: {} }));
    const a = await withDefault.compressDocuments(documents, query);
    const b = await withCustom.compressDocuments(documents, query);
    expect(a.map((d) => d.metadata['relevanceScore'])).not.toEqual(b.map((d) => d.metadata['relevanceScore']));
    const direct = await model.score(
      docs.map((d) => [query, d]),
      { instruction: golden.custom_instruction },
    );
    const best = Math.max(...direct);
    expect(b[0]?.metadata['relevanceScore']).toBeCloseTo(best, 6);
  });

  it('refuses an instruction that is not a string, and one for a cross-encoder', async () => {
    await expect(model.score([['q', 'd']], { instruction: 42 as unknown as string })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(
      CrossEncoder.load(modelDir('fam-roberta'), { worker: false, instruction: 'judge relevance' }),
    ).rejects.toThrow(/takes no instruction/);
  });
});

describe.skipIf(skip)('a reranker on a language model from the hub', { timeout: 300_000 }, () => {
  it('downloads the chat template and answer tokens with the model, and scores as the local folder does', async () => {
    const id = 'project/qwen3-reranker';
    const hub = await startHubServer({ root: { [id]: modelDir('fam-qwen3-kv') } });
    const cacheDir = await mkdtemp(join(tmpdir(), 'lce-cache-'));
    const pairs: [string, string][] = [
      ['capital of france', 'Paris is the capital of France.'],
      ['capital of france', 'Bread is made of flour.'],
    ];
    try {
      const local = await CrossEncoder.load(modelDir('fam-qwen3-kv'), { worker: false });
      const expected = await local.score(pairs);
      await local.dispose();
      const remote = await CrossEncoder.load(id, { cacheDir, hubEndpoint: hub.url, worker: false });
      expect(remote.info.source).toBe('hub');
      expect(await remote.score(pairs)).toEqual(expected);
      await remote.dispose();
      const fetched = hub.requests.map((r) => r.split('/resolve/main/')[1]);
      expect(fetched).toEqual(expect.arrayContaining(['chat_template.jinja', '1_LogitScore/config.json']));
    } finally {
      await hub.close();
    }
  });
});
