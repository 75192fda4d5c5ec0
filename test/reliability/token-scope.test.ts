// Where the hub access token goes, on both model stores, watched by local servers that record each request's
// Authorization header: HF_TOKEN only ever reaches the hub endpoint's origin; a model folder on any other host gets a
// token only when the caller passes one for that load.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveModelFiles } from '../../src/hub/resolve.js';
import { webModelStore } from '../../src/hub/web-store.js';
import { isolateHubEnv } from '../helpers/hub-env.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { modelDir } from '../helpers/models.js';

// One repository per use: the browser store keeps what it fetched in memory (Node has no Cache API), so a URL
// fetched once is not requested again.
const IDS = Array.from({ length: 8 }, (_, i) => `scope/tiny-${i}`);
let next = 0;
const freshId = () => IDS[next++] as string;
const SPECS = [{ path: 'config.json' }, { path: 'tokenizer_config.json', optional: true }];
let hub: HubServer;
let thirdParty: HubServer;
let scratch: string;

beforeAll(async () => {
  const root = Object.fromEntries(IDS.map((id) => [id, modelDir('tiny')]));
  hub = await startHubServer({ root });
  thirdParty = await startHubServer({ root });
  scratch = await mkdtemp(join(tmpdir(), 'lce-token-scope-'));
});
afterAll(async () => {
  await hub.close();
  await thirdParty.close();
  await rm(scratch, { recursive: true, force: true });
});
isolateHubEnv();
beforeEach(() => {
  hub.reset();
  thirdParty.reset();
  vi.stubEnv('HF_TOKEN', 'hf_secret');
});

const authorizations = (server: HubServer) => server.headers.map((h) => h.authorization);
/** The third party's model folder, by URL (a different origin from the hub: another port). */
const folder = () => `${thirdParty.url}/${freshId()}/resolve/main/`;

describe('the browser store', () => {
  it('sends HF_TOKEN to the hub endpoint', async () => {
    await webModelStore.resolve(freshId(), SPECS, { hubEndpoint: hub.url });
    expect(authorizations(hub)).toEqual(['Bearer hf_secret', 'Bearer hf_secret']);
  });

  it('never sends HF_TOKEN to a model folder on another host', async () => {
    await webModelStore.resolve(folder(), SPECS, { hubEndpoint: hub.url });
    expect(thirdParty.requests.length).toBe(2);
    expect(authorizations(thirdParty)).toEqual([undefined, undefined]);
    vi.stubEnv('HF_ENDPOINT', hub.url);
    await webModelStore.resolve(folder(), SPECS, {});
    expect(thirdParty.requests.length).toBe(4);
    expect(authorizations(thirdParty).every((a) => a === undefined)).toBe(true);
  });

  it('sends a token passed for the load to the folder it names', async () => {
    await webModelStore.resolve(folder(), SPECS, { token: 'hf_for_this_host' });
    expect(authorizations(thirdParty)).toEqual(['Bearer hf_for_this_host', 'Bearer hf_for_this_host']);
  });

  it('sends HF_TOKEN to a folder URL on the hub endpoint itself', async () => {
    await webModelStore.resolve(`${hub.url}/${freshId()}/resolve/main/`, SPECS, { hubEndpoint: `${hub.url}/` });
    expect(authorizations(hub)).toEqual(['Bearer hf_secret', 'Bearer hf_secret']);
  });
});

describe('the Node store', () => {
  it('sends HF_TOKEN to the hub endpoint, and not on to another host the hub redirects to', async () => {
    const id = freshId();
    hub.setFault('config.json', { kind: 'redirect', to: `${thirdParty.url}/${id}/resolve/main/config.json` });
    const cacheDir = await mkdtemp(join(scratch, 'cache-'));
    const resolved = await resolveModelFiles(id, SPECS, { cacheDir, hubEndpoint: hub.url });
    expect(resolved.downloaded).toEqual(['config.json', 'tokenizer_config.json']);
    expect(authorizations(hub)).toEqual(['Bearer hf_secret', 'Bearer hf_secret']);
    expect(thirdParty.requests).toEqual([`/${id}/resolve/main/config.json`]);
    expect(authorizations(thirdParty)).toEqual([undefined]);
  });
});
