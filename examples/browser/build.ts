// Builds and serves the browser example: the page (main.ts) and its search worker (search-worker.ts) bundled with
// the package's browser build, ONNX Runtime Web's WebAssembly beside them, the models at /models/ and the notes at
// /docs/, all from 127.0.0.1. Shared by `npm run example:browser` (serve.ts) and the browser test.
import { existsSync } from 'node:fs';
import { copyFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { BROWSER_BUILD, copyOrtWasm, serveStatic, type StaticServer } from '../../test/helpers/browser.js';
import type { ExampleConfig } from './messages.js';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const modelsDir = path.join(repoRoot, 'models');
const docsDir = path.join(repoRoot, 'examples', 'data', 'docs');

/** The best reranker the project has built, as in the Node example: the distilled one, else the tiny test model. */
export function chooseReranker(): { name: string; note: string } {
  if (existsSync(path.join(modelsDir, 'ce-minilm-l6-ict', 'onnx', 'model.onnx'))) {
    return { name: 'ce-minilm-l6-ict', note: 'the distilled reranker that `npm run models` builds.' };
  }
  return {
    name: 'tiny',
    note:
      'the tiny test model (random weights: its order means nothing), because models/ce-minilm-l6-ict is not built; ' +
      '`npm run models` builds it when ../shared/models is there.',
  };
}

/** Sizes of what the page loads: its two scripts, and ONNX Runtime's WebAssembly. */
export interface ExampleSizes {
  jsBytes: number;
  wasmBytes: number;
}

/** Bundles the page into `outDir` and writes its `config.json`. */
export async function buildExample(outDir: string): Promise<{ config: ExampleConfig; sizes: ExampleSizes }> {
  for (const required of ['all-MiniLM-L6-v2', 'tiny']) {
    if (!existsSync(path.join(modelsDir, required, 'onnx', 'model.onnx'))) {
      throw new Error(`models/${required} is missing: run \`npm run models\` first.`);
    }
  }
  await build({
    ...BROWSER_BUILD,
    entryPoints: {
      main: path.join(import.meta.dirname, 'main.ts'),
      'search-worker': path.join(import.meta.dirname, 'search-worker.ts'),
    },
    outdir: outDir,
  });
  const wasmBytes = await copyOrtWasm(outDir);
  await copyFile(path.join(import.meta.dirname, 'index.html'), path.join(outDir, 'index.html'));
  const reranker = chooseReranker();
  const config: ExampleConfig = {
    embeddings: '/models/all-MiniLM-L6-v2',
    reranker: `/models/${reranker.name}`,
    rerankerNote: reranker.note,
    docsPath: '/docs',
    docs: (await readdir(docsDir)).sort(),
    k: 20,
    top: 5,
  };
  await writeFile(path.join(outDir, 'config.json'), JSON.stringify(config, null, 2));
  const jsBytes =
    (await stat(path.join(outDir, 'main.js'))).size + (await stat(path.join(outDir, 'search-worker.js'))).size;
  return { config, sizes: { jsBytes, wasmBytes } };
}

/** Serves a built page at `/app/`, with the models and the notes, on 127.0.0.1 (a free port unless `port`). */
export function serveExample(outDir: string, port?: number): Promise<StaticServer> {
  return serveStatic({ '/app': outDir, '/models': modelsDir, '/docs': docsDir }, { port });
}
