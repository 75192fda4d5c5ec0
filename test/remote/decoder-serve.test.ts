// `serve --model` with a reranker on a language model: the command loads it as the package command does, and every
// route takes an instruction, answering with the scores the same model gives in-process.
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder, CrossEncoderReranker, RemoteScorer, type RerankServer, type TextPair } from '../../src/index.js';
import { runServe, type ServeIo } from '../../src/serve/cli.js';
import { modelDir, noGolden } from '../helpers/models.js';

const QUERY = 'how do plants make food';
const DOCS = [
  'Photosynthesis turns light, water and carbon dioxide into sugar in the leaves.',
  'The stock market fell sharply on Tuesday.',
  'Roots take up water and minerals from the soil.',
];
const INSTRUCTION = 'Given a biology question, retrieve passages that answer it';
const NOISE = 1e-5;

/** Loads what `serve` asks for, as the package command does. */
const serveLoader: ServeIo['loadScorer'] = (name, { variant, threads, ggufFile, maxLength }) =>
  CrossEncoder.load(name, {
    ...(ggufFile === undefined ? { variant } : { ggufFile }),
    ...(threads === undefined ? {} : { threads }),
    ...(maxLength === undefined ? {} : { maxLength }),
  });

describe.skipIf(noGolden())('serve --model with a reranker on a language model', { timeout: 300_000 }, () => {
  const signals = new EventEmitter();
  let model: CrossEncoder;
  let server: RerankServer | undefined;
  let exit: Promise<number>;
  let plain: number[];
  let instructed: number[];
  const output: string[] = [];

  beforeAll(async () => {
    model = await CrossEncoder.load(modelDir('fam-qwen3'));
    const pairs = DOCS.map((doc): TextPair => [QUERY, doc]);
    plain = await model.score(pairs);
    instructed = await model.score(pairs, { instruction: INSTRUCTION });
    exit = runServe(['--model', modelDir('fam-qwen3'), '--port', '0'], {
      loadScorer: serveLoader,
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: (text: string) => output.push(text) },
      signals,
      onListening: (s) => (server = s),
    });
    while (server === undefined) {
      if (output.some((line) => line.includes('could not'))) throw new Error(output.join(''));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });

  afterAll(async () => {
    signals.emit('SIGTERM');
    await exit;
    await model?.dispose();
  });

  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${server?.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  const byIndex = (rows: { index: number; score: number }[]) =>
    [...rows].sort((a, b) => a.index - b.index).map((row) => row.score);

  it('answers TEI requests with and without an instruction as the model does in-process', async () => {
    for (const [instruction, expected] of [
      [undefined, plain],
      [INSTRUCTION, instructed],
    ] as const) {
      const { status, body } = await post('/rerank', { query: QUERY, texts: DOCS, instruction });
      expect(status).toBe(200);
      byIndex(body as { index: number; score: number }[]).forEach((score, i) =>
        expect(Math.abs(score - (expected[i] as number))).toBeLessThan(NOISE),
      );
    }
    expect(instructed).not.toEqual(plain);
  });

  it('takes the instruction on the Cohere routes', async () => {
    for (const path of ['/v1/rerank', '/v2/rerank']) {
      const { status, body } = await post(path, { query: QUERY, documents: DOCS, instruction: INSTRUCTION });
      expect(status).toBe(200);
      const results = (body as { results: { index: number; relevance_score: number }[] }).results;
      results.forEach(({ index, relevance_score }) =>
        expect(Math.abs(relevance_score - (instructed[index] as number))).toBeLessThan(NOISE),
      );
    }
  });

  it('scores through RemoteScorer with an instruction, on both protocols and through the reranker', async () => {
    const url = server?.url as string;
    for (const protocol of ['tei', 'cohere'] as const) {
      const remote = new RemoteScorer({ url, protocol, instruction: INSTRUCTION });
      const scores = await remote.score(DOCS.map((doc): TextPair => [QUERY, doc]));
      scores.forEach((score, i) => expect(Math.abs(score - (instructed[i] as number))).toBeLessThan(NOISE));
      const own = await remote.score([[QUERY, DOCS[0] as string]], { instruction: undefined });
      expect(Math.abs((own[0] as number) - (instructed[0] as number))).toBeLessThan(NOISE);
    }
    const reranker = new CrossEncoderReranker({ model: new RemoteScorer({ url }), instruction: INSTRUCTION });
    const ranked = await reranker.rerank(DOCS, QUERY);
    ranked.forEach(({ index, relevanceScore }) =>
      expect(Math.abs(relevanceScore - (instructed[index] as number))).toBeLessThan(NOISE),
    );
  });

  it('answers 422 to an instruction that is not a string', async () => {
    const { status } = await post('/rerank', { query: QUERY, texts: DOCS, instruction: 7 });
    expect(status).toBe(422);
  });
});

describe.skipIf(noGolden())('serve --gguf-file with GGUF weights through llama.cpp', { timeout: 300_000 }, () => {
  it('serves the F32 file with the scores of the ONNX model in-process, instruction included', async () => {
    const model = await CrossEncoder.load(modelDir('fam-qwen3'), { worker: false });
    const expected = await model.score(
      DOCS.map((doc): TextPair => [QUERY, doc]),
      { instruction: INSTRUCTION },
    );
    await model.dispose();
    const signals = new EventEmitter();
    const output: string[] = [];
    let server: RerankServer | undefined;
    const exit = runServe(['--model', modelDir('fam-qwen3'), '--gguf-file', 'gguf/model-f32.gguf', '--port', '0'], {
      loadScorer: serveLoader,
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: (text: string) => output.push(text) },
      signals,
      onListening: (s) => (server = s),
    });
    try {
      while (server === undefined) {
        if (output.some((line) => line.includes('could not'))) throw new Error(output.join(''));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const scores = await new RemoteScorer({ url: server.url, instruction: INSTRUCTION }).score(
        DOCS.map((doc): TextPair => [QUERY, doc]),
      );
      scores.forEach((score, i) => expect(Math.abs(score - (expected[i] as number))).toBeLessThan(1e-4));
    } finally {
      signals.emit('SIGTERM');
      expect(await exit).toBe(0);
    }
  });

  it('refuses --gguf-file beside --variant with a usage error', async () => {
    const output: string[] = [];
    const code = await runServe(['--model', 'm', '--gguf-file', 'a.gguf', '--variant', 'int8'], {
      loadScorer: serveLoader,
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: (text: string) => output.push(text) },
    });
    expect(code).toBe(2);
    expect(output.join('')).toMatch(/--variant or --gguf-file, not both/);
  });
});

