// Our server driven by clients we did not write (the Cohere JS SDK, LangChain's CohereRerank) and by RemoteScorer:
// every route answers with the scores the same model gives in-process.
import { CohereRerank } from '@langchain/cohere';
import { Document } from '@langchain/core/documents';
import { CohereClient, CohereClientV2 } from 'cohere-ai';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CrossEncoder,
  CrossEncoderReranker,
  RemoteScorer,
  RemoteScorerError,
  RerankServer,
  type TextPair,
} from '../../src/index.js';
import { modelDir, REPO_ROOT } from '../helpers/models.js';

const QUERY = 'how do plants make food';
const DOCS = [
  'Photosynthesis turns light, water and carbon dioxide into sugar in the leaves.',
  'The stock market fell sharply on Tuesday.',
  'Roots take up water and minerals from the soil.',
  'A recipe for bread: flour, water, yeast and salt.',
  'Chlorophyll absorbs red and blue light.',
  '',
];
const PAIRS: TextPair[] = [
  ...DOCS.map((doc): TextPair => [QUERY, doc]),
  ['capital of france', 'Paris is the capital and largest city of France.'],
  ['capital of france', 'Lyon is known for its food.'],
  [QUERY, 'Plants are green.'],
];
// Merging requests changes a pair's batch and padding, not its score beyond float noise.
const NOISE = 1e-5;

let model: CrossEncoder;
let server: RerankServer;
let guarded: RerankServer;
let local: number[];

beforeAll(async () => {
  model = await CrossEncoder.load(modelDir('tiny'));
  local = await model.score(PAIRS);
  server = await RerankServer.start({ scorer: model, port: 0, modelName: 'tiny' });
  guarded = await RerankServer.start({ scorer: model, port: 0, apiKey: 'let-me-in' });
});

afterAll(async () => {
  await server?.close();
  await guarded?.close();
  await model?.dispose();
});

function expectClose(actual: readonly number[], expected: readonly number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((score, i) => expect(Math.abs(score - (expected[i] as number))).toBeLessThan(NOISE));
}

const localOf = (docs: readonly string[]) =>
  docs.map((doc) => local[PAIRS.findIndex((p) => p[0] === QUERY && p[1] === doc)] as number);

describe('RemoteScorer against our server', () => {
  it.each([
    ['tei', '/rerank'],
    ['cohere', '/v1/rerank'],
    ['cohere', '/v2/rerank'],
  ] as const)('%s at %s scores like the local model, in input order, across batch splits', async (protocol, path) => {
    const remote = new RemoteScorer({ url: server.url, protocol, path, model: 'tiny', maxBatchSize: 2 });
    expectClose(await remote.score(PAIRS), local);
    const ranked = await remote.rank(QUERY, DOCS, { topK: 4 });
    const expected = await model.rank(QUERY, DOCS, { topK: 4 });
    expect(ranked.map((r) => r.index)).toEqual(expected.map((r) => r.index));
  });

  it('drives CrossEncoderReranker like the local model does', async () => {
    const docs = DOCS.map((pageContent, i) => new Document({ pageContent, metadata: { i } }));
    const remote = new CrossEncoderReranker({ model: new RemoteScorer({ url: server.url }), topN: 3 });
    const inProcess = new CrossEncoderReranker({ model, topN: 3 });
    const [a, b] = [await remote.compressDocuments(docs, QUERY), await inProcess.compressDocuments(docs, QUERY)];
    expect(a.map((d) => d.metadata.i)).toEqual(b.map((d) => d.metadata.i));
    expectClose(
      a.map((d) => d.metadata.relevanceScore as number),
      b.map((d) => d.metadata.relevanceScore as number),
    );
  });

  it('sends the bearer token, and a wrong one is a typed 401 with the server message', async () => {
    const ok = new RemoteScorer({ url: guarded.url, apiKey: 'let-me-in' });
    expectClose(await ok.score(PAIRS.slice(0, 2)), local.slice(0, 2));
    const wrong = new RemoteScorer({ url: guarded.url, apiKey: 'guess' });
    const error = await wrong.score(PAIRS.slice(0, 2)).catch((e: unknown) => e);
    expect(RemoteScorerError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: 401, attempts: 1, code: 'REMOTE_SCORER' });
    expect((error as RemoteScorerError).serverMessage).toMatch(/bearer token/);
    expect((error as Error).message).toMatch(/apiKey/);
  });
});

