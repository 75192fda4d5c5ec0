import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { startHubServer, type HubServer } from '../../test/helpers/hub-server.js';
import {
  AbortError,
  CacheError,
  DownloadError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  OfflineError,
} from '../errors.js';
import { downloadRecordPath } from './cache-paths.js';
import { inspectFailedCacheFile, resolveModelFiles, type HubOptions, type ModelFileSpec } from './resolve.js';

const ID = 'tiny-org/tiny-ranker';
const BIG = 'onnx/model.onnx';
const SPECS: ModelFileSpec[] = [
  { path: 'config.json' },
  { path: 'tokenizer.json' },
  { path: BIG },
  { path: 'special_tokens_map.json', optional: true }, // served
  { path: 'tokenizer_config.json', optional: true }, // not served: the hub answers 404
];
const PRESENT = ['config.json', 'tokenizer.json', BIG, 'special_tokens_map.json'];

let tmp: string;
let modelDir: string;
let modelV2Dir: string;
let server: HubServer;
let cacheDir: string;
const bigBytes = randomBytes(256 * 1024);

async function writeModel(dir: string, tag: string, onnx: Buffer): Promise<void> {
  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'bert', tag }));
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', tag }));
  await writeFile(path.join(dir, 'special_tokens_map.json'), '{}');
  await writeFile(path.join(dir, BIG), onnx);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const load = (options: HubOptions = {}, specs = SPECS) =>
  resolveModelFiles(ID, specs, { cacheDir, hubEndpoint: server.url, ...options });

const requestsFor = (file: string) => server.requests.filter((r) => r.endsWith('/' + file));

async function expectCleanCache(file = BIG): Promise<void> {
  const files = await listFiles(cacheDir);
  expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
  expect(files.some((f) => f.endsWith(file))).toBe(false);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lce-hub-'));
  modelDir = path.join(tmp, 'served', 'main');
  modelV2Dir = path.join(tmp, 'served', 'v2');
  await writeModel(modelDir, 'main', bigBytes);
  await writeModel(modelV2Dir, 'v2', randomBytes(1024));
  server = await startHubServer({ root: { [ID]: modelDir, [`${ID}@v2`]: modelV2Dir } });
});

afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(async () => {
  server.reset();
  cacheDir = await mkdtemp(path.join(tmp, 'cache-'));
  // The suite must not depend on the developer's environment.
  for (const name of ['HF_HUB_OFFLINE', 'HF_TOKEN', 'HF_ENDPOINT', 'LANGCHAIN_CROSS_ENCODER_CACHE'])
    vi.stubEnv(name, '');
});

afterEach(() => vi.unstubAllEnvs());

