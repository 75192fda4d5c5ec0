// The browser model store under Node, which has no Cache API: a fake fetch plays the hub, so the tests see every
// request, its headers and its signal. Where the Cache API is missing each file is downloaded once, through the
// caller's fetch, and read from memory afterwards.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DownloadError, ModelNotFoundError } from '../errors.js';
import { readModelBytes, readModelText, webModelStore } from './web-store.js';

const COMMIT = 'abc123'.padEnd(40, '0');

interface Seen {
  url: string;
  authorization: string | null;
  signal: AbortSignal | undefined;
}

/** A fake hub serving `files` (path → text) for any revision, naming COMMIT; `hold` files answer only on abort. */
function fakeHub(files: Record<string, string>, options: { failing?: string; hold?: readonly string[] } = {}) {
  const seen: Seen[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    const signal = init?.signal ?? undefined;
    seen.push({ url, authorization: new Headers(init?.headers).get('authorization'), signal });
    const file = decodeURIComponent(url.split('/resolve/')[1]?.split('/').slice(1).join('/') ?? '');
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (options.hold?.includes(file)) {
        await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
      }
      if (file === options.failing) return new Response('boom', { status: 500, statusText: 'Server Error' });
      const text = files[file];
      if (text === undefined) return new Response('Entry not found', { status: 404 });
      return new Response(text, { headers: { 'x-repo-commit': COMMIT } });
    } finally {
      inFlight--;
    }
  }) as typeof globalThis.fetch;
  return { fetch, seen, mostInFlight: () => mostInFlight };
}

const SMALL = { 'config.json': '{"a":1}', 'tokenizer.json': '{"t":1}', 'tokenizer_config.json': '{}' };
const specs = [{ path: 'config.json' }, { path: 'tokenizer.json' }, { path: 'tokenizer_config.json', optional: true }];
let unique = 0;
/** A fresh model id per test: files kept in memory by one test must not serve another. */
const freshId = () => `org/model-${++unique}-${Date.now()}`;

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the browser store without the Cache API', () => {
  it('downloads each file once, through the given fetch with its token, and reads it back without the network', async () => {
    expect((globalThis as { caches?: unknown }).caches).toBeUndefined();
    const hub = fakeHub({ ...SMALL, 'onnx/model.onnx': 'graph bytes' });
    const global = vi.spyOn(globalThis, 'fetch');
    const controller = new AbortController();
    const resolved = await webModelStore.resolve(freshId(), [...specs, { path: 'onnx/model.onnx' }], {
      fetch: hub.fetch,
      token: 'hf_private',
      signal: controller.signal,
    });
    expect(hub.seen).toHaveLength(4);
    expect(new Set(hub.seen.map((s) => s.url.split('/').pop()))).toEqual(
      new Set(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.onnx']),
    );
    expect(hub.seen.every((s) => s.authorization === 'Bearer hf_private')).toBe(true);
    expect(hub.seen.every((s) => s.signal !== undefined)).toBe(true);
    expect(resolved.downloaded).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']);
    // The scoring side reads what was downloaded: no second request, through the caller's fetch or any other.
    expect(await readModelText(resolved.files.get('tokenizer.json') as string)).toBe('{"t":1}');
    const graph = await readModelBytes(resolved.files.get('onnx/model.onnx') as string);
    expect(new TextDecoder().decode(graph)).toBe('graph bytes');
    expect(hub.seen).toHaveLength(4);
    expect(global.mock.calls.filter(([input]) => !String(input).startsWith('blob:'))).toEqual([]);
  });

  it('keeps the name of a graph’s external weights on the URL it hands out', async () => {
    const hub = fakeHub({ ...SMALL, 'onnx/model.onnx': 'g', 'onnx/model.onnx_data': 'w' });
    const resolved = await webModelStore.resolve(
      freshId(),
      [{ path: 'config.json' }, { path: 'onnx/model.onnx_data' }],
      {
        fetch: hub.fetch,
      },
    );
    const url = resolved.files.get('onnx/model.onnx_data') as string;
    expect(new URL(url).hash).toBe('#model.onnx_data');
    expect(new TextDecoder().decode(await readModelBytes(url))).toBe('w');
  });

  it('a file that fails to parse is forgotten, so resolving again downloads it afresh', async () => {
    const id = freshId();
    const hub = fakeHub(SMALL);
    const first = await webModelStore.resolve(id, specs, { fetch: hub.fetch });
    const again = await webModelStore.resolve(id, specs, { fetch: hub.fetch });
    expect(again.downloaded).toEqual([]);
    const tokenizer = again.files.get('tokenizer.json') as string;
    expect(await webModelStore.inspectFailed(again, tokenizer, {})).toBe('removed');
    const third = await webModelStore.resolve(id, specs, { fetch: hub.fetch });
    expect(third.downloaded).toEqual(['tokenizer.json']);
    expect(first.downloaded).toHaveLength(3);
  });
});

describe('the browser store’s downloads', () => {
  it('fetches at most a few files at once, and a failure cancels those in flight and starts no more', async () => {
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`extra/${i}.json`, '{}']));
    const hub = fakeHub({ ...SMALL, ...many }, { failing: 'extra/3.json', hold: ['extra/0.json', 'extra/1.json'] });
    const manySpecs = [...specs, ...Object.keys(many).map((path) => ({ path })), { path: 'onnx/model.onnx' }];
    const error = await webModelStore.resolve(freshId(), manySpecs, { fetch: hub.fetch }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).message).toMatch(/extra\/3\.json answered 500/);
    expect(hub.mostInFlight()).toBeLessThanOrEqual(4);
    // The held downloads were cancelled rather than left running, and the files after the failure never started.
    const held = hub.seen.filter((s) => /extra\/[01]\.json$/.test(s.url));
    expect(held.length).toBe(2);
    expect(held.every((s) => s.signal?.aborted)).toBe(true);
    expect(hub.seen.some((s) => /extra\/1[01]\.json$|model\.onnx$/.test(s.url))).toBe(false);
  });

  it('fetches every file after the first at the commit the first came from', async () => {
    const hub = fakeHub({ ...SMALL, 'onnx/model.onnx': 'g' });
    await webModelStore.resolve(freshId(), [...specs, { path: 'onnx/model.onnx' }], { fetch: hub.fetch });
    const revisions = hub.seen.map((s) => s.url.split('/resolve/')[1]?.split('/')[0]);
    expect(revisions[0]).toBe('main');
    expect(revisions.slice(1)).toEqual(revisions.slice(1).map(() => COMMIT));
  });

  it('fetches a GGUF file only after the small files, so a missing tokenizer fails first', async () => {
    const hub = fakeHub({ 'config.json': '{}', 'model.gguf': 'big' });
    const load = webModelStore.resolve(freshId(), [{ path: 'model.gguf' }, ...specs], { fetch: hub.fetch });
    await expect(load).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(hub.seen.some((s) => s.url.endsWith('model.gguf'))).toBe(false);
  });
});
