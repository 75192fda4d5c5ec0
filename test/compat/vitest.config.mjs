import { defineConfig } from 'vitest/config';

// Used by run.mjs with each cell folder as the working directory (and so as the root).
export default defineConfig({
  test: {
    include: ['*.test.mjs'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
