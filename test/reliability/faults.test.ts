import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortError,
  CacheError,
  CrossEncoder,
  DownloadError,
  ModelFormatError,
  ModelNotFoundError,
  OfflineError,
} from '../../src/index.js';
import { isolateHubEnv } from '../helpers/hub-env.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { copyModel, MODELS_DIR, modelDir } from '../helpers/models.js';

// Faults the existing suites (test/cross-encoder.test.ts, src/hub/*.test.ts, test/hub-download.test.ts) do
// not cover: each gives a typed error naming what is wrong, the cache never keeps a partial or damaged file, and a
// later good load works.

const ID = 'faults/tiny';
const BAD = 'faults/three-labels';
const PAIRS: [string, string][] = [
  ['capital of france', 'Paris is the capital of France.'],
  ['capital of france', 'Bread is made of flour.'],
];
const ONNX = join('onnx', 'model.onnx');

let hub: HubServer;
let reference: number[];
let cacheDir: string;
let scratch: string;

const online = (extra: Record<string, unknown> = {}) => ({ cacheDir, hubEndpoint: hub.url, ...extra });
const offline = () => ({ cacheDir, hubEndpoint: 'http://127.0.0.1:9', localFilesOnly: true });
const snapshot = () => join(cacheDir, 'faults', 'tiny', 'main');

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** No temp file anywhere in the cache, and `absent` (a path under the snapshot) is not there. */
async function expectCleanCache(absent?: string): Promise<void> {
  const all = await files(cacheDir);
  expect(all.filter((f) => f.includes('.partial') || f.endsWith('.tmp'))).toEqual([]);
  if (absent !== undefined) expect(all).not.toContain(join(snapshot(), absent));
}

/** Loads, scores against the reference, disposes: "a later good load works". */
async function expectGoodLoad(options: Record<string, unknown> = online()): Promise<void> {
  const model = await CrossEncoder.load(ID, options);
  expect(await model.score(PAIRS)).toEqual(reference);
  await model.dispose();
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if ('value' in outcome) {
    await (outcome.value as { dispose?: () => Promise<void> }).dispose?.();
    throw new Error('expected the load to fail');
  }
  return outcome.error as Error;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lce-faults-'));
  const threeLabels = await copyModel('tiny');
  await copyFile(join(MODELS_DIR, 'broken', 'three-labels.onnx'), join(threeLabels, ONNX));
  hub = await startHubServer({ root: { [ID]: modelDir('tiny'), [BAD]: threeLabels } });
  const local = await CrossEncoder.load(modelDir('tiny'));
  reference = await local.score(PAIRS);
  await local.dispose();
});
afterAll(async () => {
  await hub.close();
  await rm(scratch, { recursive: true, force: true });
});
isolateHubEnv();
beforeEach(async () => {
  hub.reset();
  cacheDir = await mkdtemp(join(scratch, 'cache-'));
});

describe('broken files in a local model folder', () => {
  it('a truncated .onnx (half of it, and its first kilobyte) → ModelFormatError naming the file', async () => {
    for (const keep of [0.5, 1 / 8000]) {
      const dir = await copyModel('tiny');
      const onnx = join(dir, ONNX);
      await truncate(onnx, Math.floor((await stat(onnx)).size * keep));
      const error = await failure(CrossEncoder.load(dir));
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).file).toBe(onnx);
      expect(error.message).toContain(onnx);
      expect(error.message).toMatch(/truncated or corrupt/);
    }
  });

  it('a missing or malformed config.json → ModelNotFoundError / ModelFormatError naming it', async () => {
    const missing = await copyModel('tiny');
    await rm(join(missing, 'config.json'));
    const notFound = await failure(CrossEncoder.load(missing));
    expect(notFound).toBeInstanceOf(ModelNotFoundError);
    expect(notFound.message).toContain('config.json');

    const cases: [string, RegExp][] = [
      ['{"model_type": "bert", ', /config\.json is not valid JSON/],
      ['', /config\.json is not valid JSON/],
      ['[1, 2]', /config\.json should hold a JSON object/],
      ['{"model_type": "bert", "id2label": "LABEL_0"}', /"id2label" should be an object/],
    ];
    for (const [content, message] of cases) {
      const dir = await copyModel('tiny');
      await writeFile(join(dir, 'config.json'), content);
      const error = await failure(CrossEncoder.load(dir));
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).file).toBe(join(dir, 'config.json'));
      expect(error.message).toMatch(message);
    }
  });

  it('a tokenizer.json that is empty, not an object, or not a tokenizer → ModelFormatError naming it', async () => {
    for (const content of ['', '"tokenizer"', '{}', '{"model": {"type": "Unknown"}}']) {
      const dir = await copyModel('tiny');
      await writeFile(join(dir, 'tokenizer.json'), content);
      const error = await failure(CrossEncoder.load(dir, { worker: false }));
      expect(error, content).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).file).toBe(join(dir, 'tokenizer.json'));
    }
  });

  it('a malformed optional tokenizer_config.json is reported too, not silently ignored', async () => {
    const dir = await copyModel('tiny');
    await writeFile(join(dir, 'tokenizer_config.json'), '{"model_max_length": ');
    const error = await failure(CrossEncoder.load(dir));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(error.message).toContain('tokenizer_config.json');
  });
});

