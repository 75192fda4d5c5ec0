import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pickEmbeddings, pickReranker } from '../../examples/pick-models.js';
import { CrossEncoder, DEFAULT_EMBEDDING_MODEL, DEFAULT_MODEL } from '../../src/index.js';
import { isolateHubEnv } from '../helpers/hub-env.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { modelDir } from '../helpers/models.js';

// The examples' first run: the best reranker they can reach, against a hub stand-in on 127.0.0.1 that serves the
// tiny model under the default hub ids. Nothing here touches the real hub.

const PAIRS: [string, string][] = [
  ['how do tides work', 'The Moon pulls the oceans into two bulges.'],
  ['how do tides work', 'Bread rises because yeast ferments the dough.'],
];

let hub: HubServer;
let deadEndpoint: string;
let modelsDir: string;

function sink() {
  const lines: string[] = [];
  return { lines, write: (text: string) => lines.push(text), isTTY: false };
}

isolateHubEnv();
beforeAll(async () => {
  hub = await startHubServer({
    root: { [DEFAULT_MODEL]: modelDir('tiny'), [DEFAULT_EMBEDDING_MODEL]: modelDir('tiny') },
  });
  const dead = await startHubServer({ root: {} });
  deadEndpoint = dead.url;
  await dead.close(); // nothing listens there any more: a hub that does not answer
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  hub.reset();
  modelsDir = await mkdtemp(join(tmpdir(), 'lce-models-'));
  vi.stubEnv('LANGCHAIN_CROSS_ENCODER_CACHE', await mkdtemp(join(tmpdir(), 'lce-cache-')));
});

describe('pickReranker', () => {
  it('takes the distilled model in models/ when it is built, without asking the hub', async () => {
    await mkdir(join(modelsDir, 'ce-minilm-l6-ict', 'onnx'), { recursive: true });
    await writeFile(join(modelsDir, 'ce-minilm-l6-ict', 'onnx', 'model.onnx'), '');
    vi.stubEnv('HF_ENDPOINT', hub.url);
    const choice = await pickReranker({ modelsDir });
    expect(choice).toMatchObject({ source: 'local', model: join(modelsDir, 'ce-minilm-l6-ict') });
    expect(choice.line).toBe(`Reranker: ${join(modelsDir, 'ce-minilm-l6-ict')}`);
    expect(hub.requests).toEqual([]);
  });

  it('uses the model named on the command line as given', async () => {
    const choice = await pickReranker({ modelsDir, flag: 'someone/else' });
    expect(choice).toMatchObject({ source: 'flag', model: 'someone/else', line: 'Reranker: someone/else' });
  });

  it('else the hub default when the hub answers: the load downloads it with progress, then it comes from the cache', async () => {
    vi.stubEnv('HF_ENDPOINT', hub.url);
    const progress = sink();
    const choice = await pickReranker({ modelsDir, progress });
    expect(choice.source).toBe('hub');
    expect(choice.model).toBe(DEFAULT_MODEL);
    expect(choice.line).toContain('models/ce-minilm-l6-ict is not built');

    const downloaded = await CrossEncoder.load(DEFAULT_MODEL, { ...choice.hub, worker: false });
    const local = await CrossEncoder.load(modelDir('tiny'), { worker: false });
    expect(await downloaded.score(PAIRS)).toEqual(await local.score(PAIRS));
    await Promise.all([downloaded.dispose(), local.dispose()]);
    const done = progress.lines.find((line) => line.includes('onnx/model.onnx'));
    expect(done).toMatch(
      new RegExp(`^Downloading ${DEFAULT_MODEL} onnx/model\\.onnx: [\\d.]+ (kB|MB) of [\\d.]+ (kB|MB), done\\n$`),
    );

    // The hub gone, the cached copy is still found.
    vi.stubEnv('HF_ENDPOINT', deadEndpoint);
    const again = await pickReranker({ modelsDir });
    expect(again).toMatchObject({ source: 'cache', model: DEFAULT_MODEL });
    expect(again.line).toContain('from the model cache');
  });

  it('else none, with one line naming both ways to get a reranker and why the hub is out', async () => {
    vi.stubEnv('HF_ENDPOINT', deadEndpoint);
    const choice = await pickReranker({ modelsDir });
    expect(choice).toMatchObject({ source: 'none', model: undefined });
    expect(choice.line.split('\n')).toHaveLength(1);
    expect(choice.line).toContain('vector search alone');
    expect(choice.line).toContain('`npm run models`');
    expect(choice.line).toContain(DEFAULT_MODEL);
    expect(choice.line).toContain(`${deadEndpoint} did not answer`);
  });

  it('does not ask the hub when HF_HUB_OFFLINE is set', async () => {
    vi.stubEnv('HF_ENDPOINT', hub.url);
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const choice = await pickReranker({ modelsDir });
    expect(choice.source).toBe('none');
    expect(choice.line).toContain('HF_HUB_OFFLINE is set');
    expect(hub.requests).toEqual([]);
  });
});

describe('pickEmbeddings', () => {
  it('takes models/all-MiniLM-L6-v2 when built, else the hub default, else says there is nothing to search with', async () => {
    vi.stubEnv('HF_ENDPOINT', hub.url);
    expect(await pickEmbeddings({ modelsDir })).toMatchObject({ source: 'hub', model: DEFAULT_EMBEDDING_MODEL });
    vi.stubEnv('HF_ENDPOINT', deadEndpoint);
    const none = await pickEmbeddings({ modelsDir });
    expect(none.source).toBe('none');
    expect(none.line).toContain('nothing to search with');
    await mkdir(join(modelsDir, 'all-MiniLM-L6-v2', 'onnx'), { recursive: true });
    await writeFile(join(modelsDir, 'all-MiniLM-L6-v2', 'onnx', 'model.onnx'), '');
    expect((await pickEmbeddings({ modelsDir })).source).toBe('local');
  });
});
