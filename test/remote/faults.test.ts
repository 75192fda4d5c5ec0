// What goes wrong between a client and a rerank server: the client gets a typed error that names the status and
// the server's message (never a document), the server answers bad requests with a clear 4xx and stays up.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, RemoteScorer, RemoteScorerError, RerankServer, type TextPair } from '../../src/index.js';
import { runServe } from '../../src/serve/cli.js';
import { FakeScorer } from '../../src/testing/index.js';
import { modelDir, REPO_ROOT } from '../helpers/models.js';

const SECRET = 'confidential passage about patient 4711';
const PAIRS: TextPair[] = [
  ['q', SECRET],
  ['q', 'another passage'],
];

/** A scripted HTTP server on 127.0.0.1 and a free port, counting the requests it gets. */
async function scripted(handler: (req: IncomingMessage, res: ServerResponse, hit: number) => void) {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res, ++hits));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

async function failure(promise: Promise<unknown>): Promise<RemoteScorerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(RemoteScorerError.isInstance(error)).toBe(true);
  expect((error as Error).message).not.toContain('patient');
  expect(JSON.stringify(error)).not.toContain('patient');
  return error as RemoteScorerError;
}

describe('RemoteScorer facing a faulty server', () => {
  it('a server that drops every connection is a typed error after every retry', async () => {
    const server = await scripted((req) => req.socket.destroy());
    open.push(server);
    const remote = new RemoteScorer({ url: server.url, maxRetries: 2, retryBaseMs: 1 });
    const error = await failure(remote.score(PAIRS));
    expect(error.status).toBeUndefined();
    expect(error.attempts).toBe(3);
    expect(server.hits()).toBe(3);
    expect(error.message).toMatch(/Could not reach the rerank server/);
  });

  it('a dropped connection, then a 503 with Retry-After, then an answer: the call succeeds', async () => {
    const server = await scripted((req, res, hit) => {
      if (hit === 1) return req.socket.destroy();
      if (hit === 2) {
        res.writeHead(503, { 'retry-after': '0', 'content-type': 'application/json' });
        return res.end('{"error":"model loading"}');
      }
      // Answered out of order: the scores must still come back in input order.
      res.end(
        JSON.stringify([
          { index: 1, score: 0.25 },
          { index: 0, score: 0.75 },
        ]),
      );
    });
    open.push(server);
    const remote = new RemoteScorer({ url: server.url, retryBaseMs: 1 });
    expect(await remote.score(PAIRS)).toEqual([0.75, 0.25]);
    expect(server.hits()).toBe(3);
  });

  it('a 429 that persists reports the status, the server message and the attempts', async () => {
    const server = await scripted((_, res) => {
      res.writeHead(429, { 'retry-after': '0' });
      res.end('{"error":"queue full","error_type":"overloaded"}');
    });
    open.push(server);
    const error = await failure(new RemoteScorer({ url: server.url, maxRetries: 3, retryBaseMs: 1 }).score(PAIRS));
    expect(error).toMatchObject({ status: 429, serverMessage: 'queue full', attempts: 4 });
  });

  it('a 500 or a 4xx is not retried', async () => {
    const server = await scripted((_, res) => {
      res.writeHead(500);
      res.end('internal failure');
    });
    open.push(server);
    const error = await failure(new RemoteScorer({ url: server.url }).score(PAIRS));
    expect(error).toMatchObject({ status: 500, serverMessage: 'internal failure', attempts: 1 });
    expect(server.hits()).toBe(1);
  });

  it.each([
    ['not JSON', '<html>oops</html>', /not JSON/],
    ['the wrong shape', '{"results":[]}', /not a TEI rerank answer/],
    ['a string score', `[{"index":0,"score":"${SECRET}"},{"index":1,"score":1}]`, /finite number/],
    ['a missing index', '[{"index":0,"score":1},{"index":5,"score":1}]', /index 5/],
  ])('an answer that is %s is a typed error, not retried', async (_, body, message) => {
    const server = await scripted((__, res) => res.end(body));
    open.push(server);
    const error = await failure(new RemoteScorer({ url: server.url }).score(PAIRS));
    expect(error.message).toMatch(message);
    expect(error.status).toBe(200);
    expect(server.hits()).toBe(1);
  });

  it('a server that never answers: timeoutMs and AbortSignal end the call with an AbortError', async () => {
    const server = await scripted(() => {});
    open.push(server);
    const remote = new RemoteScorer({ url: server.url, timeoutMs: 200 });
    const timedOut = await remote.score(PAIRS).catch((e: unknown) => e);
    expect(AbortError.isInstance(timedOut)).toBe(true);
    expect((timedOut as Error).message).toMatch(/timed out after 200 ms/);
    const controller = new AbortController();
    const pending = remote.score(PAIRS, { signal: controller.signal, timeoutMs: 60_000 });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toSatisfy((e) => AbortError.isInstance(e) && /aborted/.test((e as Error).message));
  });

  it('a server process killed mid-request is a typed error, and nothing hangs', { timeout: 120_000 }, async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src', 'bin.ts'), 'serve', '--model', modelDir('tiny'), '--port', '0'],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const found = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (found) resolve(found[1] as string);
        });
        child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening: ${out}`)));
      });
      const remote = new RemoteScorer({ url, maxBatchSize: 1000, maxRetries: 2, retryBaseMs: 1, timeoutMs: 100_000 });
      const many = Array.from({ length: 20_000 }, (_, i): TextPair => ['q', `passage ${i} ${SECRET}`]);
      const call = failure(remote.score(many));
      // Kill the process once its server holds the request.
      for (;;) {
        const metrics = await (await fetch(`${url}/metrics`)).text();
        if (/lce_pairs_total [1-9]/.test(metrics)) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGKILL');
      const error = await call;
      expect(error.message).toMatch(/Could not reach the rerank server/);
      expect(error.attempts).toBe(3);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('our server facing bad requests', () => {
  let server: RerankServer;
  beforeAll(async () => {
    server = await RerankServer.start({
      scorer: new FakeScorer(),
      port: 0,
      maxBodyBytes: 10_000,
      maxTexts: 5,
      maxTextChars: 1000,
    });
  });
  afterAll(() => server.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });

  it.each([
    ['malformed JSON', '/rerank', '{"query": "q", "texts": [', 400, 'bad_json'],
    ['a JSON array', '/rerank', '[1, 2]', 422, 'validation'],
    ['a numeric text', '/rerank', '{"query":"q","texts":["a", 3]}', 422, 'validation'],
    ['a null query', '/v2/rerank', '{"query":null,"documents":["a"]}', 422, 'validation'],
    ['documents under the TEI name', '/v1/rerank', '{"query":"q","texts":["a"]}', 422, 'validation'],
    ['too many texts', '/rerank', JSON.stringify({ query: 'q', texts: Array(6).fill('a') }), 422, 'validation'],
    ['a text too long', '/rerank', JSON.stringify({ query: 'q', texts: ['a'.repeat(1001)] }), 422, 'validation'],
    ['a huge body', '/rerank', JSON.stringify({ query: 'q', texts: ['a'.repeat(20_000)] }), 413, 'payload_too_large'],
    ['an unknown route', '/v3/rerank', '{}', 404, 'not_found'],
  ])('answers %s with a clear JSON error, and keeps serving', async (_, path, body, status, type) => {
    const response = await post(path, body);
    expect(response.status).toBe(status);
    const answer = (await response.json()) as { error: string; error_type: string };
    expect(answer.error_type).toBe(type);
    expect(answer.error.length).toBeGreaterThan(10);
    const ok = await post('/rerank', '{"query":"a b","texts":["a","b c"]}');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual([
      { index: 0, score: 0.5 },
      { index: 1, score: 0.5 },
    ]);
  });

  it('/info states the limits and /metrics counts requests, batches and the queue', async () => {
    const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ max_client_batch_size: 5, micro_batching: true });
    await post('/v2/rerank', '{"query":"q","documents":["a"]}');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/lce_requests_total\{route="\/v2\/rerank",status="200"\} [1-9]/);
    expect(metrics).toMatch(/lce_request_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/lce_batch_requests_bucket\{le="1"\} [1-9]/);
    expect(metrics).toMatch(/lce_queue_depth 0/);
  });

  it('refuses options it cannot use, naming them', async () => {
    await expect(RerankServer.start({ scorer: {} as never })).rejects.toThrow(/options.scorer/);
    await expect(RerankServer.start({ scorer: new FakeScorer(), port: 70_000 })).rejects.toThrow(/options.port/);
    await expect(RerankServer.start({ scorer: new FakeScorer(), maxTexts: 0 })).rejects.toThrow(/options.maxTexts/);
  });

  it('refuses GET on a rerank route with 405 and says so', async () => {
    const response = await fetch(`${server.url}/rerank`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it('a huge body announced in content-length is refused before it is read', async () => {
    const response = await post('/rerank', 'x'.repeat(50_000));
    expect(response.status).toBe(413);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('RemoteScorer turns our 4xx into a typed error with our message', async () => {
    const remote = new RemoteScorer({ url: server.url });
    const error = await failure(remote.score(Array.from({ length: 6 }, (): TextPair => ['q', SECRET])));
    // maxBatchSize (32) is above this server's maxTexts (5): the error says what to lower.
    expect(error.status).toBe(422);
    expect(error.serverMessage).toMatch(/limit of 5/);
    expect(error.message).toMatch(/maxBatchSize/);
  });
});

describe('limits in time', () => {
  it('a request past requestTimeoutMs gets 503 with Retry-After; the server keeps serving', async () => {
    const server = await RerankServer.start({
      scorer: new FakeScorer({ delayMs: 300 }),
      port: 0,
      requestTimeoutMs: 50,
    });
    open.push(server);
    const response = await fetch(`${server.url}/rerank`, { method: 'POST', body: '{"query":"q","texts":["a"]}' });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(((await response.json()) as { error_type: string }).error_type).toBe('timeout');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('SIGTERM drains the request in flight, then the command exits 0 and the port closes', async () => {
    const signals = new EventEmitter();
    let server: RerankServer | undefined;
    let disposed = false;
    const output: string[] = [];
    const exit = runServe(['--model', 'fake', '--port', '0'], {
      loadScorer: async () =>
        Object.assign(new FakeScorer({ delayMs: 200 }), { dispose: async () => void (disposed = true) }),
      stdout: { write: (text: string) => output.push(text) },
      stderr: { write: (text: string) => output.push(text) },
      signals,
      onListening: (s) => (server = s),
    });
    while (server === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const url = server.url;
    const inFlight = fetch(`${url}/rerank`, { method: 'POST', body: '{"query":"q","texts":["q a"]}' });
    while (!/lce_requests_in_flight 1/.test(await (await fetch(`${url}/metrics`)).text())) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    signals.emit('SIGTERM');
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual([{ index: 0, score: 1 }]);
    expect(await exit).toBe(0);
    expect(disposed).toBe(true);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
    expect(output.join('')).toMatch(/SIGTERM, finishing requests in flight[\s\S]*stopped/);
  });

  it('bad command lines exit 2 with the usage', async () => {
    const output: string[] = [];
    const io = {
      loadScorer: async () => new FakeScorer(),
      stdout: { write: (t: string) => output.push(t) },
      stderr: { write: (t: string) => output.push(t) },
    };
    expect(await runServe([], io)).toBe(2);
    expect(await runServe(['--model', 'm', '--port', 'abc'], io)).toBe(2);
    expect(await runServe(['--model', 'm', '--bogus'], io)).toBe(2);
    expect(output.join('')).toMatch(/--model is required[\s\S]*--port must be an integer[\s\S]*Usage:/);
  });
});
