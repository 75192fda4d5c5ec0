import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startHubServer, type HubServer } from '../../test/helpers/hub-server.js';
import { AbortError, DownloadError } from '../errors.js';
import { downloadFileWithDigest } from './download.js';

let tmp: string;
let server: HubServer;
const body = Buffer.alloc(64 * 1024, 7);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lce-dl-'));
  await mkdir(path.join(tmp, 'repo', 'o', 'n'), { recursive: true });
  await writeFile(path.join(tmp, 'repo', 'o', 'n', 'w.bin'), body);
  server = await startHubServer({ root: path.join(tmp, 'repo') });
});

afterAll(async () => {
  await server.close();
  await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => server.reset());

const url = () => `${server.url}/o/n/resolve/main/w.bin`;

describe('downloadFileWithDigest', () => {
  it('lets one caller abort a shared transfer without cancelling the others', async () => {
    server.setFault('w.bin', { kind: 'delay', ms: 150 });
    const dest = path.join(tmp, 'shared', 'w.bin');
    const controller = new AbortController();
    const quitter = downloadFileWithDigest(url(), dest, { signal: controller.signal });
    const stayer = downloadFileWithDigest(url(), dest);
    controller.abort();
    await expect(quitter).rejects.toBeInstanceOf(AbortError);
    await expect(stayer).resolves.toMatchObject({ bytes: body.length });
    expect(server.requests).toHaveLength(1);
    expect((await readFile(dest)).equals(body)).toBe(true);
  });

  it('cancels the transfer once every caller has aborted', async () => {
    server.setFault('w.bin', { kind: 'stall', afterBytes: 1000 });
    const dir = path.join(tmp, 'cancelled');
    const controller = new AbortController();
    const a = downloadFileWithDigest(url(), path.join(dir, 'w.bin'), { signal: controller.signal });
    const b = downloadFileWithDigest(url(), path.join(dir, 'w.bin'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(a).rejects.toBeInstanceOf(AbortError);
    await expect(b).rejects.toBeInstanceOf(AbortError);
    // The shared transfer cleans up its temp file shortly after.
    await new Promise((r) => setTimeout(r, 100));
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(
      downloadFileWithDigest(url(), path.join(tmp, 'x', 'w.bin'), { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortError);
    expect(server.requests).toEqual([]);
  });

  it('treats a body shorter than Content-Length as an error even when fetch does not', async () => {
    // A fetch that ends the stream quietly, as some implementations and proxies do.
    const shortFetch: typeof fetch = async () =>
      new Response(new Uint8Array(10), { status: 200, headers: { 'content-length': '100' } });
    const dir = path.join(tmp, 'short');
    const error = await downloadFileWithDigest('http://hub.invalid/o/n/resolve/main/w.bin', path.join(dir, 'w.bin'), {
      fetch: shortFetch,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/10 of 100 bytes/);
    expect(await readdir(dir)).toEqual([]);
  });
});
