// Record documents on the Cohere routes are rendered to text on the server: a small body must not render to a huge
// text, nor nest deep enough to overflow the stack. Both are the client's fault and answered 422, never a 500.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RerankServer } from '../../src/index.js';
import type { ErrorLogEntry } from '../../src/serve/server.js';
import { FakeScorer } from '../../src/testing/index.js';

describe('record documents past the rendering bounds', () => {
  let server: RerankServer;
  const faults: ErrorLogEntry[] = [];
  beforeAll(async () => {
    server = await RerankServer.start({ scorer: new FakeScorer(), port: 0, onError: (entry) => faults.push(entry) });
  });
  afterAll(() => server.close());

  const post = (body: string) =>
    fetch(`${server.url}/v2/rerank`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('answers 422 to a record nested 20,000 levels deep, and reports no server fault', async () => {
    const body = `{"query":"q","documents":[{"a":${'['.repeat(20_000)}1${']'.repeat(20_000)}}]}`;
    expect(body.length).toBeLessThan(50_000);
    const response = await post(body);
    expect(response.status).toBe(422);
    const answer = (await response.json()) as { error: string; error_type: string };
    expect(answer.error_type).toBe('validation');
    expect(answer.error).toMatch(/"documents\[0\]": the record nests deeper than 64 levels/);
    expect(faults).toEqual([]);
  });

  it('answers 422 to a small record whose indented text would pass the text limit, naming only the limit', async () => {
    // 60 levels deep, then many short items: each costs 4 body bytes and renders to a line of over 120 characters.
    let value = JSON.stringify(Array.from({ length: 5000 }, () => 1));
    for (let i = 0; i < 60; i++) value = `{"secret_key":${value}}`;
    const body = `{"query":"q","documents":[${value}]}`;
    expect(body.length).toBeLessThan(20_000);
    const response = await post(body);
    expect(response.status).toBe(422);
    const { error } = (await response.json()) as { error: string };
    expect(error).toMatch(/"documents\[0\]": the record's text would be longer than 100000 characters.*rank_fields/);
    expect(error).not.toContain('secret_key');
    expect(faults).toEqual([]);
    const ok = await post('{"query":"q","documents":[{"title":"a","tags":["b"]}]}');
    expect(ok.status).toBe(200);
  });
});
