// The browser build in a real browser: headless Chromium runs the page that test/browser/page.ts bundles, with the
// models served from 127.0.0.1. Scores and token ids are held to the same golden files as Node; a skip only happens
// where Chromium cannot start, and says why.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder } from '../../src/index.js';
import {
  browserUnavailable,
  bundleDir,
  bundlePage,
  launchBrowser,
  openPage,
  pageMounts,
  serveStatic,
  type StaticServer,
} from '../helpers/browser.js';
import {
  DECODER_MODELS,
  FAMILY_MODELS as FAMILIES,
  modelDir,
  noDistilled,
  noGolden,
  readDecoderGolden,
  readGolden,
  REPO_ROOT,
  type DecoderScored,
} from '../helpers/models.js';

interface Golden {
  model: string;
  pairs: [string, string][];
  logits: number[] | number[][];
  logits_32: number[] | number[][];
  tokenization: { by_max_length: Record<string, number[][]> };
  transformers_departs: Record<string, number[]>;
  hostile: { texts: string[]; ids: number[][] };
}

const relevance = (row: number | number[]) => (Array.isArray(row) ? (row[1] as number) : row);

type Api = {
  score(
    model: string,
    pairs: [string, string][],
    options: object,
  ): Promise<{ scores: number[]; info: { worker: boolean; onnxPath: string } }>;
  scoreWithoutCaches: Api['score'];
  encode(model: string, pairs: [string, string][], options: object): Promise<number[][]>;
  retrieve(
    model: string,
    query: string,
    texts: string[],
    topN: number,
  ): Promise<{ pageContent: string; metadata: Record<string, unknown> }[]>;
  responsiveness(
    model: string,
    query: string,
    texts: string[],
  ): Promise<{ ranked: { index: number; score: number }[]; ms: number; longestTask: number; worstGap: number }>;
};

/** Calls a page helper (see page.ts) with JSON arguments. */
function call<K extends keyof Api>(page: Page, name: K, ...args: Parameters<Api[K]>): ReturnType<Api[K]> {
  return page.evaluate(
    (n, a) => (globalThis as unknown as { lceTest: Record<string, (...x: unknown[]) => unknown> }).lceTest[n]!(...a),
    name,
    args as unknown[],
  ) as ReturnType<Api[K]>;
}

const skip = await browserUnavailable();

