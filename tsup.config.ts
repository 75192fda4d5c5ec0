import { defineConfig } from 'tsup';

// Native and peer packages stay external: users install one copy of each.
const external = ['onnxruntime-node', 'tokenizers', /^@langchain\//];
// Each framework adapter's framework is an optional peer: loaded from the user's copy, never bundled.
external.push('ai', /^@ai-sdk\//, 'llamaindex', /^@llamaindex\//, /^@mastra\//);

// The output is unminified, readable JavaScript, so the tarball ships no maps (see ARCHITECTURE.md); SOURCEMAP=1
// writes them for local debugging.
const sourcemap = process.env.SOURCEMAP === '1';

export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      'ai-sdk': 'src/ai-sdk/index.ts',
      llamaindex: 'src/llamaindex/index.ts',
      mastra: 'src/mastra/index.ts',
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
]);