describe.skipIf(noGolden())('serve --max-length with a reranker on a language model', { timeout: 300_000 }, () => {
  it('loads the model at that length and answers a 100,000-character document within it', async () => {
    const asked: (number | undefined)[] = [];
    const signals = new EventEmitter();
    const output: string[] = [];
    let server: RerankServer | undefined;
    const exit = runServe(['--model', modelDir('fam-qwen3-kv'), '--max-length', '256', '--port', '0'], {
      loadScorer: (name, options) => {
        asked.push(options.maxLength);
        return serveLoader(name, options);
      },
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: (text: string) => output.push(text) },
      signals,
      onListening: (s) => (server = s),
    });
    const model = await CrossEncoder.load(modelDir('fam-qwen3-kv'), { worker: false, maxLength: 256 });
    try {
      while (server === undefined) {
        if (output.some((line) => line.includes('could not'))) throw new Error(output.join(''));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(asked).toEqual([256]);
      const huge = Array.from({ length: 1400 }, () => DOCS[0])
        .join(' ')
        .slice(0, 100_000);
      const texts = [huge, ...DOCS];
      const response = await fetch(`${server.url}/rerank`, {
        method: 'POST',
        body: JSON.stringify({ query: QUERY, texts }),
      });
      expect(response.status).toBe(200);
      const rows = (await response.json()) as { index: number; score: number }[];
      const expected = await model.score(texts.map((text): TextPair => [QUERY, text]));
      [...rows]
        .sort((a, b) => a.index - b.index)
        .forEach((row, i) => expect(Math.abs(row.score - (expected[i] as number))).toBeLessThan(NOISE));
      expect((await model.encode(QUERY, huge)).ids.length).toBe(256);
    } finally {
      await model.dispose();
      signals.emit('SIGTERM');
      expect(await exit).toBe(0);
    }
  });

  it('refuses a --max-length below 2 with a usage error', async () => {
    const output: string[] = [];
    const code = await runServe(['--model', 'm', '--max-length', '1'], {
      loadScorer: serveLoader,
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: (text: string) => output.push(text) },
    });
    expect(code).toBe(2);
    expect(output.join('')).toMatch(/--max-length must be an integer of at least 2/);
  });
});
