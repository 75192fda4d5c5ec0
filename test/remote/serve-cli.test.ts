// The serve command's operator-facing edges: the key comes from a file or the environment (never empty), logs are
// JSON lines without text, the model's path is not shown to clients, and an orphaned server drains and exits.
import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RerankServer } from '../../src/index.js';
import { runServe, type ServeIo } from '../../src/serve/cli.js';
import { FakeScorer } from '../../src/testing/index.js';

const SECRET = 'confidential passage about patient 4711';
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lce-serve-cli-'));
});
afterAll(async () => rm(scratch, { recursive: true, force: true }));

/** Starts `serve` with a fake model; resolves once it listens, with a way to stop it. */
async function start(argv: string[], extra: Partial<ServeIo> = {}) {
  const signals = new EventEmitter();
  const stdout: string[] = [];
  const stderr: string[] = [];
  let server: RerankServer | undefined;
  const exit = runServe(argv, {
    loadScorer: async () => new FakeScorer(),
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    signals,
    env: {},
    onListening: (s) => (server = s),
    ...extra,
  });
  while (server === undefined) {
    const early = await Promise.race([exit, new Promise((resolve) => setTimeout(() => resolve(undefined), 5))]);
    if (typeof early === 'number') return { exit, stdout, stderr, server: undefined, stop: async () => early };
  }
  const stop = async () => {
    signals.emit('SIGTERM');
    return exit;
  };
  return { exit, stdout, stderr, server: server as RerankServer, stop };
}

const rerank = (url: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/rerank`, { method: 'POST', headers, body: JSON.stringify({ query: 'q', texts: [SECRET, 'q a'] }) });

describe('the API key', () => {
  it('is read from --api-key-file (trailing newline dropped) and required from then on', async () => {
    const file = join(scratch, 'key');
    await writeFile(file, 's3cret\n');
    const run = await start(['--model', 'fake', '--port', '0', '--api-key-file', file]);
    expect((await rerank(run.server!.url)).status).toBe(401);
    expect((await rerank(run.server!.url, { authorization: 'bearer s3cret' })).status).toBe(200);
    expect(run.stderr.join('')).not.toMatch(/process list/);
    expect(await run.stop()).toBe(0);
  });

  it('is read from LCE_API_KEY; --api-key still works but warns that ps shows it', async () => {
    const fromEnv = await start(['--model', 'fake', '--port', '0'], { env: { LCE_API_KEY: 'k1' } });
    expect((await rerank(fromEnv.server!.url, { authorization: 'Bearer k1' })).status).toBe(200);
    expect((await rerank(fromEnv.server!.url)).status).toBe(401);
    await fromEnv.stop();
    const onLine = await start(['--model', 'fake', '--port', '0', '--api-key', 'k2']);
    expect(onLine.stderr.join('')).toMatch(/--api-key shows in the process list/);
    await onLine.stop();
  });

  it('refuses an empty key from any source, and an unreadable key file', async () => {
    const empty = join(scratch, 'empty');
    await writeFile(empty, '\n');
    for (const [argv, env] of [
      [['--api-key', ''], {}],
      [['--api-key', '  '], {}],
      [['--api-key-file', empty], {}],
      [['--api-key-file', join(scratch, 'missing')], {}],
      [[], { LCE_API_KEY: '' }],
    ] as const) {
      const run = await start(['--model', 'fake', '--port', '0', ...argv], { env });
      expect(await run.exit).toBe(2);
      expect(run.stderr.join('')).toMatch(/empty|cannot read/);
    }
  });
});

describe('logs and names', () => {
  it('writes one JSON line per request and per server error, never the text', async () => {
    const run = await start(['--model', 'fake', '--port', '0', '--request-timeout-ms', '5000']);
    await rerank(run.server!.url);
    await fetch(`${run.server!.url}/rerank`, { method: 'POST', body: '{"query": "q"}' });
    await run.stop();
    const lines = run.stdout
      .filter((text) => text.startsWith('{'))
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({ event: 'request', route: '/rerank', status: 200, texts: 2 }),
      expect.objectContaining({ event: 'request', route: '/rerank', status: 422, texts: 0 }),
    ]);
    expect(typeof lines[0]?.ms).toBe('number');
    expect(run.stdout.join('') + run.stderr.join('')).not.toContain('patient');
  });

  it('names a local model by its folder, never its path, in /info and Cohere answers', async () => {
    const folder = join(scratch, 'my-reranker');
    await mkdir(folder, { recursive: true });
    const run = await start(['--model', folder, '--port', '0']);
    const info = (await (await fetch(`${run.server!.url}/info`)).json()) as { model_id: string };
    expect(info.model_id).toBe('my-reranker');
    const cohere = await fetch(`${run.server!.url}/v2/rerank`, {
      method: 'POST',
      body: JSON.stringify({ query: 'q', documents: ['q a'] }),
    });
    expect(JSON.stringify(await cohere.json())).not.toContain(scratch);
    await run.stop();
  });
});

describe('an orphaned server', () => {
  it('drains and exits once its parent process is gone', async () => {
    let parent = 4242;
    const run = await start(['--model', 'fake', '--port', '0'], { parentPid: () => parent });
    const url = run.server!.url;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    parent = 1; // reparented: the launcher exited
    expect(await run.exit).toBe(0);
    expect(run.stdout.join('')).toMatch(/parent process exited, finishing requests in flight[\s\S]*stopped/);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

describe('the routes it names', () => {
  it('--help and the start-up line name every GET route, and each of them answers', async () => {
    const help: string[] = [];
    expect(await runServe(['--help'], { ...quietIo(), stdout: { write: (text: string) => help.push(text) } })).toBe(0);
    const run = await start(['--model', 'fake', '--port', '0']);
    const line = run.stdout.join('').split('\n')[0] as string;
    const named = /GET ([^)]*)\)/.exec(line)?.[1]?.split(', ') ?? [];
    expect(named).toEqual(['/health', '/ready', '/info', '/metrics']);
    for (const route of named) {
      expect(help.join('')).toContain(route);
      expect((await fetch(`${run.server!.url}${route}`)).status).toBe(200);
    }
    expect(await run.stop()).toBe(0);
  });
});

function quietIo(): ServeIo {
  return {
    loadScorer: async () => new FakeScorer(),
    stdout: { write: () => true },
    stderr: { write: () => true },
    signals: new EventEmitter(),
    env: {},
  };
}
