// The browser example (`npm run example:browser`) in headless Chromium: the page's worker runs the two-stage search
// over the bundled notes, and its rankings must be the ones the Node example computes for the same questions (the
// same store, models and reranker, through the Node entry): same order, cosines and scores within 1e-4.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Document } from '@langchain/core/documents';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExample, serveExample } from '../../examples/browser/build.js';
import type { ExampleConfig, QueryResult } from '../../examples/browser/messages.js';
import { BUNDLED_QUESTIONS } from '../../examples/bundled-questions.js';
import { openStore } from '../../examples/stores/open-store.js';
import { CrossEncoderReranker, OnnxEmbeddings } from '../../src/index.js';
import { browserUnavailable, bundleDir, launchBrowser, openPage, type StaticServer } from '../helpers/browser.js';
import { REPO_ROOT } from '../helpers/models.js';

interface PageResults {
  ready?: { reranker: string; embeddings: string };
  queries: QueryResult[];
}

/** What examples/two-stage-search.ts computes on the bundled notes, with the page's models. */
async function nodeRankings(
  config: ExampleConfig,
): Promise<{ candidates: [string, number][]; reranked: [string, number][] }[]> {
  const docsDir = join(REPO_ROOT, 'examples', 'data', 'docs');
  const docs: Document[] = [];
  for (const name of (await readdir(docsDir)).sort()) {
    const text = await readFile(join(docsDir, name), 'utf8');
    docs.push(new Document({ pageContent: text, metadata: { title: name }, id: name }));
  }
  const embeddingModel = join(REPO_ROOT, config.embeddings.slice(1));
  const embeddings = new OnnxEmbeddings({ model: embeddingModel });
  const storeDir = await bundleDir('example-store');
  const store = await openStore('memory', embeddings, embeddingModel, docs, { storeDir });
  const reranker = new CrossEncoderReranker({ model: join(REPO_ROOT, config.reranker.slice(1)), topN: config.top });
  try {
    const out = [];
    for (const question of BUNDLED_QUESTIONS) {
      const candidates = await store.search(question.text, config.k);
      const reranked = await reranker.compressDocuments(
        candidates.map(([doc]) => doc),
        question.text,
      );
      out.push({
        candidates: candidates.map(([doc, cosine]): [string, number] => [doc.id as string, cosine]),
        reranked: reranked.map((doc): [string, number] => [doc.id as string, doc.metadata['relevanceScore'] as number]),
      });
    }
    return out;
  } finally {
    await store.close();
    await reranker.dispose();
    await embeddings.dispose();
    await rm(storeDir, { recursive: true, force: true });
  }
}

const skip = await browserUnavailable();

describe.skipIf(skip)('the browser example in headless Chromium', { timeout: 600_000 }, () => {
  let server: StaticServer;
  let browser: Browser;
  let outDir: string;

  beforeAll(async () => {
    outDir = await bundleDir('example-browser');
    server = await serveExample(outDir);
    browser = await launchBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
  });

  it("shows the Node example's rankings for the bundled questions, computed in a Web Worker", async () => {
    const { config, sizes } = await buildExample(outDir);
    console.log(
      `example page: ${sizes.jsBytes} bytes of JavaScript, ${sizes.wasmBytes} bytes of WebAssembly; reranker ${config.reranker}`,
    );
    const { page, errors } = await openPage(browser, `${server.url}/app/index.html`);
    await page.waitForFunction(() => document.title === 'done' || document.title === 'failed', { timeout: 300_000 });
    const status = await page.$eval('#status', (e) => e.textContent);
    expect(await page.title(), String(status)).toBe('done');
    const inPage = (await page.evaluate(
      () => (globalThis as unknown as { exampleResults: PageResults }).exampleResults,
    )) as PageResults;
    expect(inPage.ready?.reranker).toBe(config.reranker);
    expect(inPage.queries.map((q) => q.text)).toEqual(BUNDLED_QUESTIONS.map((q) => q.text));
    // The page drew what its worker posted: both rankings of every question, row for row.
    const drawn = await page.$$eval('#results tr', (rows) => rows.filter((r) => r.querySelector('td')).length);
    expect(drawn).toBe(
      inPage.queries.reduce((n, q) => n + Math.min(config.top, q.candidates.length) + q.reranked.length, 0),
    );

    const expected = await nodeRankings(config);
    inPage.queries.forEach((query, q) => {
      const node = expected[q] as (typeof expected)[number];
      expect(
        query.candidates.map((d) => d.id),
        `${query.id} vector search`,
      ).toEqual(node.candidates.map(([id]) => id));
      expect(
        query.reranked.map((d) => d.id),
        `${query.id} reranked`,
      ).toEqual(node.reranked.map(([id]) => id));
      query.candidates.forEach((d, i) =>
        expect(Math.abs(d.cosine - (node.candidates[i]?.[1] as number))).toBeLessThan(1e-4),
      );
      query.reranked.forEach((d, i) =>
        expect(Math.abs((d.score as number) - (node.reranked[i]?.[1] as number))).toBeLessThan(1e-4),
      );
      expect(query.firstStageMs).toBeGreaterThanOrEqual(0);
      expect(query.secondStageMs).toBeGreaterThan(0);
    });
    // The main thread only renders: its script holds neither ONNX Runtime nor the tokenizer, only the drawing code.
    const mainJs = await readFile(join(outDir, 'main.js'), 'utf8');
    expect(mainJs).not.toMatch(/InferenceSession|web-tokenizers/);
    expect(mainJs.length).toBeLessThan(20_000);
    expect(errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });
});
