import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CrossEncoder,
  DownloadError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
} from '../../src/index.js';
import { isolateHubEnv } from '../helpers/hub-env.js';
import { startHubServer, type HubServer } from '../helpers/hub-server.js';
import { copyModel, modelDir } from '../helpers/models.js';
import { FLOAT, pairGraph } from './helpers/onnx-proto.js';

// The threat model of docs/threat-model.md, end to end through CrossEncoder.load: hub ids, revisions and file paths
// cannot leave the cache folder, downloads are capped, the token goes to the configured hub only, and nothing in a
// model repository is ever run as code.

const ID = 'secure/tiny';
const REMOTE_CODE = 'secure/remote-code';
const TOKEN = 'hf_secret_token_never_to_leak';

let hub: HubServer;
let scratch: string;
let cacheDir: string;
let remoteCodeDir: string;

const online = (extra: Record<string, unknown> = {}) => ({ cacheDir, hubEndpoint: hub.url, ...extra });

/** Every file under `dir`, relative to it. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function refusal(load: Promise<unknown>): Promise<InvalidArgumentError> {
  const error = await load.then(
    async (model) => {
      await (model as CrossEncoder).dispose();
      return new Error('expected a refusal');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidArgumentError);
  return error as InvalidArgumentError;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'lce-security-'));
  // A repository that asks for remote code: a config with auto_map, Python files, a pickle.
  remoteCodeDir = await copyModel('tiny');
  const config = JSON.parse(await readFile(join(remoteCodeDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  config['auto_map'] = { AutoModelForSequenceClassification: 'modeling_evil.EvilModel' };
  config['trust_remote_code'] = true;
  await writeFile(join(remoteCodeDir, 'config.json'), JSON.stringify(config));
  await writeFile(join(remoteCodeDir, 'modeling_evil.py'), 'import os\nos.system("touch /tmp/pwned")\n');
  await writeFile(join(remoteCodeDir, 'tokenization_evil.py'), 'raise SystemExit\n');
  await writeFile(join(remoteCodeDir, 'pytorch_model.bin'), Buffer.from('8003636f730a73797374656d0a', 'hex'));
  hub = await startHubServer({ root: { [ID]: modelDir('tiny'), [REMOTE_CODE]: remoteCodeDir } });
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

describe('hub ids, revisions and file paths stay inside the cache', () => {
  it('refuses ids that could climb out or smuggle a separator, before any request or write', async () => {
    const ids = [
      'org/..',
      'org/../../etc',
      'x/../etc',
      'org%2F..%2F..%2Fetc',
      '..%2F..%2Fetc',
      'org/%2e%2e',
      'org\\..\\..\\etc',
      'org/name/extra',
      '.hidden/model',
      'org/.git',
      '-rf/model',
      'org/name\u0000',
      'org/na\nme',
      'https://evil.example/org/model',
      'org//model',
      'a'.repeat(97),
    ];
    for (const id of ids) {
      const error = await refusal(CrossEncoder.load(id, online()));
      expect(error.parameter, id).toBe('model');
    }
    expect(hub.requests).toEqual([]);
    expect(await files(cacheDir)).toEqual([]);
  });

  it('refuses revisions that could climb out, and keeps legal odd ones inside the cache', async () => {
    const revisions = [
      '..',
      '.',
      '../../../tmp',
      'main/../../..',
      '/etc',
      'a//b',
      'refs%2F..%2F..',
      '.missing',
      '.meta',
      'main\u0000',
      'main\\..',
      ' main',
      'x'.repeat(129),
      '',
    ];
    for (const revision of revisions) {
      const error = await refusal(CrossEncoder.load(ID, online({ revision })));
      expect(error.parameter, revision).toBe('options.revision');
    }
    expect(hub.requests).toEqual([]);
    expect(await files(cacheDir)).toEqual([]);

    // A pull-request ref with slashes is legal: one URL segment, one folder, inside the cache.
    const model = await CrossEncoder.load(ID, online({ revision: 'refs/pr/1' }));
    await model.dispose();
    expect(hub.requests.every((r) => r.includes('/resolve/refs%2Fpr%2F1/'))).toBe(true);
    const written = await files(cacheDir);
    expect(written.length).toBeGreaterThan(0);
    // The snapshot, plus the cache's own bookkeeping beside it (download records, 404 markers).
    for (const file of written) {
      const [owner, name, folder, revision] = file.split(sep);
      expect([owner, name]).toEqual(['secure', 'tiny']);
      if (folder === '.meta' || folder === '.missing') expect(revision).toBe('refs%2Fpr%2F1');
      else expect(folder).toBe('refs%2Fpr%2F1');
    }
  });

  it('refuses onnxFile paths that climb out, for hub ids and local folders alike', async () => {
    const local = await copyModel('tiny');
    // A real ONNX file just outside the folder: reachable by `..`, and must not be reached.
    await mkdir(join(local, '..', 'outside'), { recursive: true });
    await copyFile(join(modelDir('tiny'), 'onnx', 'model.onnx'), join(local, '..', 'outside', 'model.onnx'));
    const paths = [
      '../outside/model.onnx',
      'onnx/../../outside/model.onnx',
      '/etc/model.onnx',
      'C:/models/model.onnx',
      'onnx%2F..%2F..%2Fmodel.onnx',
      'onnx\\..\\..\\model.onnx',
      'onnx//model.onnx',
      './onnx/model.onnx',
      'onnx/\u0000model.onnx',
    ];
    for (const onnxFile of paths) {
      for (const model of [ID, local]) {
        const error = await refusal(CrossEncoder.load(model, online({ onnxFile })));
        expect(error.parameter, `${model} ${onnxFile}`).toBe('options.onnxFile');
      }
    }
    expect(hub.requests).toEqual([]);
    expect(await files(cacheDir)).toEqual([]);
  });

  it('a relative path is a local folder, never a hub id: it is not fetched, and not written to', async () => {
    const error = await CrossEncoder.load('../../no-such-folder', online()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toMatch(/does not exist/);
    expect(hub.requests).toEqual([]);
  });
});

describe('downloads', () => {
  it('are capped by maxDownloadBytes, from Content-Length or mid-stream; nothing is kept', async () => {
    for (const fault of [undefined, { kind: 'chunked' as const }]) {
      hub.setFault('onnx/model.onnx', fault);
      const error = await CrossEncoder.load(ID, online({ maxDownloadBytes: 1_000_000 })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DownloadError);
      expect((error as Error).message).toMatch(/larger than options\.maxDownloadBytes .*> 1000000 bytes/);
      const kept = await files(cacheDir);
      expect(kept.filter((f) => f.endsWith('model.onnx') || f.includes('.partial'))).toEqual([]);
    }
    await expect(CrossEncoder.load(ID, online({ maxDownloadBytes: 0 }))).rejects.toThrow(/maxDownloadBytes/);
    await expect(CrossEncoder.load(ID, online({ maxDownloadBytes: Number.NaN }))).rejects.toThrow(InvalidArgumentError);
  });

  it('send the token to the configured hub only: not across a redirect to another origin, not in errors', async () => {
    const otherOrigin = hub.url.replace('127.0.0.1', 'localhost');
    hub.setFault('onnx/model.onnx', { kind: 'redirect', to: `${otherOrigin}/_lfs/${ID}/resolve/main/onnx/model.onnx` });
    vi.stubEnv('HF_TOKEN', TOKEN);
    const model = await CrossEncoder.load(ID, online());
    await model.dispose();
    const auth = hub.requests.map((path, i) => [path, hub.headers[i]?.authorization] as const);
    const direct = auth.filter(([path]) => !path.startsWith('/_lfs/'));
    const redirected = auth.filter(([path]) => path.startsWith('/_lfs/'));
    expect(direct.length).toBeGreaterThan(0);
    for (const [, header] of direct) expect(header).toBe(`Bearer ${TOKEN}`);
    expect(redirected).toHaveLength(1);
    expect(redirected[0]?.[1]).toBeUndefined();

    // Refused: the error explains, without echoing the token.
    hub.reset();
    hub.setFault('config.json', { kind: 'status', status: 401 });
    const error = await CrossEncoder.load('secure/other', online()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect(JSON.stringify({ message: (error as Error).message, ...(error as object) })).not.toContain(TOKEN);
  });
});

describe('no code from a model repository is ever run', () => {
  it('auto_map, *.py and pickles are ignored: only the fixed list of data files is fetched', async () => {
    const model = await CrossEncoder.load(REMOTE_CODE, online());
    expect(await model.score([['capital of france', 'Paris']])).toHaveLength(1);
    await model.dispose();
    const fetched = hub.requests.map((r) => r.split('/resolve/main/')[1]).sort();
    expect(fetched).toEqual(
      [
        'config.json',
        'config_sentence_transformers.json',
        'modules.json',
        'onnx/model.onnx',
        'onnx/model.onnx_data',
        'tokenizer.json',
        'tokenizer_config.json',
        // Asked for every model, used by rerankers on a language model: a template and two small JSON files.
        'chat_template.jinja',
        'sentence_bert_config.json',
        '1_LogitScore/config.json',
      ].sort(),
    );
    expect((await files(cacheDir)).some((f) => /\.(py|bin|pkl)$/.test(f))).toBe(false);
  });

  it('an ONNX graph calling a custom op is refused: ONNX Runtime loads no op libraries on its own', async () => {
    const dir = await copyModel('tiny');
    await writeFile(
      join(dir, 'onnx', 'model.onnx'),
      pairGraph({
        nodes: [{ op: 'RunShell', domain: 'com.attacker', inputs: ['input_ids'], outputs: ['logits'] }],
        opsets: [
          { domain: '', version: 17 },
          { domain: 'com.attacker', version: 1 },
        ],
      }),
    );
    const error = await CrossEncoder.load(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(/com\.attacker:RunShell.*is not a registered function\/op/);
  });

  it('an ONNX graph reading weights from outside its folder is refused by ONNX Runtime', async () => {
    const dir = await copyModel('tiny');
    await writeFile(join(dir, 'secret.bin'), Buffer.alloc(64, 1));
    for (const location of ['/etc/passwd', '../../../../../../etc/passwd', '../secret.bin']) {
      await writeFile(
        join(dir, 'onnx', 'model.onnx'),
        pairGraph({
          nodes: [{ op: 'Identity', inputs: ['w'], outputs: ['logits'] }],
          initializers: [{ name: 'w', dims: [1, 1], elemType: FLOAT, externalLocation: location, length: 4 }],
        }),
      );
      const error = await CrossEncoder.load(dir).catch((e: unknown) => e);
      expect(error, location).toBeInstanceOf(ModelFormatError);
      expect((error as Error).message).toMatch(/External data path validation failed/);
    }
  });
});
