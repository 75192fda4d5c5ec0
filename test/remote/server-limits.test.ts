// What the server counts and reports at its edges: a client that leaves mid-upload, records that grow when rendered,
// the model's length in /info, and a drain that ends as soon as the last request does.
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RerankServer, type RerankServerOptions } from '../../src/index.js';
import type { ErrorLogEntry, RequestLogEntry } from '../../src/serve/server.js';
import { FakeScorer } from '../../src/testing/index.js';

const open: RerankServer[] = [];
afterEach(async () => {
  for (const server of open.splice(0)) await server.close();
});

async function start(options: Partial<RerankServerOptions> = {}) {
  const requests: RequestLogEntry[] = [];
  const errors: ErrorLogEntry[] = [];
  const server = await RerankServer.start({
    scorer: new FakeScorer(),
    port: 0,
    onRequest: (entry) => requests.push(entry),
    onError: (entry) => errors.push(entry),
    ...options,
  });
  open.push(server);
  return { server, requests, errors };
}

describe('the rerank server at its edges', () => {
  it('logs a client that hangs up mid-upload as 499, like one that leaves while scoring, not as a fault', async () => {
    const { server, requests, errors } = await start();
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /rerank HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n' +
        '{"query":"q","texts":["a',
    );
    // The server has begun reading the body before the client leaves.
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await vi.waitFor(() => expect(requests).toHaveLength(1));
    expect(requests[0]?.status).toBe(499);
    expect(errors).toEqual([]);
  });

  it('counts records as rendered against the body limit: a small body that renders large is 413', async () => {
    const { server } = await start({ maxBodyBytes: 5000 });
    // Nested records are indented line by line when rendered: each of these is ~1.2 KB of JSON and ~4 KB of text.
    const record = { a: { b: { c: { d: 'x\n'.repeat(400) } } } };
    const body = JSON.stringify({ query: 'q', documents: [record, record] });
    expect(body.length).toBeLessThan(5000);
    const post = (text: string) =>
      fetch(`${server.url}/v2/rerank`, { method: 'POST', body: text, headers: { 'content-type': 'application/json' } });
    const refused = await post(body);
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error_type: 'payload_too_large' });
    // One such record fits, and plain strings count as sent.
    expect((await post(JSON.stringify({ query: 'q', documents: [record] }))).status).toBe(200);
    expect((await post(JSON.stringify({ query: 'q', documents: ['a'.repeat(4900)] }))).status).toBe(200);
  });

  it("reports the model's length as max_input_length, whatever maxPairTokens is", async () => {
    const scorer = Object.assign(new FakeScorer(), { info: { maxLength: 128 } });
    const { server } = await start({ scorer });
    const info = (await (await fetch(`${server.url}/info`)).json()) as Record<string, unknown>;
    expect(info.max_input_length).toBe(128);
    const { server: capped } = await start({ scorer, maxPairTokens: 64 });
    expect(((await (await fetch(`${capped.url}/info`)).json()) as Record<string, unknown>).max_input_length).toBe(128);
    // A scorer that states no length keeps the documented default.
    const { server: plain } = await start();
    expect(((await (await fetch(`${plain.url}/info`)).json()) as Record<string, unknown>).max_input_length).toBe(512);
  });

  it('close() ends as soon as the last request in flight has its answer, well before drainTimeoutMs', async () => {
    let scoring!: () => void;
    const started = new Promise<void>((resolve) => (scoring = resolve));
    const scorer = Object.assign(new FakeScorer(), {
      async score(pairs: readonly unknown[]) {
        scoring();
        await new Promise((resolve) => setTimeout(resolve, 200));
        return pairs.map(() => 0);
      },
    });
    const { server, requests } = await start({ scorer, drainTimeoutMs: 60_000 });
    const answer = fetch(`${server.url}/rerank`, {
      method: 'POST',
      body: '{"query":"q","texts":["a"]}',
      headers: { 'content-type': 'application/json' },
    });
    await started;
    const closed = server.close().then(() => 'closed');
    const late = new Promise((resolve) => setTimeout(() => resolve('late'), 30_000).unref());
    expect((await answer).status).toBe(200);
    expect(await Promise.race([closed, late])).toBe('closed');
    expect(requests.map((entry) => entry.status)).toEqual([200]);
  });
});
