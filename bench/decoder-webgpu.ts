// Whether headless Chromium here offers a WebGPU adapter (SwiftShader's, with --enable-unsafe-swiftshader), and if
// so whether the decoder test models score on it as sentence-transformers does: the page of test/browser/page.ts,
// the models served locally, `executionProviders: ['webgpu']`. Prints what it found and writes
// bench/results/decoder-webgpu.md. Usage: tsx bench/decoder-webgpu.ts
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleDir, bundlePage, pageMounts, serveStatic } from '../test/helpers/browser.js';
import { readDecoderGolden, REPO_ROOT } from '../test/helpers/models.js';

const chromium = (await import('@sparticuz/chromium')).default;
const puppeteer = (await import('puppeteer-core')).default;
const dir = await bundleDir('decoder-webgpu');
await bundlePage(join(REPO_ROOT, 'test', 'browser', 'page.ts'), dir);
await writeFile(
  join(dir, 'index.html'),
  '<!doctype html><meta charset="utf-8"><script type="module" src="./page.js"></script>',
);
const server = await serveStatic(pageMounts(dir));
const browser = await puppeteer.launch({
  executablePath: await chromium.executablePath(),
  headless: true,
  args: [
    '--no-sandbox',
    '--enable-unsafe-swiftshader',
    '--enable-unsafe-webgpu',
    '--use-angle=swiftshader',
    '--enable-features=Vulkan',
    `--user-data-dir=${await mkdtemp(join(tmpdir(), 'lce-webgpu-'))}`,
  ],
});
const lines: string[] = [`Headless ${await browser.version()}.`];
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/app/index.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.title === 'ready', { timeout: 120_000 });
  const adapter = await page.evaluate(async () => {
    const gpu = (
      navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }
    ).gpu;
    if (gpu === undefined) return 'no navigator.gpu';
    const found = await gpu.requestAdapter();
    const info = found?.info ?? {};
    return found === null
      ? 'requestAdapter() returned null'
      : `adapter vendor "${info['vendor']}", architecture "${info['architecture']}"`;
  });
  lines.push(`WebGPU: ${adapter}.`);
  if (adapter.startsWith('adapter')) {
    for (const name of ['fam-qwen3', 'fam-qwen3-kv', 'fam-qwen3-seq-cls']) {
      const golden = await readDecoderGolden(name);
      const pairs = golden.pairs.slice(0, 24);
      const expected = (golden.by_max_length['512'] as { default: { logits: number[] } }).default.logits.slice(0, 24);
      try {
        const out = (await page.evaluate(
          (model, p) =>
            (globalThis as unknown as { lceTest: { score(...a: unknown[]): Promise<unknown> } }).lceTest.score(
              model,
              p,
              {
                maxLength: 512,
                executionProviders: ['webgpu'],
              },
            ),
          `${server.url}/models/${name}`,
          pairs,
        )) as { scores: number[] };
        const worst = Math.max(...expected.map((e, i) => Math.abs((out.scores[i] as number) - e)));
        lines.push(`${name} on WebGPU: worst |score - sentence-transformers| over 24 pairs ${worst.toExponential(2)}.`);
      } catch (error) {
        lines.push(`${name} on WebGPU failed: ${String((error as Error).message ?? error).slice(0, 300)}`);
      }
    }
  }
} finally {
  await browser.close();
  await server.close();
}
console.log(lines.join('\n'));
await writeFile(
  join(REPO_ROOT, 'bench', 'results', 'decoder-webgpu.md'),
  `# Decoder models on WebGPU in headless Chromium\n\n${lines.join('\n\n')}\n`,
);
