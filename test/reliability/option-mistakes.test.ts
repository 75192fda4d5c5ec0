// A wrong option costs an error that names it, never a model: settings are checked where they are given, a session
// that fails for a reason other than its file is not called corrupt (and never sets off the cache's repair), a
// reranker's fallback never hides a wrong argument, and a model that failed to load is not reloaded on every call.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Document } from '@langchain/core/documents';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CrossEncoder,
  CrossEncoderReranker,
  InvalidArgumentError,
  ModelFormatError,
  OnnxEmbeddings,
  SessionOpenError,
  type RankResult,
  type Scorer,
} from '../../src/index.js';
import { isolateHubEnv } from '../helpers/hub-env.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { copyModel, modelDir } from '../helpers/models.js';

const MISSING = join(tmpdir(), 'lce-no-such-model-folder');

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    async (value) => {
      await (value as { dispose?: () => Promise<void> }).dispose?.();
      return undefined;
    },
    (error: unknown) => error as Error,
  );
  if (outcome === undefined) throw new Error('expected a rejection');
  return outcome;
}

describe('options checked where they are given', () => {
  it.each([
    [{ threads: -3 }, 'options.threads'],
    [{ threads: 1.5 }, 'options.threads'],
    [{ executionProviders: ['bogus'] }, 'options.executionProviders'],
    [{ executionProviders: 'cpu' }, 'options.executionProviders'],
    [{ activation: 'softmx' }, 'options.activation'],
    [{ chunkTokens: 100, chunkStride: 450 }, 'options.chunkStride'],
  ])('CrossEncoder.load(%j) names %s before any file is read', async (options, parameter) => {
    // The folder does not exist: an error naming the option proves nothing was opened first.
    const error = await rejection(CrossEncoder.load(MISSING, options as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).parameter).toBe(parameter);
  });

  it('a per-call activation or stride mistake is refused before scoring', async () => {
    const model = await CrossEncoder.load(modelDir('tiny'));
    try {
      await expect(model.score([['q', 'p']], { activation: 'softmx' as never })).rejects.toThrow(/options\.activation/);
      await expect(model.score([['q', 'p']], { chunkTokens: 10, chunkStride: 11 })).rejects.toThrow(
        /options\.chunkStride/,
      );
    } finally {
      await model.dispose();
    }
  });

  it('a reranker refuses a mistyped load option at construction, fallback or not', () => {
    for (const fallback of ['throw', 'first-stage'] as const) {
      expect(() => new CrossEncoderReranker({ model: MISSING, activation: 'softmx' as never, fallback })).toThrow(
        /activation/,
      );
      expect(() => new CrossEncoderReranker({ model: MISSING, threads: 0, fallback })).toThrow(/options\.threads/);
      expect(() => new CrossEncoderReranker({ model: MISSING, chunkTokens: 100, chunkStride: 450, fallback })).toThrow(
        /chunkStride/,
      );
    }
  });

  it('OnnxEmbeddings refuses maxRetries (it would be ignored) and checks maxConcurrency', () => {
    expect(() => new OnnxEmbeddings({ model: MISSING, maxRetries: 3 } as never)).toThrow(/maxRetries/);
    expect(() => new OnnxEmbeddings({ model: MISSING, maxConcurrency: 0 })).toThrow(/maxConcurrency/);
    expect(() => new OnnxEmbeddings({ model: MISSING, maxConcurrency: 2 })).not.toThrow();
  });
});

describe('a session that will not open is not a corrupt model', () => {
  const ID = 'options/tiny';
  let hub: HubServer;
  let cacheDir: string;
  beforeAll(async () => {
    hub = await startHubServer({ root: { [ID]: modelDir('tiny') } });
    cacheDir = await mkdtemp(join(tmpdir(), 'lce-options-'));
  });
  afterAll(async () => {
    await hub.close();
    await rm(cacheDir, { recursive: true, force: true });
  });
  isolateHubEnv();
  beforeEach(() => hub.reset());

  it('a provider this build cannot start is a SessionOpenError; the cached file is not touched', async () => {
    const warm = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url });
    await warm.dispose();
    hub.reset();
    // CUDA is a provider onnxruntime-node knows, but the CPU build lacks its library.
    const error = await rejection(
      CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url, executionProviders: ['cuda'], worker: false }),
    );
    expect(error).toBeInstanceOf(SessionOpenError);
    expect((error as SessionOpenError).code).toBe('SESSION_OPEN');
    expect(error.message).toMatch(/executionProviders/);
    expect(error.message).not.toMatch(/corrupt|delete it/);
    // No repair: nothing downloaded again (a revision check may be made, a file is not).
    expect(hub.requests.filter((path) => path.includes('/resolve/') && path.endsWith('.onnx'))).toEqual([]);
    const again = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url, localFilesOnly: true });
    await again.dispose();
  });

  it('a file that is not ONNX is still a ModelFormatError naming it', async () => {
    const folder = await copyModel('tiny');
    await writeFile(join(folder, 'onnx', 'model.onnx'), 'not a graph');
    const error = await rejection(CrossEncoder.load(folder, { worker: false }));
    expect((error as ModelFormatError).code).toBe('MODEL_FORMAT');
    expect((error as ModelFormatError).file).toBe(join(folder, 'onnx', 'model.onnx'));
  });
});

describe('fallback and failed loads', () => {
  const docs = [new Document({ pageContent: 'a' }), new Document({ pageContent: 'b' })];

  it('fallback never hides an InvalidArgumentError from the scorer', async () => {
    const scorer: Scorer = {
      score: () => Promise.reject(new InvalidArgumentError('options.batchSize', 'expected a positive integer.')),
      rank: () => Promise.reject(new InvalidArgumentError('options.batchSize', 'expected a positive integer.')),
    };
    const reranker = new CrossEncoderReranker({ model: scorer, fallback: 'first-stage' });
    await expect(reranker.compressDocuments(docs, 'q')).rejects.toThrow(/options\.batchSize/);
  });

  it('a model that failed to load is not loaded again on every call, and its stats show the attempt', async () => {
    const load = vi.spyOn(CrossEncoder, 'load');
    try {
      const stats: { loadMs: number; fallback?: unknown }[] = [];
      const reranker = new CrossEncoderReranker({
        model: MISSING,
        fallback: 'first-stage',
        onStats: (s) => stats.push(s),
      });
      for (let i = 0; i < 5; i++) {
        const result = await reranker.compressDocuments(docs, 'q');
        expect(result.map((d) => d.pageContent)).toEqual(['a', 'b']);
      }
      expect(load).toHaveBeenCalledTimes(1);
      expect(stats).toHaveLength(5);
      expect(stats.every((s) => s.fallback !== undefined)).toBe(true);
      expect(stats[0]?.loadMs).toBeGreaterThan(0);
    } finally {
      load.mockRestore();
    }
  });

  it('a budget step is one batch of windows, not one batch of documents', async () => {
    const sizes: number[] = [];
    const scorer: Scorer = {
      score: async (pairs) => pairs.map(() => 0),
      rank: async (_query, documents) => {
        sizes.push(documents.length);
        return documents.map((_, index): RankResult => ({ index, score: 0 }));
      },
    };
    const many = Array.from({ length: 64 }, (_, i) => new Document({ pageContent: `doc ${i}` }));
    const reranker = new CrossEncoderReranker({ model: scorer, budgetMs: 60_000, maxChunksPerDoc: 4 });
    await reranker.compressDocuments(many, 'q');
    expect(sizes.every((n) => n <= 8)).toBe(true);
  });
});