describe('hub faults, end to end through CrossEncoder.load', () => {
  it('500 on one file → DownloadError with the status; nothing of that file is kept; a retry works', async () => {
    hub.setFault('tokenizer.json', { kind: 'status', status: 500 }, 1);
    const error = await failure(CrossEncoder.load(ID, online()));
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).status).toBe(500);
    expect((error as DownloadError).url).toMatch(/\/faults\/tiny\/resolve\/main\/tokenizer\.json$/);
    await expectCleanCache('tokenizer.json');
    await expectGoodLoad();
  });

  it('404 on the ONNX file → ModelNotFoundError naming the file, id and revision', async () => {
    hub.setFault('onnx/model.onnx', { kind: 'status', status: 404 }, 1);
    const error = await failure(CrossEncoder.load(ID, online()));
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect(error.message).toMatch(/onnx\/model\.onnx of faults\/tiny at revision main was not found/);
    await expectCleanCache(ONNX);
    await expectGoodLoad();
  });

  it('a hub that does not answer within downloadTimeoutMs → DownloadError saying so', async () => {
    hub.setFault('onnx/model.onnx', { kind: 'delay', ms: 5_000 }, 1);
    const started = performance.now();
    const error = await failure(CrossEncoder.load(ID, online({ downloadTimeoutMs: 300 })));
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toMatch(/No data from .* for 300 ms/);
    expect(performance.now() - started).toBeLessThan(4_000);
    await expectCleanCache(ONNX);
    await expectGoodLoad();
  });

  it('a body cut off without Content-Length (chunked) → DownloadError; no partial file', async () => {
    hub.setFault('onnx/model.onnx', { kind: 'cut', afterBytes: 200_000, chunked: true }, 1);
    const error = await failure(CrossEncoder.load(ID, online()));
    expect(error).toBeInstanceOf(DownloadError);
    expect(error.message).toMatch(/Network error downloading .*after \d+ bytes/);
    await expectCleanCache(ONNX);
    await expectGoodLoad();
  });

  it('an abort while downloading → AbortError; no partial file', async () => {
    hub.setFault('onnx/model.onnx', { kind: 'stall', afterBytes: 100_000 }, 1);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await failure(CrossEncoder.load(ID, online({ signal: controller.signal })));
    expect(error).toBeInstanceOf(AbortError);
    await expectCleanCache(ONNX);
    await expectGoodLoad();
  });

  it('a model whose graph is not a reranker: typed error, and the cached copy is not blamed', async () => {
    const first = await failure(CrossEncoder.load(BAD, online()));
    expect(first).toBeInstanceOf(ModelFormatError);
    expect(first.message).toMatch(/3 logits/);
    hub.reset();
    const again = await failure(CrossEncoder.load(BAD, online()));
    expect(again.message).toMatch(/3 logits.*exactly what the hub served/s);
    expect(hub.requests).toEqual([]); // verified against the download record, not downloaded again
  });
});