describe('hub downloads', () => {
  it('downloads every file on first load, then serves them from the cache with no request', async () => {
    const first = await load();
    expect(first.source).toBe('hub');
    expect(first.id).toBe(ID);
    expect(first.revision).toBe('main');
    expect(first.root).toBe(path.join(cacheDir, 'tiny-org', 'tiny-ranker', 'main'));
    expect(first.downloaded).toEqual(PRESENT);
    expect(first.files.get('tokenizer_config.json')).toBeUndefined();
    expect((await readFile(first.files.get(BIG)!)).equals(bigBytes)).toBe(true);
    expect(await readFile(first.files.get('config.json')!, 'utf8')).toContain('"main"');
    expect(server.requests).toHaveLength(SPECS.length);

    server.reset();
    const second = await load();
    expect(server.requests).toEqual([]);
    expect(second.downloaded).toEqual([]);
    expect([...second.files]).toEqual([...first.files]);

    const offline = await load({ localFilesOnly: true, hubEndpoint: 'http://127.0.0.1:1' });
    expect([...offline.files]).toEqual([...first.files]);
    expect(server.requests).toEqual([]);
    expect((await listFiles(cacheDir)).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('follows redirects, as the hub does for LFS files', async () => {
    server.setFault(BIG, { kind: 'redirect' });
    const result = await load();
    expect((await readFile(result.files.get(BIG)!)).equals(bigBytes)).toBe(true);
    expect(server.requests.some((r) => r.startsWith('/_lfs/'))).toBe(true);
  });

  it('puts the revision in the URL and keeps revisions apart in the cache', async () => {
    const main = await load();
    const v2 = await load({ revision: 'v2' });
    expect(v2.root).toBe(path.join(cacheDir, 'tiny-org', 'tiny-ranker', 'v2'));
    expect(v2.downloaded).toEqual(PRESENT);
    expect(requestsFor('config.json')).toEqual([`/${ID}/resolve/main/config.json`, `/${ID}/resolve/v2/config.json`]);
    expect(await readFile(v2.files.get('config.json')!, 'utf8')).toContain('"v2"');
    expect(await readFile(main.files.get('config.json')!, 'utf8')).toContain('"main"');

    server.reset();
    const pr = await load({ revision: 'refs/pr/1' }, [{ path: 'config.json' }]);
    expect(server.requests).toEqual([`/${ID}/resolve/refs%2Fpr%2F1/config.json`]);
    expect(pr.root).toBe(path.join(cacheDir, 'tiny-org', 'tiny-ranker', 'refs%2Fpr%2F1'));
  });

  it('sends the token from options or HF_TOKEN as a bearer header', async () => {
    await load({ token: 'opt-token' }, [{ path: 'config.json' }]);
    expect(server.headers[0]?.authorization).toBe('Bearer opt-token');

    vi.stubEnv('HF_TOKEN', 'env-token');
    await load({ revision: 'v2' }, [{ path: 'config.json' }]);
    expect(server.headers[1]?.authorization).toBe('Bearer env-token');

    vi.stubEnv('HF_TOKEN', '');
    await load({ revision: 'other' }, [{ path: 'config.json' }]);
    expect(server.headers[2]?.authorization).toBeUndefined();
  });

  it('shares one request between concurrent loads of the same file', async () => {
    server.setFault(BIG, { kind: 'delay', ms: 150 });
    const [a, b] = await Promise.all([load(), load()]);
    expect(requestsFor(BIG)).toHaveLength(1);
    expect(a.files.get(BIG)).toBe(b.files.get(BIG));
    expect(a.downloaded).toContain(BIG);
    expect((await readFile(a.files.get(BIG)!)).equals(bigBytes)).toBe(true);
  });
});

describe('download records and damaged cache files', () => {
  const recordOf = async (file: string) =>
    JSON.parse(await readFile(downloadRecordPath(cacheDir, ID, 'main', file), 'utf8')) as Record<string, unknown>;

  it('records the size, SHA-256 and URL of every download beside the snapshot', async () => {
    await load();
    expect(await recordOf(BIG)).toEqual({
      size: bigBytes.length,
      sha256: createHash('sha256').update(bigBytes).digest('hex'),
      url: `${server.url}/${ID}/resolve/main/${BIG}`,
    });
    expect(await listFiles(path.join(cacheDir, 'tiny-org', 'tiny-ranker', 'main'))).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/\.json\.json$|\.tmp$/)]),
    );
  });

  it('a cached file whose size no longer matches is downloaded again; offline it is a ModelFormatError', async () => {
    const first = await load();
    await writeFile(first.files.get(BIG)!, 'short');
    server.reset();
    const healed = await load();
    expect(healed.downloaded).toEqual([BIG]);
    expect((await readFile(healed.files.get(BIG)!)).equals(bigBytes)).toBe(true);

    await writeFile(first.files.get(BIG)!, 'short');
    const error = (await load({ localFilesOnly: true }).catch((e: unknown) => e)) as ModelFormatError;
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(error.file).toBe(first.files.get(BIG));
    expect(error.message).toMatch(/damaged.*removed.*Go online/s);
    await expectCleanCache();
  });

  it('inspectFailedCacheFile: as served, damaged (removed), unverifiable offline, or not from the cache', async () => {
    const fresh = await load();
    const big = fresh.files.get(BIG)!;
    expect(await inspectFailedCacheFile(fresh, big)).toBe('not-cached'); // downloaded by that very call
    const cached = await load();
    expect(await inspectFailedCacheFile(cached, big)).toBe('as-served');
    expect(await inspectFailedCacheFile(cached, '/elsewhere/model.onnx')).toBe('not-cached');

    const flipped = Buffer.from(bigBytes);
    flipped[0] = (flipped[0]! + 1) % 256;
    await writeFile(big, flipped);
    expect(await inspectFailedCacheFile(cached, big)).toBe('removed');
    await expectCleanCache();

    await load(); // downloads it again
    const again = await load();
    await rm(downloadRecordPath(cacheDir, ID, 'main', BIG));
    expect(await inspectFailedCacheFile(again, big, { localFilesOnly: true })).toBe('unverified');
    expect((await readFile(big)).equals(bigBytes)).toBe(true);
    expect(await inspectFailedCacheFile(again, big)).toBe('removed');
  });
});

