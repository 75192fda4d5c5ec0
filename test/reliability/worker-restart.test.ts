// A scoring worker that dies (killed here the way an out-of-memory crash ends it) is replaced: the call it held
// fails with a WorkerExitError, calls made meanwhile wait for the new worker, the server answers 503 (retry) and
// reports not-ready until the replacement is up, and a model that keeps dying is failed for good, not restarted in
// a loop.
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CrossEncoder, RerankServer, WorkerExitError } from '../../src/index.js';
import { modelDir } from '../helpers/models.js';

// Every worker the engine starts, so a test can kill the one in use. The engine's code is unchanged.
const started = vi.hoisted(() => [] as Worker[]);
vi.mock('node:worker_threads', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:worker_threads')>();
  class TrackedWorker extends actual.Worker {
    constructor(...args: ConstructorParameters<typeof actual.Worker>) {
      super(...args);
      started.push(this);
    }
  }
  return { ...actual, Worker: TrackedWorker };
});

const WORDS = 'paris capital france river seine city museum bread cheese wine tower history'.split(' ');
const text = (i: number, words: number) =>
  Array.from({ length: words }, (_, w) => WORDS[(i * 7 + w) % WORDS.length]).join(' ');
const pairs = Array.from({ length: 20 }, (_, i): [string, string] => ['what is the capital of france', text(i, 60)]);
// Long ASCII passages: the worker spends its first few hundred milliseconds tokenizing them in JavaScript. The kill
// lands there: terminating a thread while ONNX Runtime computes aborts the whole process (a native callback into a
// torn-down thread), which no restart can help.
const heavy = Array.from({ length: 1000 }, (_, i): [string, string] => [
  'what is the capital of france',
  text(i, 3000),
]);
const KILL_AFTER_MS = 40;

const models: CrossEncoder[] = [];
afterEach(async () => {
  for (const model of models.splice(0)) await model.dispose();
});

async function load(): Promise<CrossEncoder> {
  const model = await CrossEncoder.load(modelDir('tiny'), { batchSize: 2 });
  models.push(model);
  return model;
}

const current = () => started[started.length - 1] as Worker;

describe('a worker killed mid-call', () => {
  it('fails the call it held, is replaced, and later calls score as before', { timeout: 60_000 }, async () => {
    const model = await load();
    const expected = await model.score(pairs);
    const before = started.length;
    const running = model.score(heavy);
    await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
    void current().terminate();
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(WorkerExitError.isInstance(error)).toBe(true);
    // A call made while the replacement starts waits for it.
    expect(model.state).toBe('restarting');
    const after = await model.score(pairs);
    expect(started.length).toBe(before + 1);
    expect(model.state).toBe('ready');
    after.forEach((score, i) => expect(score).toBeCloseTo(expected[i] as number, 6));
  });

  it(
    'gives up after repeated deaths within a minute: the model is failed, not restarted forever',
    { timeout: 90_000 },
    async () => {
      const model = await load();
      const before = started.length;
      for (let death = 0; death < 4; death++) {
        await model.score(pairs.slice(0, 2));
        void current().terminate();
        await expect.poll(() => model.state, { timeout: 20_000 }).not.toBe('ready');
        if (death < 3) await expect.poll(() => model.state, { timeout: 20_000 }).toBe('ready');
      }
      expect(model.state).toBe('failed');
      expect(started.length).toBe(before + 3);
      await expect(model.score(pairs.slice(0, 2))).rejects.toThrow(/not restarted again/);
    },
  );

  it(
    'behind the server: 503 with Retry-After, /health stays up, /ready and answers return once replaced',
    { timeout: 60_000 },
    async () => {
      const model = await load();
      let entered = 0;
      const scorer = {
        score: (...args: Parameters<CrossEncoder['score']>) => (entered++, model.score(...args)),
        rank: model.rank.bind(model),
        get state() {
          return model.state;
        },
      };
      const server = await RerankServer.start({ scorer, port: 0, maxBodyBytes: 64 << 20 });
      try {
        const texts = heavy.map(([, passage]) => passage);
        const request = fetch(`${server.url}/rerank`, {
          method: 'POST',
          body: JSON.stringify({ query: 'what is the capital of france', texts }),
        });
        await expect.poll(() => entered, { interval: 2 }).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, KILL_AFTER_MS));
        void current().terminate();
        const answer = await request;
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toBe('1');
        expect(((await answer.json()) as { error_type: string }).error_type).toBe('backend_restarting');
        expect((await fetch(`${server.url}/health`)).status).toBe(200);
        await expect.poll(async () => (await fetch(`${server.url}/ready`)).status, { timeout: 20_000 }).toBe(200);
        const again = await fetch(`${server.url}/rerank`, {
          method: 'POST',
          body: JSON.stringify({ query: 'what is the capital of france', texts: texts.slice(0, 2) }),
        });
        expect(again.status).toBe(200);
      } finally {
        await server.close();
      }
    },
  );
});
