// A stand-in for the Hugging Face hub's `resolve` endpoint, for tests that must
// not touch the network. It serves real files from local folders and can be
// told to misbehave per file: errors, slowness, cut-off bodies, redirects.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export type HubFault =
  /** Answer with this status and a short text body. */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Wait before sending headers and body. */
  | { kind: 'delay'; ms: number }
  /** Send `afterBytes` bytes, then pause for `ms` (forever when omitted) before the rest. */
  | { kind: 'stall'; afterBytes: number; ms?: number }
  /** Send the body in `chunkBytes` pieces, one every `intervalMs`: slow but never idle for long. */
  | { kind: 'drip'; chunkBytes: number; intervalMs: number }
  /** Declare the full Content-Length (or, with `chunked`, none), send `afterBytes` bytes, then destroy the socket. */
  | { kind: 'cut'; afterBytes: number; chunked?: boolean }
  /** Send the file chunked, with no Content-Length. */
  | { kind: 'chunked' }
  /** Redirect (302 by default) to `to`, or to the file's copy under `/_lfs/`, the way the hub sends LFS files to its CDN. */
  | { kind: 'redirect'; to?: string; status?: number };

export interface HubServerOptions {
  /** A folder laid out as `<owner>/<name>/<files>`, or a map of hub id → model folder. A key `id@revision` serves only that revision and wins over a plain `id`. */
  root: string | Record<string, string>;
  /** Hub id → the commit sent as `X-Repo-Commit` with each file served directly (as the hub does). */
  commits?: Record<string, string>;
}

export interface HubServer {
  /** Base URL, usable as `hubEndpoint`. */
  url: string;
  /** Request paths in arrival order (URL-encoded, as sent). */
  requests: string[];
  /** Request headers, parallel to `requests`. */
  headers: IncomingHttpHeaders[];
  /** Sets (or with `undefined` clears) the fault for a repo file path such as `onnx/model.onnx`, or for a full request path starting with `/`. `times` limits how many requests it hits. */
  setFault(file: string, fault: HubFault | undefined, times?: number): void;
  /** Forgets recorded requests and faults. */
  reset(): void;
  close(): Promise<void>;
}

const LFS_PREFIX = '/_lfs';

export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const faults = new Map<string, { fault: HubFault; times: number }>();
  const requests: string[] = [];
  const headers: IncomingHttpHeaders[] = [];
  const pending = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => (pending.delete(t), resolve()), ms);
      pending.add(t);
    });

  const folderFor = (id: string, revision: string): string | undefined => {
    if (typeof options.root === 'string') return path.join(options.root, ...id.split('/'));
    return options.root[`${id}@${revision}`] ?? options.root[id];
  };

  // `/<owner>/<name>/resolve/<revision>/<path>` or `/<name>/resolve/...`; revision is one encoded segment.
  const parse = (urlPath: string) => {
    const parts = urlPath.split('/').slice(1);
    const at = parts.indexOf('resolve');
    if (at < 1 || at > 2 || parts.length < at + 3) return undefined;
    try {
      const id = parts.slice(0, at).map(decodeURIComponent).join('/');
      const revision = decodeURIComponent(parts[at + 1]!);
      const file = parts
        .slice(at + 2)
        .map(decodeURIComponent)
        .join('/');
      return { id, revision, file };
    } catch {
      return undefined;
    }
  };

  const takeFault = (urlPath: string, file: string): HubFault | undefined => {
    for (const key of [urlPath, file]) {
      const entry = faults.get(key);
      if (entry === undefined) continue;
      if (--entry.times <= 0) faults.delete(key);
      return entry.fault;
    }
    return undefined;
  };

  const text = (res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };

  const server = createServer(async (req, res) => {
    const rawPath = (req.url ?? '/').split('?')[0]!;
    requests.push(rawPath);
    headers.push(req.headers);
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed');

    const viaLfs = rawPath.startsWith(LFS_PREFIX + '/');
    const target = parse(viaLfs ? rawPath.slice(LFS_PREFIX.length) : rawPath);
    if (target === undefined) return text(res, 404, 'not found', { 'X-Error-Code': 'RepoNotFound' });
    const fault = viaLfs ? undefined : takeFault(rawPath, target.file);

    if (fault?.kind === 'status') return text(res, fault.status, `fault ${fault.status}`, fault.headers);
    if (fault?.kind === 'redirect') {
      res.writeHead(fault.status ?? 302, { Location: fault.to ?? LFS_PREFIX + rawPath, 'Content-Length': 0 });
      return res.end();
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);

    const folder = folderFor(target.id, target.revision);
    const base = folder === undefined ? undefined : path.resolve(folder);
    const full = base === undefined ? undefined : path.resolve(base, ...target.file.split('/'));
    const info =
      full !== undefined && full.startsWith(base + path.sep) ? await stat(full).catch(() => undefined) : undefined;
    if (full === undefined || !info?.isFile()) {
      return text(res, 404, 'Entry not found', {
        'X-Error-Code': folder === undefined ? 'RepoNotFound' : 'EntryNotFound',
      });
    }

    const size = info.size;
    const commit = viaLfs ? undefined : options.commits?.[target.id];
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      ...(commit === undefined ? {} : { 'X-Repo-Commit': commit }),
      ...(fault?.kind === 'chunked' || (fault?.kind === 'cut' && fault.chunked) ? {} : { 'Content-Length': size }),
    });
    if (req.method === 'HEAD') return res.end();
    res.flushHeaders();
    if (fault?.kind === 'cut' || fault?.kind === 'stall') {
      const head = await readBytes(full, 0, fault.afterBytes);
      res.write(head);
      if (fault.kind === 'cut') {
        // Let the partial bytes leave before the socket goes.
        await sleep(20);
        return res.destroy();
      }
      if (fault.ms === undefined) return; // never finishes; close() destroys it
      await sleep(fault.ms);
      if (res.destroyed) return;
      createReadStream(full, { start: fault.afterBytes }).pipe(res);
      return;
    }
    if (fault?.kind === 'drip') {
      for (let start = 0; start < size && !res.destroyed; start += fault.chunkBytes) {
        if (start > 0) await sleep(fault.intervalMs);
        res.write(await readBytes(full, start, Math.min(fault.chunkBytes, size - start)));
      }
      return res.end();
    }
    createReadStream(full).pipe(res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    headers,
    setFault(file, fault, times = Infinity) {
      if (fault === undefined) faults.delete(file);
      else faults.set(file, { fault, times });
    },
    reset() {
      requests.length = 0;
      headers.length = 0;
      faults.clear();
    },
    close() {
      for (const t of pending) clearTimeout(t);
      pending.clear();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBytes(file: string, start: number, count: number): Promise<Buffer> {
  if (count <= 0) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start, end: start + count - 1 })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
