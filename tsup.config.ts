import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Options } from 'tsup';

// Native and peer packages stay external: users install one copy of each.
const external = ['onnxruntime-node', 'onnxruntime-common', 'tokenizers', 'node-llama-cpp', /^@langchain\//];
// Each framework adapter's framework is an optional peer: loaded from the user's copy, never bundled.
external.push('ai', /^@ai-sdk\//, 'llamaindex', /^@llamaindex\//, /^@mastra\//);
// The browser build leaves its bindings to the app's bundler too.
const webExternal = ['onnxruntime-web', 'onnxruntime-common', '@mlc-ai/web-tokenizers', /^@langchain\//];

// The output is unminified, readable JavaScript, so the tarball ships no maps (see ARCHITECTURE.md); SOURCEMAP=1
// writes them for local debugging.
const sourcemap = process.env.SOURCEMAP === '1';

/** The browser build takes the web platform wherever the source imports the current one (src/platform/current.ts). */
const webPlatform: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'web-platform',
  setup(build) {
    const web = fileURLToPath(new URL('./src/platform/current.web.ts', import.meta.url));
    build.onResolve({ filter: /platform\/current\.js$/ }, () => ({ path: web }));
  },
};

/** In the worker's own build, the web platform never starts a worker (it is the worker), so the reference goes. */
const noNestedWorker: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'no-nested-worker',
  setup(build) {
    const start = "new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module' })";
    build.onLoad({ filter: /platform[\\/]web\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      if (!source.includes(start)) throw new Error(`tsup: ${path} no longer holds ${start}; update noNestedWorker`);
      const refusal = "(() => { throw new Error('The scoring worker does not start another worker.'); })()";
      return { contents: source.replace(start, refusal), loader: 'ts' };
    });
  },
};

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      remote: 'src/remote-entry.ts',
      core: 'src/core-entry.ts',
      'ai-sdk': 'src/ai-sdk/index.ts',
      llamaindex: 'src/llamaindex/index.ts',
      mastra: 'src/mastra/index.ts',
      next: 'src/next/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap,
    target: 'node20',
    platform: 'node',
    // The CJS build locates dist/worker.js through import.meta.url, which tsup shims there.
    shims: true,
    external,
  },
  {
    // The scoring worker and the command line run as ES modules only.
    entry: { worker: 'src/engine/worker.ts', bin: 'src/bin.ts' },
    format: ['esm'],
    sourcemap,
    target: 'node20',
    platform: 'node',
    external,
  },
  {
    // Browsers: ES modules for bundlers (Vite, webpack, esbuild, Next.js), one platform in each file.
    entry: { web: 'src/web.ts', 'browser-empty': 'src/next/browser-empty.ts' },
    format: ['esm'],
    dts: { entry: { web: 'src/web.ts' } },
    sourcemap,
    target: 'es2022',
    platform: 'browser',
    external: webExternal,
    esbuildPlugins: [webPlatform],
  },
  {
    // The browser's scoring worker, built apart so it shares no chunk with web.js: a shared chunk holds web.js's
    // `new Worker(new URL('./web-worker.js', …))`, and a worker whose own graph starts itself again stalls
    // Turbopack's `next build` for good.
    entry: { 'web-worker': 'src/engine/worker.ts' },
    format: ['esm'],
    sourcemap,
    target: 'es2022',
    platform: 'browser',
    external: webExternal,
    esbuildPlugins: [webPlatform, noNestedWorker],
  },
]);
