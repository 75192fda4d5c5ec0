import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import type { TextPair } from '../types.js';
import { RemoteScorer } from './remote-scorer.js';

/** A fetch that answers like a TEI server scoring each text by its length, and records what it was sent. */
function teiFetch(delayMs = 0) {
  const bodies: { query: string; texts: string[] }[] = [];
  const headers: Record<string, string>[] = [];
  let inFlight = 0;
  let peak = 0;
  const fetch = (async (_url: string, init: RequestInit) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    const body = JSON.parse(init.body as string) as { query: string; texts: string[] };
    bodies.push(body);
    headers.push(init.headers as Record<string, string>);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    inFlight--;
    // Best first, as TEI answers.
    const results = body.texts
      .map((text, index) => ({ index, score: body.query.length * 1000 + text.length }))
      .sort((a, b) => b.score - a.score);
    return new Response(JSON.stringify(results), { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, bodies, headers, peak: () => peak };
}

describe('RemoteScorer', () => {
  it('splits by query and batch limit, bounds concurrency, and returns scores in input order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'bb', 'ccc'), fc.string({ maxLength: 30 })), { maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        async (pairs, maxBatchSize, concurrency) => {
          const server = teiFetch(1);
          const remote = new RemoteScorer({ url: 'http://x', fetch: server.fetch, maxBatchSize, concurrency });
          const frozen = Object.freeze(pairs.map((p) => Object.freeze([...p]) as unknown as TextPair));
          const scores = await remote.score(frozen);
          expect(scores).toEqual(pairs.map(([q, t]) => q.length * 1000 + t.length));
          for (const body of server.bodies) {
            expect(body.texts.length).toBeLessThanOrEqual(maxBatchSize);
            expect(body.texts.length).toBeGreaterThan(0);
          }
          expect(server.bodies.reduce((n, b) => n + b.texts.length, 0)).toBe(pairs.length);
          expect(server.peak()).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('sends the Cohere shape with the model and a bearer token', async () => {
    let sent: { url: string; body: unknown; headers: Record<string, string> } | undefined;
    const fetch = (async (url: string, init: RequestInit) => {
      sent = { url, body: JSON.parse(init.body as string), headers: init.headers as Record<string, string> };
      return new Response(JSON.stringify({ results: [{ index: 0, relevance_score: 0.5 }] }));
    }) as unknown as typeof globalThis.fetch;
    const remote = new RemoteScorer({ url: 'http://x:1/', protocol: 'cohere', model: 'm', apiKey: 'k', fetch });
    expect(await remote.rank('q', ['d'])).toEqual([{ index: 0, score: 0.5 }]);
    expect(sent?.url).toBe('http://x:1/v2/rerank');
    expect(sent?.body).toEqual({ model: 'm', query: 'q', documents: ['d'], top_n: 1, return_documents: false });
    expect(sent?.headers.authorization).toBe('Bearer k');
  });

  it("sends an instruction only when one is set: the scorer's own, or the call's in its place", async () => {
    const bodies: Record<string, unknown>[] = [];
    const fetch = (async (_url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string) as Record<string, unknown>;
      bodies.push(body);
      return new Response(JSON.stringify((body['texts'] as string[]).map((_, index) => ({ index, score: 0 }))));
    }) as unknown as typeof globalThis.fetch;
    await new RemoteScorer({ url: 'http://x', fetch }).score([['q', 'd']]);
    expect(bodies[0]).not.toHaveProperty('instruction');
    const remote = new RemoteScorer({ url: 'http://x', fetch, instruction: 'judge' });
    const options = { instruction: 'other' };
    await remote.score([['q', 'd']]);
    await remote.rank('q', ['d', 'e'], options);
    expect(bodies.slice(1).map((b) => b['instruction'])).toEqual(['judge', 'other']);
    expect(options).toEqual({ instruction: 'other' });
    expect(() => new RemoteScorer({ url: 'http://x', instruction: 3 as never })).toThrow(/instruction.*string/);
    await expect(remote.score([['q', 'd']], { instruction: null as never })).rejects.toThrow(
      /options\.instruction.*string/,
    );
  });

  it('calls fetch without itself as the receiver, as Cloudflare Workers require', async () => {
    const server = teiFetch();
    // Workers' fetch throws "Illegal invocation" when called as a method of anything but the global object.
    const strictFetch = function (this: unknown, url: string, init: RequestInit) {
      if (this !== undefined && this !== globalThis) throw new TypeError('Illegal invocation');
      return server.fetch(url, init);
    } as unknown as typeof globalThis.fetch;
    const remote = new RemoteScorer({ url: 'http://x', fetch: strictFetch });
    expect(await remote.score([['a', 'bb']])).toEqual([1002]);
  });

  it('needs no request for nothing, and checks its input before sending', async () => {
    const server = teiFetch();
    const remote = new RemoteScorer({ url: 'http://x', fetch: server.fetch });
    expect(await remote.score([])).toEqual([]);
    expect(await remote.rank('q', [])).toEqual([]);
    await expect(remote.score([['q', 3 as unknown as string]])).rejects.toThrow(InvalidArgumentError);
    await expect(remote.rank(' ', ['d'])).rejects.toThrow(InvalidArgumentError);
    expect(server.bodies).toHaveLength(0);
  });

  it.each([
    [{ url: 'reranker:8080' }, 'url'],
    [{ url: 'http://x', protocol: 'grpc' }, 'protocol'],
    [{ url: 'http://x', path: 'rerank' }, 'path'],
    [{ url: 'http://x', maxBatchSize: 0 }, 'maxBatchSize'],
    [{ url: 'http://x', concurrency: 1.5 }, 'concurrency'],
    [{ url: 'http://x', maxRetries: -1 }, 'maxRetries'],
    [{ url: 'http://x', timeoutMs: 0 }, 'timeoutMs'],
  ])('refuses %o naming %s', (options, parameter) => {
    expect(() => new RemoteScorer(options as never)).toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', parameter }),
    );
  });
});
