// The suite both AI SDK cells run: `rerank()` from the cell's own `ai` (6 with @ai-sdk/provider 3.x, or 7 with 4.x)
// through the provider of `langchain-cross-encoder/ai-sdk`, in an app with no @langchain/core, and the same app
// type-checked by TypeScript against that generation's types.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tiny = path.join(repoRoot, 'models/tiny');
const QUERY = 'waterproof trail shoe';
const TEXTS = [
  'A road running shoe with a light mesh upper.',
  'A waterproof trail shoe with a grippy outsole.',
  'A wool hiking sock for cold mornings.',
  'Trail running shoes that keep water out on wet paths.',
];

/**
 * @param {object} cell `ai` (the cell's module), `adapter` (the package's ai-sdk entry), `core` (its core entry),
 *   `cellUrl`, `aiVersion` and `providerMajor` (the @ai-sdk/provider generation `ai` brings)
 * @param {string} name the cell's name, for test titles
 */
export function defineAiSuite(cell, name) {
  const { ai, adapter, core } = cell;
  const cellRequire = createRequire(cell.cellUrl);
  const cellDir = path.dirname(fileURLToPath(cell.cellUrl));

  describe(`${name}: ai ${cell.aiVersion}`, () => {
    it(`installs beside ai ${cell.aiVersion} and @ai-sdk/provider ${cell.providerMajor}.x, without @langchain/core`, () => {
      expect(cellRequire('ai/package.json').version).toBe(cell.aiVersion);
      const providerPackage = createRequire(cellRequire.resolve('ai/package.json'))('@ai-sdk/provider/package.json');
      expect(providerPackage.version.split('.')[0]).toBe(String(cell.providerMajor));
      // npm installed no LangChain into the cell (a lookup would climb to the repository's own node_modules).
      expect(existsSync(path.join(cellDir, 'node_modules/@langchain/core'))).toBe(false);
    });

    it('reranks through rerank() with a local model, as the engine from the core entry ranks', async () => {
      const engine = await core.CrossEncoder.load(tiny, { worker: false });
      const provider = adapter.createCrossEncoder({ worker: false });
      const shared = adapter.createCrossEncoder({ scorer: engine });
      try {
        const expected = await engine.rank(QUERY, TEXTS, { topK: 3 });
        for (const model of [provider.rerankingModel(tiny), shared.rerankingModel('tiny')]) {
          const { ranking } = await ai.rerank({ model, query: QUERY, documents: TEXTS, topN: 3 });
          expect(ranking.map((r) => r.originalIndex)).toEqual(expected.map((r) => r.index));
          ranking.forEach((r, i) => expect(r.score).toBeCloseTo(expected[i].score, 6));
          expect(ranking[0].document).toBe(TEXTS[expected[0].index]);
        }
        const objects = TEXTS.map((text, id) => ({ id, text }));
        const { ranking } = await ai.rerank({
          model: shared.rerankingModel('tiny'),
          query: QUERY,
          documents: objects,
          providerOptions: { crossEncoder: { rankFields: ['text'] } },
        });
        // An object document is read as its `field: value` lines.
        const rendered = await engine.rank(
          QUERY,
          TEXTS.map((text) => `text: ${text}`),
        );
        expect(ranking.map((r) => r.originalIndex)).toEqual(rendered.map((r) => r.index));
      } finally {
        await provider.dispose();
        await engine.dispose();
      }
    });

    it('serves from a provider registry and a custom provider', async () => {
      const provider = adapter.createCrossEncoder({ scorer: new core.FakeScorer() });
      const registry = ai.createProviderRegistry({ ce: provider });
      const custom = ai.customProvider({ rerankingModels: { fake: provider.rerankingModel('fake') } });
      for (const model of [registry.rerankingModel('ce:fake'), custom.rerankingModel('fake')]) {
        const { ranking } = await ai.rerank({ model, query: 'red apples', documents: ['blue sky', 'red apples'] });
        expect(ranking.map((r) => r.originalIndex)).toEqual([1, 0]);
      }
      let thrown;
      try {
        provider.languageModel('x');
      } catch (error) {
        thrown = error;
      }
      expect(ai.NoSuchModelError.isInstance(thrown)).toBe(true);
    });

    it('loads through require() as well (the CJS builds of the ai-sdk and core entries)', async () => {
      const cjs = cellRequire('langchain-cross-encoder/ai-sdk');
      const cjsCore = cellRequire('langchain-cross-encoder/core');
      const model = cjs.createCrossEncoder({ scorer: new cjsCore.FakeScorer() }).rerankingModel('fake');
      const { ranking } = await ai.rerank({ model, query: 'red apples', documents: ['blue sky', 'red apples'] });
      expect(ranking[0].originalIndex).toBe(1);
    });

    it("type-checks an app against this generation's types", () => {
      const dir = path.join(cellDir, 'typecheck');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      try {
        writeFileSync(
          path.join(dir, 'app.ts'),
          [
            "import { createProviderRegistry, customProvider, rerank } from 'ai';",
            "import { createCrossEncoder, crossEncoder } from 'langchain-cross-encoder/ai-sdk';",
            "import { CrossEncoder, FakeScorer } from 'langchain-cross-encoder/core';",
            "const provider = createCrossEncoder({ scorer: new FakeScorer(), name: 'local' });",
            "const { ranking } = await rerank({ model: provider.rerankingModel('m'), query: 'q', documents: ['a', 'b'] });",
            'const first: number | undefined = ranking[0]?.originalIndex;',
            "await rerank({ model: crossEncoder.rerankingModel('m', { rankFields: ['t'] }), query: 'q', documents: [{ t: 'a' }] });",
            'const registry = createProviderRegistry({ local: provider });',
            "await rerank({ model: registry.rerankingModel('local:m'), query: 'q', documents: ['a'] });",
            "customProvider({ rerankingModels: { m: provider.rerankingModel('m') } });",
            'const engine: CrossEncoder | undefined = undefined;',
            'export { first, engine };',
          ].join('\n'),
        );
        writeFileSync(
          path.join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: {
              target: 'es2022',
              module: 'nodenext',
              moduleResolution: 'nodenext',
              strict: true,
              noEmit: true,
              skipLibCheck: true,
              types: [],
              lib: ['es2022', 'dom'],
            },
            files: ['app.ts'],
          }),
        );
        writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
        const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
        const result = spawnSync(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { encoding: 'utf8' });
        expect(result.stdout + result.stderr).toBe('');
        expect(result.status).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
