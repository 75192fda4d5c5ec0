// 200 clients, each sending 10 requests of 50 documents at once, through RemoteScorer to our server with a small
// queue: every request is answered (429s retried), and every request gets exactly its own documents' scores.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CrossEncoder, RemoteScorer, RerankServer } from '../../src/index.js';
import { modelDir } from '../helpers/models.js';

const CLIENTS = 200;
const REQUESTS = 10;
const DOCS = 50;
const QUERIES = Array.from({ length: 20 }, (_, q) => `query number ${q} about topic ${q * 7}`);
const POOL = Array.from({ length: 300 }, (_, d) => `passage ${d}: ${'word '.repeat(d % 40)}end of passage ${d}`);

let model: CrossEncoder;
let server: RerankServer;
let reference: Map<string, number>;

beforeAll(async () => {
  model = await CrossEncoder.load(modelDir('tiny'));
  // Every (query, passage) pair the clients can send, scored once in-process.
  const pairs = QUERIES.flatMap((q) => POOL.map((p) => [q, p] as const));
  const scores = await model.score(pairs);
  reference = new Map(pairs.map(([q, p], i) => [`${q}\u0000${p}`, scores[i] as number]));
  // A queue far smaller than the clients, so some requests are refused with 429 and retried.
  server = await RerankServer.start({ scorer: model, port: 0, maxQueuedRequests: 32 });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await model?.dispose();
});

it('answers 2,000 concurrent requests of 50 documents, none lost, none mixed', { timeout: 600_000 }, async () => {
  const remote = new RemoteScorer({
    url: server.url,
    maxBatchSize: DOCS,
    maxRetries: 1000,
    retryBaseMs: 20,
    retryMaxMs: 1000,
    timeoutMs: 590_000,
  });
  let answered = 0;
  let mismatched = 0;
  const client = async (c: number) => {
    for (let r = 0; r < REQUESTS; r++) {
      const query = QUERIES[(c + r) % QUERIES.length] as string;
      // A different rotation of the pool per request, so neighbours in a merged batch never share a document list.
      const docs = Array.from({ length: DOCS }, (_, d) => POOL[(c * 13 + r * 7 + d * 3) % POOL.length] as string);
      const scores = await remote.score(docs.map((doc) => [query, doc] as const));
      answered++;
      scores.forEach((score, d) => {
        if (Math.abs(score - (reference.get(`${query}\u0000${docs[d]}`) as number)) > 1e-5) mismatched++;
      });
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  expect(answered).toBe(CLIENTS * REQUESTS);
  expect(mismatched).toBe(0);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const count = (status: number) =>
    Number(new RegExp(`lce_requests_total\\{route="/rerank",status="${status}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  console.log(`load: ${count(200)} answered 200, ${count(429)} refused with 429 and retried`);
  expect(count(200)).toBe(CLIENTS * REQUESTS);
  // The small queue must really have pushed back, or this test would not exercise the retry path.
  expect(count(429)).toBeGreaterThan(0);
  expect(metrics).toMatch(/lce_pairs_total 100000\n/);
});
