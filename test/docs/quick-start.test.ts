// The README's quick start, as a new user runs it: an empty folder made an ES-module app the way the README says
// (`npm init -y`, `npm pkg set type=module`), the package and its two LangChain packages linked into its
// node_modules, and the README's block pasted into index.js, run with plain `node`. Once with the hub ids (answered
// by a local stand-in for the hub, from the models `npm run models` builds) and once with the README's local-folder
// lines swapped in, offline and with no hub to reach.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { REPO_ROOT } from '../helpers/models.js';
import { HUB_MODELS, LOCAL_MODELS, hubEnv, modelsMissing, runToEnd } from './harness.js';
import { codeBlocks } from './markdown.js';

const blocks = codeBlocks('README.md');
const quickStart = blocks.find((b) => b.marker === 'run: quick-start');
const localLines = blocks.find((b) => b.marker === 'run: quick-start local');
const missing = modelsMissing() !== undefined;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The built package, rebuilt when it is missing or older than the source it comes from. */
function ensureBuilt(): void {
  const built = join(REPO_ROOT, 'dist', 'index.js');
  const newest = (dir: string): number =>
    Math.max(
      ...spawnSync('find', [dir, '-name', '*.ts', '-newer', built], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter(Boolean)
        .map((file) => statSync(file).mtimeMs),
      0,
    );
  if (existsSync(built) && newest(join(REPO_ROOT, 'src')) === 0) return;
  const run = spawnSync(npm, ['run', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`npm run build failed:\n${run.stdout}\n${run.stderr}`);
}

/** The quick start with each `const name = …` line replaced by the local block's line for that name. */
function withLocalLines(code: string, lines: string): string {
  let result = code;
  for (const line of lines.split('\n').filter((l) => l.startsWith('const '))) {
    const name = /^const (\w+) =/.exec(line)?.[1] as string;
    const pattern = new RegExp(`^const ${name} = .*$`, 'm');
    expect(result, `the quick start defines ${name}, which the local form replaces`).toMatch(pattern);
    result = result.replace(pattern, line);
  }
  return result;
}

describe.skipIf(missing)("the README's quick start in an empty ES-module app", () => {
  let hub: HubServer;
  let work: string;
  let app: string;

  beforeAll(async () => {
    ensureBuilt();
    hub = await startHubServer({ root: HUB_MODELS });
    work = await mkdtemp(join(tmpdir(), 'lce-quick-start-'));
    app = join(work, 'app');
    await mkdir(app);
    for (const args of [
      ['init', '-y'],
      ['pkg', 'set', 'type=module'],
    ]) {
      const run = spawnSync(npm, args, { cwd: app, encoding: 'utf8' });
      expect(run.status, `npm ${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    // As `npm i langchain-cross-encoder @langchain/core @langchain/classic` would leave it, with this checkout as the
    // package: its own dependencies resolve from the checkout, and both sides share one @langchain/core.
    await mkdir(join(app, 'node_modules', '@langchain'), { recursive: true });
    await symlink(REPO_ROOT, join(app, 'node_modules', 'langchain-cross-encoder'), 'dir');
    for (const name of ['core', 'classic']) {
      await symlink(join(REPO_ROOT, 'node_modules', '@langchain', name), join(app, 'node_modules', '@langchain', name));
    }
    await mkdir(join(app, 'models'));
    for (const [name, dir] of Object.entries(LOCAL_MODELS)) await symlink(dir, join(app, 'models', name), 'dir');
  }, 600_000);

  afterAll(async () => {
    await hub?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the README has the quick start and its local-folder form, marked', () => {
    expect(quickStart?.lang).toBe('js');
    expect(localLines?.lang).toBe('js');
  });

  it('runs as pasted, with the hub ids', { timeout: 300_000 }, async () => {
    await writeFile(join(app, 'index.js'), quickStart?.code as string);
    const cache = join(work, 'cache');
    const run = await runToEnd(process.execPath, ['index.js'], {
      cwd: app,
      env: hubEnv(hub.url, cache),
      timeoutMs: 280_000,
    });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    // topN: 2, one line per document: its score, then its text.
    const lines = run.stdout.trim().split('\n');
    expect(lines, run.stdout).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^\d\.\d{3} \S/);
    // Both models came through the hub, into the cache.
    expect(hub.requests.some((p) => p.includes('ms-marco-MiniLM-L-6-v2'))).toBe(true);
    expect(hub.requests.some((p) => p.includes('all-MiniLM-L6-v2'))).toBe(true);
    expect(await readdir(join(cache, 'Xenova'))).toEqual(expect.arrayContaining(['all-MiniLM-L6-v2']));
  });

  it('runs with the local-folder lines, offline', { timeout: 300_000 }, async () => {
    await writeFile(join(app, 'index.js'), withLocalLines(quickStart?.code as string, localLines?.code as string));
    hub.reset();
    const env = { ...hubEnv('http://127.0.0.1:9', join(work, 'empty-cache')), HF_HUB_OFFLINE: '1' };
    const run = await runToEnd(process.execPath, ['index.js'], { cwd: app, env, timeoutMs: 280_000 });
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(2);
    expect(hub.requests).toEqual([]);
  });
});