describe('a damaged file already in the cache', () => {
  async function fill(): Promise<void> {
    await expectGoodLoad();
    hub.reset();
  }

  it('a truncated cached .onnx is caught by its size, removed and downloaded again', async () => {
    await fill();
    await truncate(join(snapshot(), ONNX), 5_000);
    await expectGoodLoad();
    expect(hub.requests.map((r) => r.split('/resolve/main/')[1])).toEqual(['onnx/model.onnx']);
  });

  it('offline, the same damage is a ModelFormatError naming the file and the way out', async () => {
    await fill();
    await truncate(join(snapshot(), ONNX), 5_000);
    const error = await failure(CrossEncoder.load(ID, offline()));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as ModelFormatError).file).toBe(join(snapshot(), ONNX));
    expect(error.message).toMatch(/is damaged .* has been removed\. Go online once/);
    await expectCleanCache(ONNX);
    await expectGoodLoad(); // online again: downloaded afresh
  });

  it('same-size corruption (a JSON file, then the graph) is caught by SHA-256 once parsing fails, and healed', async () => {
    await fill();
    const tokenizer = join(snapshot(), 'tokenizer.json');
    const size = (await stat(tokenizer)).size;
    await writeFile(tokenizer, `{${'x'.repeat(size - 1)}`);
    await expectGoodLoad();
    expect(hub.requests.map((r) => r.split('/resolve/main/')[1])).toEqual(['tokenizer.json']);

    hub.reset();
    const onnx = join(snapshot(), ONNX);
    const bytes = await readFile(onnx);
    bytes.fill(0xff, 0, 4096);
    await writeFile(onnx, bytes);
    await expectGoodLoad();
    expect(hub.requests.map((r) => r.split('/resolve/main/')[1])).toEqual(['onnx/model.onnx']);
  });

  it('a corrupt file with no download record (an older cache) is replaced online, named offline', async () => {
    await fill();
    const config = join(snapshot(), 'config.json');
    await rm(join(cacheDir, 'faults', 'tiny', '.meta'), { recursive: true });
    await writeFile(config, '{"model_type": ');

    const error = await failure(CrossEncoder.load(ID, offline()));
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as ModelFormatError).file).toBe(config);
    expect(error.message).toMatch(/could not be checked offline: delete .*config\.json and load once online/);

    await expectGoodLoad();
    expect(hub.requests.map((r) => r.split('/resolve/main/')[1])).toEqual(['config.json']);
  });

  it('a temp file left by a crashed download is swept once stale; a fresh one (a live writer) is left', async () => {
    const dir = join(snapshot(), 'onnx');
    await mkdir(dir, { recursive: true });
    const stale = join(dir, 'model.onnx.0123456789ab.partial');
    const live = join(dir, 'model.onnx.ba9876543210.partial');
    await writeFile(stale, 'left by a crash');
    await writeFile(live, 'being written');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(stale, hourAgo, hourAgo);
    await expectGoodLoad();
    const left = await readdir(dir);
    expect(left).not.toContain('model.onnx.0123456789ab.partial');
    expect(left).toContain('model.onnx.ba9876543210.partial');
  });
});

describe('a cache that cannot be written', () => {
  it('a file where a cache folder should be → CacheError naming the folder; a good cache then works', async () => {
    await writeFile(join(cacheDir, 'faults'), 'not a folder');
    const error = await failure(CrossEncoder.load(ID, online()));
    expect(error).toBeInstanceOf(CacheError);
    expect(error.message).toContain(join(cacheDir, 'faults'));
    expect(error.message).toMatch(/options\.cacheDir or the LANGCHAIN_CROSS_ENCODER_CACHE env var/);

    // Half-way: the small files land, the onnx/ folder is blocked; nothing partial stays.
    await rm(join(cacheDir, 'faults'));
    await mkdir(snapshot(), { recursive: true });
    await writeFile(join(snapshot(), 'onnx'), 'not a folder');
    expect(await failure(CrossEncoder.load(ID, online()))).toBeInstanceOf(CacheError);
    await expectCleanCache(ONNX);
    await rm(join(snapshot(), 'onnx'));
    await expectGoodLoad();
  });

  it('a read-only cache (immutable, so even root cannot write) → CacheError; filled, it still loads', async (ctx) => {
    const chattr = (flag: string, target: string) => execFileSync('chattr', [flag, target], { stdio: 'ignore' });
    try {
      chattr('+i', cacheDir);
    } catch {
      ctx.skip(); // no chattr, or a filesystem without the immutable flag
    }
    try {
      const error = await failure(CrossEncoder.load(ID, online()));
      expect(error).toBeInstanceOf(CacheError);
      expect(error.message).toMatch(/Cannot write to the model cache folder .*\((EPERM|EACCES)\)/);
      expect(await files(cacheDir)).toEqual([]);
    } finally {
      chattr('-i', cacheDir);
    }

    // A read-only cache that already holds the model serves it, offline and online alike.
    await expectGoodLoad();
    const revision = snapshot();
    const folders = [revision, join(revision, 'onnx'), join(cacheDir, 'faults', 'tiny')];
    for (const folder of folders) chattr('+i', folder);
    try {
      hub.reset();
      await expectGoodLoad(offline());
      await expectGoodLoad();
      expect(hub.requests.filter((r) => !r.endsWith('.json'))).toEqual([]); // only optional files it never had
    } finally {
      for (const folder of folders) chattr('-i', folder);
    }
  });
});