describe.skipIf(skip)('the browser build in headless Chromium', { timeout: 600_000 }, () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  const modelUrl = (name: string) => `${server.url}/models/${name}`;

  beforeAll(async () => {
    const dir = await bundleDir('browser-test');
    await bundlePage(join(REPO_ROOT, 'test', 'browser', 'page.ts'), dir);
    await writeFile(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><script type="module" src="./page.js"></script>',
    );
    // The tiny model also stands in for a hub repository, at the path the hub serves its files from.
    server = await serveStatic({
      ...pageMounts(dir),
      '/hub/local/tiny/resolve/main': modelDir('tiny'),
      '/hub/local/uncached/resolve/main': modelDir('tiny'),
    });
    browser = await launchBrowser();
    ({ page, errors } = await openPage(browser, `${server.url}/app/index.html`));
    await page.waitForFunction(() => document.title === 'ready', { timeout: 60_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('scores the tiny model in a Web Worker as Node does', async () => {
    const pairs: [string, string][] = [
      ['what is a tide?', 'Tides are caused by the Moon.'],
      ['capital of France', 'Paris is the capital and largest city of France.'],
      ['capital of France', 'Bananas are rich in potassium.'],
    ];
    const web = await call(page, 'score', modelUrl('tiny'), pairs, {});
    expect(web.info.worker).toBe(true);
    expect(web.info.onnxPath).toBe(`${modelUrl('tiny')}/onnx/model.onnx`);
    const node = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    const expected = await node.score(pairs, { activation: 'none' });
    await node.dispose();
    web.scores.forEach((score, i) => expect(Math.abs(score - (expected[i] as number))).toBeLessThan(1e-4));
    // A folder URL relative to the page, and one on the page's own host, load the same files.
    for (const relative of ['../models/tiny', '/models/tiny/']) {
      const again = await call(page, 'score', relative, pairs, { worker: false });
      expect(again.info.worker).toBe(false);
      expect(again.info.onnxPath).toBe(`${modelUrl('tiny')}/onnx/model.onnx`);
      expect(again.scores).toEqual(web.scores);
    }
    // Absent optional files (external weights, sentence-transformers' own configs) answer 404, which the browser logs.
    expect(errors.filter((e) => !e.includes('status of 404'))).toEqual([]);
  });

  it('loads a hub id once, keeps it with the Cache API, and loads it again from there, offline too', async () => {
    const pairs: [string, string][] = [['what is a tide?', 'Tides are caused by the Moon.']];
    const hubEndpoint = `${server.url}/hub`;
    const hubRequests = () => server.requests.filter((path) => path.startsWith('/hub/'));
    const first = await call(page, 'score', 'local/tiny', pairs, { hubEndpoint });
    const required = ['config.json', 'tokenizer.json', 'onnx/model.onnx'].map(
      (file) => `/hub/local/tiny/resolve/main/${file}`,
    );
    for (const path of required) expect(hubRequests().filter((p) => p === path)).toHaveLength(1);
    const before = hubRequests().length;
    const again = await call(page, 'score', 'local/tiny', pairs, { hubEndpoint });
    const offline = await call(page, 'score', 'local/tiny', pairs, { hubEndpoint, localFilesOnly: true });
    expect(again.scores).toEqual(first.scores);
    expect(offline.scores).toEqual(first.scores);
    // Only absent optional files are asked for again (a 404 is not cached); offline asks for nothing.
    expect(
      hubRequests()
        .slice(before)
        .filter((path) => required.includes(path)),
    ).toEqual([]);
    expect(first.info.onnxPath).toBe(`${hubEndpoint}/local/tiny/resolve/main/onnx/model.onnx`);
  });

  it('without the Cache API, downloads each file once and the worker reads it from the page', async () => {
    const pairs: [string, string][] = [['what is a tide?', 'Tides are caused by the Moon.']];
    const hubEndpoint = `${server.url}/hub`;
    const requests = () => server.requests.filter((path) => path.startsWith('/hub/local/uncached/'));
    const first = await call(page, 'scoreWithoutCaches', 'local/uncached', pairs, { hubEndpoint });
    expect(first.info.worker).toBe(true);
    for (const file of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) {
      expect(requests().filter((p) => p === `/hub/local/uncached/resolve/main/${file}`)).toHaveLength(1);
    }
    // A second load in the page finds the files in memory; only absent optional files are asked for again.
    const kept = () =>
      requests().filter((p) => /\/main\/((config|tokenizer|tokenizer_config)\.json|onnx\/model\.onnx)$/.test(p));
    const before = kept().length;
    const again = await call(page, 'scoreWithoutCaches', 'local/uncached', pairs, { hubEndpoint });
    expect(again.scores).toEqual(first.scores);
    expect(kept()).toHaveLength(before);
  });

  describe.skipIf(noGolden() ?? noDistilled())('the distilled reranker', () => {
    it("ce-minilm-l6-ict: Python's scores within 1e-4 at max_length 512 and 128", async () => {
      const golden = await readGolden<{
        pairs: [string, string][];
        logits: number[];
        logits_128: number[];
      }>('ce-minilm-l6-ict');
      for (const [maxLength, logits] of [
        [512, golden.logits],
        [128, golden.logits_128],
      ] as const) {
        const { scores } = await call(page, 'score', modelUrl('ce-minilm-l6-ict'), golden.pairs, { maxLength });
        const worst = Math.max(...scores.map((score, i) => Math.abs(score - (logits[i] as number))));
        console.log(
          `ce-minilm-l6-ict max_length ${maxLength}: worst |browser - Python| ${worst.toExponential(2)} over ${scores.length} pairs`,
        );
        expect(worst).toBeLessThan(1e-4);
      }
    });
  });

  describe.skipIf(noGolden())('golden files', () => {
    for (const name of FAMILIES) {
      it(`${name}: Python's ids and scores within 1e-4 at max_length 512 and 32`, async () => {
        const golden = await readGolden<Golden>(name);
        for (const [maxLength, logits] of [
          [512, golden.logits],
          [32, golden.logits_32],
        ] as const) {
          const { scores } = await call(page, 'score', modelUrl(name), golden.pairs, { maxLength });
          const departs = new Set(golden.transformers_departs[String(maxLength)] ?? []);
          const errors = golden.pairs.flatMap((_, i) =>
            departs.has(i) ? [] : [Math.abs((scores[i] as number) - relevance(logits[i] as number | number[]))],
          );
          expect(errors.length).toBeGreaterThan(200);
          expect(Math.max(...errors), `${name} at ${maxLength}`).toBeLessThan(1e-4);
          console.log(
            `${name} max_length ${maxLength}: worst |browser - Python| ${Math.max(...errors).toExponential(2)} over ${errors.length} pairs`,
          );
        }
        const ids = await call(page, 'encode', modelUrl(name), golden.pairs, { maxLength: 32 });
        const expected = golden.tokenization.by_max_length['32'] as number[][];
        expect(ids.flatMap((row, i) => (JSON.stringify(row) === JSON.stringify(expected[i]) ? [] : [i]))).toEqual([]);
      });
    }
  });

  describe.skipIf(noGolden())('rerankers on a language model', () => {
    for (const name of DECODER_MODELS) {
      it(`${name}: sentence-transformers' prompt ids and scores within 1e-4, with its instruction and another`, async () => {
        const golden = await readDecoderGolden(name);
        const pairs = [...golden.pairs, ...golden.hostile_pairs];
        // The longer length keeps most documents whole; the shorter cuts them and writes the template's tail back.
        for (const maxLength of [512, 160]) {
          for (const which of ['default', 'custom'] as const) {
            const expected = golden.by_max_length[String(maxLength)]?.[which] as DecoderScored;
            const options = { maxLength, ...(which === 'custom' ? { instruction: golden.custom_instruction } : {}) };
            const { scores } = await call(page, 'score', modelUrl(name), pairs, options);
            const logits = [...expected.logits, ...expected.hostile_logits];
            const worst = Math.max(...logits.map((logit, i) => Math.abs((scores[i] as number) - logit)));
            expect(worst, `${name} at ${maxLength}, ${which} instruction`).toBeLessThan(1e-4);
            console.log(`${name} maxLength ${maxLength} ${which}: worst |browser - Python| ${worst.toExponential(2)}`);
            if (maxLength !== 160) continue;
            const ids = await call(page, 'encode', modelUrl(name), pairs, options);
            const reference = [...expected.ids, ...expected.hostile_ids];
            expect(ids.flatMap((row, i) => (JSON.stringify(row) === JSON.stringify(reference[i]) ? [] : [i]))).toEqual(
              [],
            );
          }
        }
      });
    }
  });

  it('runs ContextualCompressionRetriever with CrossEncoderReranker in the page, as on Node', async () => {
    const texts = [
      'The Moon pulls the oceans, which makes tides.',
      'Paris is the capital of France.',
      'Tides rise and fall twice a day because of the Moon and the Sun.',
      'Bananas are yellow.',
      'High tide and low tide come from gravity.',
    ];
    const query = 'how do tides work?';
    const inPage = await call(page, 'retrieve', modelUrl('tiny'), query, texts, 3);
    const node = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    const expected = await node.rank(query, texts, { topK: 3 });
    await node.dispose();
    expect(inPage.map((d) => d.metadata['i'])).toEqual(expected.map((r) => r.index));
    inPage.forEach((d, k) =>
      expect(Math.abs((d.metadata['relevanceScore'] as number) - (expected[k]?.score as number))).toBeLessThan(1e-4),
    );
  });

  it('keeps the main thread free while a 100-document rerank runs in the worker', async () => {
    const pairs = (await readGolden<{ pairs: [string, string][] }>('pairs').catch(() => undefined))?.pairs;
    const texts = (pairs ?? []).slice(0, 100).map(([, passage]) => passage);
    while (texts.length < 100) texts.push(`filler passage number ${texts.length} about tides and the moon`);
    const result = await call(page, 'responsiveness', modelUrl('tiny'), 'how do tides work?', texts);
    console.log(
      `100-document rerank in ${result.ms.toFixed(0)} ms: longest main-thread task ${result.longestTask.toFixed(0)} ms, ` +
        `longest heartbeat gap ${result.worstGap.toFixed(0)} ms`,
    );
    expect(result.ranked).toHaveLength(100);
    expect(result.longestTask).toBeLessThan(50);
  });
});
