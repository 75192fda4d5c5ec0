// Every code block of README.md and docs/ in TypeScript or JavaScript says whether it runs: `<!-- run -->` before
// the fence runs it here, `<!-- not run: why -->` says why not (a fragment, a browser, a service of yours, or
// another test that runs it). Blocks marked `<!-- run: serve -->` are shell commands run against a rerank server
// started here; `run: quick-start` blocks belong to quick-start.test.ts.
//
// A block runs as its own ES module under tsx, with this checkout's source behind the package's import names, in
// an empty folder holding `models/` links to the local models the guides name. Hub ids are answered by a local
// stand-in for the hub (test/helpers/hub-server.ts) from the models `npm run models` builds: the default reranker
// by the tiny test model, the default embeddings by all-MiniLM-L6-v2; nothing reaches the network.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEncoder } from '../../src/index.js';
import { RerankServer } from '../../src/serve/server.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { MODELS_DIR, REPO_ROOT } from '../helpers/models.js';
import { HUB_MODELS, LOCAL_MODELS, TSX, hubEnv, modelsMissing, runToEnd } from './harness.js';
import { codeBlocks, docFiles, where, type CodeBlock } from './markdown.js';

const CODE_LANGS = new Set(['ts', 'typescript', 'tsx', 'js', 'javascript', 'mjs', 'cjs']);
/** The package's import names, mapped to this checkout's source. */
const ENTRIES: Record<string, string> = {
  'langchain-cross-encoder': 'src/index.ts',
  'langchain-cross-encoder/remote': 'src/remote-entry.ts',
  'langchain-cross-encoder/core': 'src/core-entry.ts',
  'langchain-cross-encoder/testing': 'src/testing/index.ts',
  'langchain-cross-encoder/ai-sdk': 'src/ai-sdk/index.ts',
  'langchain-cross-encoder/llamaindex': 'src/llamaindex/index.ts',
  'langchain-cross-encoder/mastra': 'src/mastra/index.ts',
};
const missing = modelsMissing();
const blocks = docFiles().flatMap(codeBlocks);
const code = blocks.filter((b) => CODE_LANGS.has(b.lang));
const runnable = code.filter((b) => b.marker === 'run');
const served = blocks.filter((b) => b.marker === 'run: serve');
const named = (b: CodeBlock) => where(b.file, b.line);

describe.skipIf(missing !== undefined)('code blocks in README.md and docs/', () => {
  let hub: HubServer;
  let work: string;
  let app: string;
  let scratch: string;

  beforeAll(async () => {
    hub = await startHubServer({ root: HUB_MODELS });
    work = await mkdtemp(join(tmpdir(), 'lce-doc-blocks-'));
    app = join(work, 'app');
    await mkdir(join(app, 'models'), { recursive: true });
    for (const [name, dir] of Object.entries(LOCAL_MODELS)) await symlink(dir, join(app, 'models', name), 'dir');
    // Worker threads started from source load tsx from the working folder, as the tests' own do from the root.
    await symlink(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
    // The block files sit inside the repository so that their other imports resolve from its node_modules.
    scratch = join(REPO_ROOT, '.cache', 'doc-blocks');
    await mkdir(scratch, { recursive: true });
  });

  afterAll(async () => {
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('every TypeScript or JavaScript block says whether it runs', () => {
    const unmarked = code
      .filter((b) => b.marker === undefined || !/^(run(: .+)?|not run: .+)$/.test(b.marker))
      .map((b) => `${named(b)} (${b.lang}): put <!-- run --> or <!-- not run: why --> before the fence`);
    expect(unmarked).toEqual([]);
    expect(runnable.length).toBeGreaterThan(3);
  });

  it.each(runnable.map((b) => [named(b), b] as const))('%s runs', { timeout: 180_000 }, async (name, block) => {
    let source = block.code;
    for (const [specifier, file] of Object.entries(ENTRIES)) {
      source = source.replaceAll(`'${specifier}'`, `'${pathToFileURL(join(REPO_ROOT, file)).href}'`);
    }
    expect(source, `${name} imports the browser build, which Node cannot run`).not.toContain(
      "'langchain-cross-encoder/web'",
    );
    // Unmapped, Node would resolve the package's own name to dist/, running the last build instead of the source.
    const unmapped = source.match(/(['"])langchain-cross-encoder(\/[\w-]+)?\1/g) ?? [];
    expect(unmapped, `${name} imports entries missing from ENTRIES`).toEqual([]);
    const file = join(scratch, `${name.replace(/[^\w]+/g, '-')}.mts`);
    await writeFile(file, source);
    const env = hubEnv(hub.url, join(work, 'cache'));
    const run = await runToEnd(process.execPath, ['--import', TSX, file], { cwd: app, env, timeoutMs: 170_000 });
    expect(run.code, `${name} exited with ${run.code}\n${run.stdout}\n${run.stderr}`).toBe(0);
  });

  describe.runIf(served.length > 0)('shell blocks against a rerank server', () => {
    let model: CrossEncoder;
    let server: RerankServer;

    beforeAll(async () => {
      model = await CrossEncoder.load(join(MODELS_DIR, 'tiny'));
      server = await RerankServer.start({ scorer: model, port: 0, modelName: 'ms-marco-MiniLM-L-6-v2' });
    });

    afterAll(async () => {
      await server?.close();
      await model?.dispose();
    });

    it.each(served.map((b) => [named(b), b] as const))('%s answers JSON', async (name, block) => {
      const script = block.code.replaceAll('localhost:8080', server.url.replace('http://', ''));
      const run = await runToEnd('bash', ['-eo', 'pipefail', '-c', script], {
        cwd: REPO_ROOT,
        env: process.env,
        timeoutMs: 60_000,
      });
      expect(run.code, `${name}\n${run.stderr}`).toBe(0);
      const answer = JSON.parse(run.stdout) as unknown;
      const results = Array.isArray(answer) ? answer : (answer as { results: unknown[] }).results;
      expect(results.length, `${name}: ${run.stdout}`).toBeGreaterThan(0);
    });
  });
});
