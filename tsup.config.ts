import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  // Native and peer packages stay external: users install one copy of each.
  external: ['onnxruntime-node', '@huggingface/tokenizers', /^@langchain\//],
});
