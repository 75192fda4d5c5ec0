// The server under overload and mistakes, over real sockets on 127.0.0.1: timed-out and abandoned requests stop
// their engine work, the queue is bounded with or without merging, connections are capped, close() keeps its
// deadline whatever clients do, a failure fails only the request that caused it, and nothing leaks paths or text.
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CrossEncoder,
  InferenceError,
  NonFiniteScoreError,
  RemoteScorer,
  RerankServer,
  type RerankServerOptions,
  type Scorer,
  type TextPair,
} from '../../src/index.js';
import { modelDir } from '../helpers/models.js';

const SECRET = 'confidential passage about patient 4711';

/** A scorer whose calls wait until released, recording what each was given. */
function heldScorer() {
  const calls: { pairs: readonly TextPair[]; signal: AbortSignal | undefined; release(): void }[] = [];
  const scorer: Scorer = {
    score(pairs, options) {
      return new Promise((resolve, reject) => {
        const signal = options?.signal;
        signal?.addEventListener('abort', () => reject(signal.reason));
        calls.push({ pairs, signal, release: () => resolve(pairs.map(() => 0.5)) });
      });
    },
    async rank() {
      return [];
    },
  };
  return { scorer, calls };
}

const servers: RerankServer[] = [];
async function serve(options: RerankServerOptions): Promise<RerankServer> {
  const server = await RerankServer.start({ port: 0, drainTimeoutMs: 500, ...options });
  servers.push(server);
  return server;
}
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const post = (url: string, body: unknown, init: RequestInit = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...init,
  });

/** Opens a raw connection; resolves once connected. */
function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with what the server wrote before it closed the socket. */
function untilClosed(socket: Socket): Promise<string> {
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(text)));
}

describe('cancellation reaches the engine', () => {
  let model: CrossEncoder;
  beforeAll(async () => {
    model = await CrossEncoder.load(modelDir('tiny'), { batchSize: 2 });
  }, 60_000);
  afterAll(async () => model?.dispose());

  // A real model behind a recorder: whether the engine call it got was aborted, and how it ended.
  function recorded() {
    const ends: { aborted: boolean; outcome: string }[] = [];
    const scorer: Scorer = {
      async score(pairs, options) {
        const end = { aborted: false, outcome: 'running' };
        ends.push(end);
        options?.signal?.addEventListener('abort', () => (end.aborted = true));
        try {
          const scores = await model.score(pairs, options);
          end.outcome = 'scored';
          return scores;
        } catch (error) {
          end.outcome = (error as { code?: string }).code ?? 'error';
          throw error;
        }
      },
      rank: () => Promise.resolve([]),
    };
    return { scorer, ends };
  }
  const texts = Array.from({ length: 1000 }, (_, i) => `passage ${i} ${'about paris and the seine '.repeat(12)}`);

  it('a request past its time limit gets 503 and its engine call is aborted', async () => {
    const { scorer, ends } = recorded();
    const server = await serve({ scorer, requestTimeoutMs: 200 });
    const response = await post(`${server.url}/rerank`, { query: 'paris', texts });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error_type: string }).error_type).toBe('timeout');
    await expect.poll(() => ends[0]?.outcome).toBe('ABORTED');
    expect(ends[0]?.aborted).toBe(true);
  });

  it('a client that disconnects mid-request has its engine call aborted', async () => {
    const { scorer, ends } = recorded();
    const server = await serve({ scorer });
    const controller = new AbortController();
    const request = post(`${server.url}/rerank`, { query: 'paris', texts }, { signal: controller.signal });
    await expect.poll(() => ends.length).toBe(1);
    controller.abort();
    await expect(request).rejects.toThrow();
    await expect.poll(() => ends[0]?.outcome).toBe('ABORTED');
  });
});