describe('the official Cohere SDK pointed at our server', () => {
  it('v1 rerank returns our scores', async () => {
    const cohere = new CohereClient({ token: 'unused', baseUrl: server.url });
    const answer = await cohere.rerank({
      model: 'tiny',
      query: QUERY,
      documents: DOCS,
      topN: 3,
      returnDocuments: true,
    });
    const expected = await model.rank(QUERY, DOCS, { topK: 3 });
    expect(answer.results.map((r) => r.index)).toEqual(expected.map((r) => r.index));
    expectClose(
      answer.results.map((r) => r.relevanceScore),
      expected.map((r) => r.score),
    );
    expect(answer.results[0]?.document?.text).toBe(DOCS[expected[0]?.index as number]);
  });

  it('v2 rerank returns our scores', async () => {
    const cohere = new CohereClientV2({ token: 'let-me-in', baseUrl: guarded.url });
    const answer = await cohere.rerank({ model: 'tiny', query: QUERY, documents: DOCS });
    expectClose(
      [...answer.results].sort((x, y) => x.index - y.index).map((r) => r.relevanceScore),
      localOf(DOCS),
    );
  });

  it("the SDK's own error classes see our 4xx answers", async () => {
    const cohere = new CohereClientV2({ token: 'wrong', baseUrl: guarded.url, maxRetries: 0 });
    await expect(cohere.rerank({ model: 'tiny', query: QUERY, documents: DOCS })).rejects.toMatchObject({
      statusCode: 401,
    });
  });

  it('v1 rerank of record documents with rankFields scores the named fields', async () => {
    const cohere = new CohereClient({ token: 'unused', baseUrl: server.url });
    const records = DOCS.map((body, i) => ({ title: `Note ${i}`, body, tag: 'botany' }));
    const answer = await cohere.rerank({
      model: 'tiny',
      query: QUERY,
      documents: records as never,
      rankFields: ['body', 'title'],
      returnDocuments: true,
    });
    const expected = await model.rank(
      QUERY,
      records.map((r) => `body: ${r.body}\ntitle: ${r.title}`),
    );
    expect(answer.results.map((r) => r.index)).toEqual(expected.map((r) => r.index));
    expectClose(
      answer.results.map((r) => r.relevanceScore),
      expected.map((r) => r.score),
    );
    expect(answer.results[0]?.document).toEqual(records[expected[0]?.index as number]);
  });

  it("the serving guide's CohereRerank snippet, run word for word against the server, ranks with our scores", async () => {
    // The guide's block that builds CohereRerank for our server, without its import lines; only the URL changes.
    const readme = readFileSync(`${REPO_ROOT}/docs/serving.md`, 'utf8');
    const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
      .map((match) => match[1] as string)
      .find((code) => code.includes('new CohereRerank('));
    expect(block, 'docs/serving.md shows how CohereRerank reaches the server').toBeDefined();
    const body = (block as string)
      .split('\n')
      .filter((line) => !line.startsWith('import '))
      .join('\n')
      .replace("'http://localhost:8080'", JSON.stringify(server.url));
    const build = new Function('CohereClient', 'CohereRerank', `${body}\nreturn reranker;`) as (
      client: typeof CohereClient,
      rerank: typeof CohereRerank,
    ) => CohereRerank;
    const reranker = build(CohereClient, CohereRerank);
    const expected = await model.rank(QUERY, DOCS, { topK: 3 });
    const order = await reranker.rerank(DOCS, QUERY);
    expect(order.map((r) => r.index)).toEqual(expected.map((r) => r.index));
    expectClose(
      order.map((r) => r.relevanceScore),
      expected.map((r) => r.score),
    );
    // CohereRerank's own options have no baseUrl: what the guide used to say would reach Cohere's cloud instead.
    expect(readme).not.toMatch(/CohereRerank[^.]*unchanged with `baseUrl`/);
  });

  it("LangChain's CohereRerank, given that client, ranks with our scores", async () => {
    const client = new CohereClient({ token: 'unused', baseUrl: server.url });
    const reranker = new CohereRerank({ client, model: 'tiny', topN: 2 });
    const expected = await model.rank(QUERY, DOCS, { topK: 2 });
    const order = await reranker.rerank(DOCS, QUERY);
    expect(order.map((r) => r.index)).toEqual(expected.map((r) => r.index));
    expectClose(
      order.map((r) => r.relevanceScore),
      expected.map((r) => r.score),
    );
    const docs = DOCS.map((pageContent) => new Document({ pageContent }));
    const compressed = await reranker.compressDocuments(docs, QUERY);
    expect(compressed.map((d) => d.pageContent)).toEqual(expected.map((r) => DOCS[r.index]));
  });
});
