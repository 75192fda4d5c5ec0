import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CrossEncoder, DownloadError, ModelNotFoundError, OfflineError } from '../src/index.js';
import { startHubServer, type HubServer } from './helpers/hub-server.js';
import { modelDir } from './helpers/models.js';

// The engine's real download path, end to end, against a hub stand-in on 127.0.0.1 serving the tiny model.

const ID = 'project/tiny-reranker';
const PAIRS: [string, string][] = [
  ['capital of france', 'Paris is the capital of France.'],
  ['capital of france', 'Bread is made of flour.'],
];

let hub: HubServer;
let cacheDir: string;
let reference: number[];

beforeAll(async () => {
  hub = await startHubServer({ root: { [ID]: modelDir('tiny') } });
  const local = await CrossEncoder.load(modelDir('tiny'));
  reference = await local.score(PAIRS);
  await local.dispose();
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  hub.reset();
  cacheDir = await mkdtemp(join(tmpdir(), 'lce-cache-'));
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('loading a hub id', () => {
  it('downloads once, then loads from the cache without the network', async () => {
    const first = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url });
    expect(first.info.source).toBe('hub');
    expect(await first.score(PAIRS)).toEqual(reference);
    await first.dispose();
    const fetched = hub.requests.map((r) => r.split('/resolve/main/')[1]);
    expect(fetched).toEqual(expect.arrayContaining(['config.json', 'tokenizer.json', 'onnx/model.onnx']));

    hub.reset();
    const second = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: 'http://127.0.0.1:9', localFilesOnly: true });
    expect(await second.score(PAIRS)).toEqual(reference);
    await second.dispose();
    expect(hub.requests).toEqual([]);
  });

  it('fetches the variant it is asked for', async () => {
    const model = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url, variant: 'int8' });
    await model.dispose();
    expect(hub.requests.some((r) => r.endsWith('/onnx/model_quantized.onnx'))).toBe(true);
    expect(hub.requests.some((r) => r.endsWith('/onnx/model.onnx'))).toBe(false);
  });

  it('honours the revision in the URL', async () => {
    const model = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url, revision: 'v1.0' });
    await model.dispose();
    expect(hub.requests.every((r) => r.includes('/resolve/v1.0/'))).toBe(true);
  });

  it('leaves no partial file after an interrupted transfer, and a later load works', async () => {
    hub.setFault('onnx/model.onnx', { kind: 'cut', afterBytes: 100_000 }, 1);
    await expect(CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url })).rejects.toThrow(DownloadError);
    const files = await listFiles(cacheDir);
    expect(files.some((f) => f.endsWith('model.onnx') || f.includes('.partial'))).toBe(false);

    const model = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url });
    expect(await model.score(PAIRS)).toEqual(reference);
    await model.dispose();
  });

  it('says clearly when offline and the cache is empty', async () => {
    const load = CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url, localFilesOnly: true });
    await expect(load).rejects.toThrow(OfflineError);
    await expect(CrossEncoder.load(ID, { cacheDir, localFilesOnly: true })).rejects.toThrow(/config\.json/);
    expect(hub.requests).toEqual([]);
    expect(existsSync(join(cacheDir, 'project'))).toBe(false);
  });

  it('names the repository when it does not exist', async () => {
    await expect(CrossEncoder.load('project/no-such-model', { cacheDir, hubEndpoint: hub.url })).rejects.toThrow(
      ModelNotFoundError,
    );
  });
});