describe('bounded queue, connections and drain', () => {
  it('answers 429 past maxQueuedRequests without micro-batching too', async () => {
    const { scorer, calls } = heldScorer();
    const server = await serve({ scorer, microBatch: false, maxQueuedRequests: 2 });
    const requests = Array.from({ length: 10 }, () => post(`${server.url}/rerank`, { query: 'q', texts: ['a'] }));
    // One runs, two wait: the other seven are refused while the engine is still held.
    await expect.poll(() => calls.length).toBe(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/lce_queue_depth 2/);
    const release = setInterval(() => calls.forEach((call) => call.release()), 5);
    const statuses = (await Promise.all(requests)).map((r) => r.status).sort();
    clearInterval(release);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
  });

  it('caps open connections: of 1,000, the ones past the cap are closed and the server keeps answering', async () => {
    const { scorer } = heldScorer();
    const server = await serve({ scorer, maxConnections: 50 });
    let closed = 0;
    const sockets = Array.from({ length: 1000 }, () => {
      const socket = connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => closed++);
      return socket;
    });
    // The server drops what passes the cap as soon as it accepts it; the 50 it kept stay open.
    await expect.poll(() => closed, { timeout: 20_000 }).toBeGreaterThanOrEqual(950);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(closed).toBe(950);
    for (const socket of sockets) socket.destroy();
    await expect.poll(() => closed).toBe(1000);
    await expect.poll(async () => (await fetch(`${server.url}/health`).catch(() => undefined))?.status).toBe(200);
  }, 30_000);

  it('close() ends within its drain deadline under a stalled upload and a stalled engine call', async () => {
    const { scorer, calls } = heldScorer();
    const server = await RerankServer.start({ scorer, port: 0, drainTimeoutMs: 300 });
    // An upload that sends its headers and half its body, then stalls.
    const stalled = await rawSocket(server.port);
    const stalledAnswer = untilClosed(stalled);
    stalled.write(
      'POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query"',
    );
    // A request whose engine call never ends by itself.
    const scoring = post(`${server.url}/rerank`, { query: 'q', texts: ['a'] });
    await expect.poll(() => calls.length).toBe(1);
    const started = performance.now();
    await server.close();
    const tookMs = performance.now() - started;
    expect(tookMs).toBeLessThan(5_000); // the deadline is 300 ms; Node's own limit on uploads would be 300 s
    expect((await scoring).status).toBe(503);
    expect(calls[0]?.signal?.aborted).toBe(true);
    // The stalled client is told the server is going away: a closed socket with no answer is not a pass.
    expect(await stalledAnswer).toMatch(/^HTTP\/1\.1 503 /);
  });

  it('ends a stalled upload at the request time limit, not Node’s 300 s', async () => {
    const { scorer } = heldScorer();
    const server = await serve({ scorer, requestTimeoutMs: 500 });
    const stalled = await rawSocket(server.port);
    const answer = untilClosed(stalled);
    stalled.write('POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    const text = await Promise.race([answer, new Promise<string>((r) => setTimeout(() => r('still open'), 10_000))]);
    expect(text).not.toBe('still open');
    // Answered, not just cut off: the client learns it ran out of time.
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    stalled.destroy();
  }, 20_000);
});

