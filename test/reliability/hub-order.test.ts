// The order and the commit of a hub load's downloads: small required files come first, so a missing one fails
// before any large graph is fetched, and every file of a load comes from one commit of a moving branch.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveModelFiles } from '../../src/hub/resolve.js';
import { CrossEncoder, ModelNotFoundError } from '../../src/index.js';
import { isolateHubEnv } from '../helpers/hub-env.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { modelDir } from '../helpers/models.js';

const ID = 'order/tiny';
const COMMIT = 'c0ffee'.padEnd(40, '0');
let hub: HubServer;
let scratch: string;
let cacheDir: string;

beforeAll(async () => {
  hub = await startHubServer({ root: { [ID]: modelDir('tiny') }, commits: { [ID]: COMMIT } });
  scratch = await mkdtemp(join(tmpdir(), 'lce-hub-order-'));
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

const file = (request: string) => request.split('/resolve/')[1]?.split('/').slice(1).join('/');
const revisionOf = (request: string) => request.split('/resolve/')[1]?.split('/')[0];

describe('hub downloads', () => {
  it('a 404 on a small required file fails the load before the ONNX graph is requested', async () => {
    hub.setFault('tokenizer.json', { kind: 'status', status: 404, headers: { 'X-Error-Code': 'EntryNotFound' } });
    await expect(CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url })).rejects.toBeInstanceOf(ModelNotFoundError);
    expect(hub.requests.map(file)).not.toContain('onnx/model.onnx');
  });

  it('fetches the graph last, and every file after the first at the commit the first came from', async () => {
    const model = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url });
    await model.dispose();
    const files = hub.requests.map(file);
    expect(files.at(-1)).toMatch(/^onnx\/model\.onnx(_data)?$/);
    expect(files.indexOf('onnx/model.onnx')).toBeGreaterThan(files.indexOf('tokenizer.json'));
    expect(revisionOf(hub.requests[0] as string)).toBe('main');
    expect(hub.requests.slice(1).map(revisionOf)).toEqual(hub.requests.slice(1).map(() => COMMIT));
  });

  it('a later load that needs a new file fetches it at the commit the cached files came from', async () => {
    const first = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url });
    await first.dispose();
    hub.reset();
    const int8 = await CrossEncoder.load(ID, { cacheDir, hubEndpoint: hub.url, variant: 'int8' });
    await int8.dispose();
    const fetched = hub.requests.filter((r) => file(r) === 'onnx/model_quantized.onnx');
    expect(fetched.map(revisionOf)).toEqual([COMMIT]);
  });

  it('fetches GGUF weights only after the small files, so a missing tokenizer fails before the weights', async () => {
    hub.setFault('tokenizer.json', { kind: 'status', status: 404, headers: { 'X-Error-Code': 'EntryNotFound' } });
    const specs = [{ path: 'config.json' }, { path: 'model.gguf' }, { path: 'tokenizer.json' }];
    await expect(resolveModelFiles(ID, specs, { cacheDir, hubEndpoint: hub.url })).rejects.toBeInstanceOf(
      ModelNotFoundError,
    );
    expect(hub.requests.map(file)).not.toContain('model.gguf');
  });
});