describe('interrupted transfers leave no file behind and a later load works', () => {
  it('a body cut off before Content-Length', async () => {
    server.setFault(BIG, { kind: 'cut', afterBytes: 10_000 }, 1);
    const error = await load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).url).toContain(BIG);
    await expectCleanCache();
    expect((await load()).downloaded).toEqual([BIG]);
  });

  it('an abort mid-stream', async () => {
    server.setFault(BIG, { kind: 'stall', afterBytes: 10_000 }, 1);
    const controller = new AbortController();
    const pending = load({ signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await expectCleanCache();
    expect((await load()).downloaded).toEqual([BIG]);
  });

  it('a stall longer than downloadTimeoutMs', async () => {
    server.setFault(BIG, { kind: 'stall', afterBytes: 10_000 }, 1);
    const error = await load({ downloadTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/No data .* 200 ms/);
    await expectCleanCache();
    expect((await load()).downloaded).toEqual([BIG]);
  });

  it('the idle timeout restarts with every chunk, so a slow but steady server is fine', async () => {
    // About 500 ms in all, but never more than 100 ms without data.
    server.setFault(BIG, { kind: 'drip', chunkBytes: 48 * 1024, intervalMs: 100 });
    const result = await load({ downloadTimeoutMs: 400 });
    expect((await readFile(result.files.get(BIG)!)).equals(bigBytes)).toBe(true);
  });
});

describe('errors', () => {
  it('offline with an empty cache → OfflineError naming the files, the cache and the ways out', async () => {
    const error = (await load({ localFilesOnly: true }).catch((e: unknown) => e)) as OfflineError;
    expect(error).toBeInstanceOf(OfflineError);
    expect(error.message).toContain('config.json');
    expect(error.message).toContain(BIG);
    expect(error.message).toContain(cacheDir);
    expect(error.message).toMatch(/online/);
    expect(error.message).toMatch(/local model folder/);
    expect(server.requests).toEqual([]);

    vi.stubEnv('HF_HUB_OFFLINE', '1');
    await expect(load()).rejects.toBeInstanceOf(OfflineError);
    expect(server.requests).toEqual([]);
  });

  it('404 on a required file → ModelNotFoundError naming id, revision and file', async () => {
    server.setFault('tokenizer.json', { kind: 'status', status: 404 });
    const error = (await load().catch((e: unknown) => e)) as ModelNotFoundError;
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toContain('tokenizer.json');
    expect(error.message).toContain(ID);
    expect(error.message).toContain('main');
    expect(error.message).toMatch(/local model folder/);
  });

  it('404 on an optional file is recorded as missing and not asked again', async () => {
    const first = await load();
    expect(first.files.has('tokenizer_config.json')).toBe(true);
    expect(first.files.get('tokenizer_config.json')).toBeUndefined();
    expect(requestsFor('tokenizer_config.json')).toHaveLength(1);
    expect(await listFiles(path.join(cacheDir, 'tiny-org', 'tiny-ranker', '.missing'))).toEqual([
      path.join('main', 'tokenizer_config.json'),
    ]);
    server.reset();
    await load();
    expect(server.requests).toEqual([]);
    // The same file, now required, is asked for again rather than trusted to the marker.
    await expect(load({}, [{ path: 'tokenizer_config.json' }])).rejects.toBeInstanceOf(ModelNotFoundError);
  });

  it('500 → DownloadError with the status and URL', async () => {
    server.setFault('config.json', { kind: 'status', status: 500 });
    const error = (await load().catch((e: unknown) => e)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.status).toBe(500);
    expect(error.url).toBe(`${server.url}/${ID}/resolve/main/config.json`);
    expect(error.message).toMatch(/500/);
    expect(error.message).toMatch(/[Rr]etry|offline/);
  });

  it('401 → DownloadError pointing at HF_TOKEN', async () => {
    server.setFault('config.json', { kind: 'status', status: 401 });
    const error = (await load().catch((e: unknown) => e)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.status).toBe(401);
    expect(error.message).toContain('HF_TOKEN');
  });

  it('a network failure → DownloadError', async () => {
    const error = await load({ hubEndpoint: 'http://127.0.0.1:1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/offline|local model folder/);
  });

  it('enforces maxDownloadBytes from Content-Length and while streaming', async () => {
    const error = (await load({ maxDownloadBytes: 100_000 }).catch((e: unknown) => e)) as DownloadError;
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toMatch(/maxDownloadBytes/);
    await expectCleanCache();

    server.setFault(BIG, { kind: 'chunked' });
    await expect(load({ maxDownloadBytes: 100_000 })).rejects.toThrow(/maxDownloadBytes/);
    await expectCleanCache();
    expect((await load()).downloaded).toEqual([BIG]);
  });

  it('a cache dir that cannot be created → CacheError naming the folder and the setting', async () => {
    const blocker = path.join(cacheDir, 'a-file');
    await writeFile(blocker, 'not a folder');
    const error = (await load({ cacheDir: path.join(blocker, 'cache') }).catch((e: unknown) => e)) as CacheError;
    expect(error).toBeInstanceOf(CacheError);
    expect(error.message).toContain(blocker);
    expect(error.message).toMatch(/cacheDir.*LANGCHAIN_CROSS_ENCODER_CACHE/);
  });

  it('a read-only cache dir → CacheError', async (ctx) => {
    await chmod(cacheDir, 0o555);
    try {
      const writable = await writeFile(path.join(cacheDir, 'probe'), '').then(
        () => true,
        () => false,
      );
      if (writable) ctx.skip(); // root ignores permission bits
      const error = await load().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CacheError);
      expect((error as Error).message).toContain(cacheDir);
    } finally {
      await chmod(cacheDir, 0o755);
    }
  });

  it('rejects invalid ids and revisions before any request', async () => {
    await expect(resolveModelFiles('a/b/c', SPECS, { cacheDir })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(load({ revision: '../x' })).rejects.toThrow(/options\.revision/);
    await expect(load({}, [{ path: '../escape' }])).rejects.toThrow(/files\[0\]\.path/);
    await expect(load({ maxDownloadBytes: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(server.requests).toEqual([]);
  });
});

describe('local folders', () => {
  it('uses an absolute path as is, without the network', async () => {
    const result = await resolveModelFiles(modelDir, SPECS, { hubEndpoint: 'http://127.0.0.1:1' });
    expect(result.source).toBe('local');
    expect(result.root).toBe(modelDir);
    expect(result.downloaded).toEqual([]);
    expect(result.files.get(BIG)).toBe(path.join(modelDir, 'onnx', 'model.onnx'));
    expect(result.files.get('tokenizer_config.json')).toBeUndefined();
  });

  it('treats ./ paths and existing folders as local', async () => {
    const cwd = process.cwd();
    process.chdir(path.dirname(modelDir));
    try {
      expect((await resolveModelFiles('./main', SPECS)).root).toBe(modelDir);
      expect((await resolveModelFiles('main', SPECS)).source).toBe('local');
    } finally {
      process.chdir(cwd);
    }
  });

  it('explains a missing folder or a missing required file', async () => {
    await expect(resolveModelFiles(path.join(tmp, 'nope'), SPECS)).rejects.toThrow(/does not exist/);
    const error = (await resolveModelFiles(modelDir, [...SPECS, { path: 'onnx/model_quantized.onnx' }]).catch(
      (e: unknown) => e,
    )) as ModelNotFoundError;
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toContain('onnx/model_quantized.onnx');
    expect(error.message).toMatch(/[Ee]xport/);
  });
});