describe('per-request failure isolation and error bodies', () => {
  it('a non-finite score fails only the request that produced it, with no path or text in any body', async () => {
    const gate = heldScorer();
    let first = true;
    const scorer: Scorer = {
      async score(pairs, options) {
        if (first) {
          first = false;
          return gate.scorer.score(pairs, options);
        }
        if (pairs.some(([, text]) => text === SECRET)) {
          throw new NonFiniteScoreError(`/srv/models/x/onnx/model.onnx produced NaN for "${SECRET}"`);
        }
        return pairs.map(() => 0.25);
      },
      rank: () => Promise.resolve([]),
    };
    const server = await serve({ scorer });
    const warm = post(`${server.url}/rerank`, { query: 'q', texts: ['a'] });
    await expect.poll(() => gate.calls.length).toBe(1);
    // These three wait behind the first and are merged into one engine call.
    const merged = [['b'], [SECRET], ['c']].map((texts) => post(`${server.url}/rerank`, { query: 'q', texts }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    gate.calls[0]?.release();
    expect((await warm).status).toBe(200);
    const answers = await Promise.all(merged);
    expect(answers.map((r) => r.status)).toEqual([200, 500, 200]);
    const body = await answers[1]?.text();
    expect(body).not.toContain('/srv/');
    expect(body).not.toContain('patient');
    expect(body).toContain('NON_FINITE_SCORE');
  });

  it('a 500 from the engine names the error code, not the server’s files, and is logged in full', async () => {
    const logged: unknown[] = [];
    const scorer: Scorer = {
      score: () => Promise.reject(new InferenceError('/home/ops/models/m/onnx/model.onnx failed: shape [1, 600]')),
      rank: () => Promise.resolve([]),
    };
    const server = await serve({ scorer, onError: (entry) => logged.push(entry) });
    const response = await post(`${server.url}/v2/rerank`, { query: 'q', documents: [SECRET] });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toContain('/home/ops');
    expect(body).toContain('INFERENCE_FAILED');
    expect(logged).toEqual([expect.objectContaining({ status: 500, code: 'INFERENCE_FAILED' })]);
    expect(JSON.stringify(logged)).not.toContain('patient');
  });

  it('a throwing onRequest hook costs a log line, not the process', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const scorer: Scorer = { score: async (pairs) => pairs.map(() => 1), rank: () => Promise.resolve([]) };
      const server = await serve({
        scorer,
        onRequest: () => {
          throw new Error('log sink down');
        },
      });
      for (let i = 0; i < 3; i++) {
        expect((await post(`${server.url}/rerank`, { query: 'q', texts: ['a'] })).status).toBe(200);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('probes, gauges and the key', () => {
  it('/health is 503 while the model is unusable; /ready also while the queue is full', async () => {
    const { scorer, calls } = heldScorer();
    const stateful = Object.assign(scorer, { state: 'ready' as string });
    const server = await serve({ scorer: stateful, maxQueuedRequests: 1 });
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const running = post(`${server.url}/rerank`, { query: 'q', texts: ['a'] });
    await expect.poll(() => calls.length).toBe(1);
    const waiting = post(`${server.url}/rerank`, { query: 'q', texts: ['b'] });
    await expect.poll(async () => (await fetch(`${server.url}/ready`)).status).toBe(503);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    stateful.state = 'restarting';
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    stateful.state = 'failed';
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable' });
    stateful.state = 'ready';
    const release = setInterval(() => calls.forEach((call) => call.release()), 5);
    await Promise.all([running, waiting]);
    clearInterval(release);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
  });

  it('lce_requests_in_flight reads 0 on an idle server', async () => {
    const scorer: Scorer = { score: async (pairs) => pairs.map(() => 1), rank: () => Promise.resolve([]) };
    const server = await serve({ scorer });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^lce_requests_in_flight 0$/m);
  });

  it('takes the Bearer scheme in any case, refuses a wrong key, and refuses an empty key at start', async () => {
    const scorer: Scorer = { score: async (pairs) => pairs.map(() => 1), rank: () => Promise.resolve([]) };
    const server = await serve({ scorer, apiKey: 's3cret' });
    const call = (authorization: string) =>
      post(`${server.url}/rerank`, { query: 'q', texts: ['a'] }, { headers: { authorization } });
    expect((await call('Bearer s3cret')).status).toBe(200);
    expect((await call('bearer s3cret')).status).toBe(200);
    expect((await call('BEARER s3cret')).status).toBe(200);
    expect((await call('Bearer s3cre')).status).toBe(401);
    expect((await call('Bearer s3cret0')).status).toBe(401);
    expect((await call('Basic s3cret')).status).toBe(401);
    await expect(RerankServer.start({ scorer, port: 0, apiKey: '' })).rejects.toThrow(/options\.apiKey/);
    await expect(RerankServer.start({ scorer, port: 0, apiKey: '  ' })).rejects.toThrow(/options\.apiKey/);
  });
});

describe('RemoteScorer when one chunk fails', () => {
  it('stops every lane: no request or retry after the call has rejected', async () => {
    let hits = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hits++;
        const refused = body.includes('refused');
        res.writeHead(refused ? 400 : 503, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: refused ? 'bad input' : 'busy', error_type: 'x' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const remote = new RemoteScorer({ url, maxBatchSize: 1, concurrency: 4, maxRetries: 50, retryBaseMs: 20 });
      const pairs: TextPair[] = [
        ['q', 'busy 1'],
        ['q', 'busy 2'],
        ['q', 'busy 3'],
        ['q', 'refused'],
      ];
      await expect(remote.score(pairs)).rejects.toMatchObject({ status: 400 });
      // Requests already on the wire when the call rejected may still land; nothing is sent after them.
      await new Promise((resolve) => setTimeout(resolve, 150));
      const landed = hits;
      await new Promise((resolve) => setTimeout(resolve, 600));
      expect(hits).toBe(landed);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
