import { defineConfig } from 'vitest/config';

// Unit tests (`*.test.ts`) need no model or only the tiny one; integration tests
// (`*.int.test.ts`, under test/ and eval/) run the MiniLM-sized models built by `npm run models`; browser tests
// (test/browser/) run the browser build in headless Chromium.
// ARCHITECTURE.md says where each kind of test lives.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'eval/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**', 'test/browser/**'],
          testTimeout: 30_000,
          // A UMD file in a "type": "module" package, which Node's own loader cannot run; Vitest's runs it.
          server: { deps: { inline: ['@mlc-ai/web-tokenizers'] } },
        },
      },
      {
        // A real browser (headless Chromium from npm) running the browser build; one page at a time.
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts', 'eval/**/*.int.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
