import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  abortError,
  type AbortError,
  CacheError,
  CrossEncoderError,
  DownloadError,
  InvalidArgumentError,
  ModelNotFoundError,
} from '../errors.js';
import { CACHE_ENV } from './cache-dir.js';
import { validateDownloadOptions, type DownloadOptions } from './download-options.js';

export { validateDownloadOptions, type DownloadOptions } from './download-options.js';

const DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;
const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60_000;
/** A temp file untouched this long (or twice the idle timeout, if longer) belongs to a transfer that died. */
const STALE_PARTIAL_MS = 10 * 60_000;

/** What a URL stands for, so errors can name the model rather than just the URL. */
export interface DownloadContext {
  id: string;
  revision: string;
  file: string;
}

const OFFLINE_HINT =
  'Retry later, or work offline: fill the cache once and set HF_HUB_OFFLINE=1, or pass a local model folder.';

/** What a finished download wrote. */
export interface Downloaded {
  bytes: number;
  /** SHA-256 of the bytes written, hex. */
  sha256: string;
  /** The commit the hub says it served (its `X-Repo-Commit` header), when it says. */
  commit?: string;
}

interface Flight {
  promise: Promise<Downloaded>;
  controller: AbortController;
  waiters: number;
}

// One transfer per destination: parallel loads of the same model must not race
// two writers for one file, nor download it twice.
const flights = new Map<string, Flight>();

/**
 * Downloads `url` to `dest` atomically (temp file + fsync + rename) and resolves
 * with the byte count and the SHA-256 of what was written. Callers asking for the same `dest` while a transfer is
 * running share it; the first caller's options apply, and it is cancelled only
 * once every caller has aborted.
 */
export function downloadFileWithDigest(
  url: string,
  dest: string,
  options: DownloadOptions = {},
  context?: DownloadContext,
): Promise<Downloaded> {
  validateDownloadOptions(options);
  if (options.signal?.aborted) return Promise.reject(downloadAborted(url, options.signal));
  const key = path.resolve(dest);
  let flight = flights.get(key);
  if (flight === undefined) {
    const controller = new AbortController();
    const promise = transfer(url, key, { ...options, signal: controller.signal }, context).finally(() =>
      flights.delete(key),
    );
    promise.catch(() => {}); // callers that left early must not turn its failure into an unhandled rejection
    flight = { promise, controller, waiters: 0 };
    flights.set(key, flight);
  }
  return join(flight, url, options.signal);
}

function join(flight: Flight, url: string, signal: AbortSignal | undefined): Promise<Downloaded> {
  flight.waiters++;
  return new Promise((resolve, reject) => {
    let left = false;
    const leave = () => {
      if (left) return false;
      left = true;
      signal?.removeEventListener('abort', onAbort);
      flight.waiters--;
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (flight.waiters === 0) flight.controller.abort();
      reject(downloadAborted(url, signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    flight.promise.then(
      (done) => leave() && resolve(done),
      (error: unknown) => leave() && reject(error),
    );
  });
}

async function transfer(
  url: string,
  dest: string,
  options: DownloadOptions,
  context?: DownloadContext,
): Promise<Downloaded> {
  const max = options.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  const idleMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const dir = path.dirname(dest);
  const tmp = `${dest}.${randomBytes(6).toString('hex')}.partial`;

  // One controller for both the caller's signal and the idle timer, so either stops fetch and body alike.
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, idleMs);
  };
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let response: Response | undefined;
  let handle: FileHandle | undefined;
  try {
    await cacheStep(dir, () => mkdir(dir, { recursive: true }));
    await sweepStalePartials(dest, idleMs);
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity' }; // keeps Content-Length comparable to the bytes read
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    rearm();
    try {
      response = await fetchImpl(url, { headers, signal: controller.signal, redirect: 'follow' });
    } catch (error) {
      throw networkError(url, error);
    }
    if (!response.ok) throw statusError(url, response, context, Boolean(options.token));

    const declared = declaredLength(response);
    if (declared !== undefined && declared > max) throw tooLarge(url, declared, max);
    handle = await cacheStep(dir, () => open(tmp, 'wx'));

    let received = 0;
    const hash = createHash('sha256');
    const reader = response.body?.getReader();
    for (;;) {
      let chunk;
      try {
        chunk = await reader?.read();
      } catch (error) {
        throw networkError(url, error, received, declared);
      }
      if (chunk === undefined || chunk.done) break;
      rearm();
      received += chunk.value.byteLength;
      if (received > max) throw tooLarge(url, received, max);
      const file = handle;
      const bytes = chunk.value;
      hash.update(bytes);
      await cacheStep(dir, () => file.write(bytes));
    }
    if (declared !== undefined && received !== declared) {
      throw new DownloadError(
        url,
        `Download of ${url} ended after ${received} of ${declared} bytes (connection closed early). ${OFFLINE_HINT}`,
      );
    }

    const done = handle;
    handle = undefined;
    await cacheStep(dir, async () => {
      await done.sync();
      await done.close();
    });
    await cacheStep(dir, () => rename(tmp, dest));
    const commit = response.headers.get('x-repo-commit')?.trim().toLowerCase();
    return {
      bytes: received,
      sha256: hash.digest('hex'),
      ...(commit !== undefined && /^[0-9a-f]{40}$/.test(commit) ? { commit } : {}),
    };
  } catch (error) {
    await response?.body?.cancel().catch(() => {});
    await handle?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    if (options.signal?.aborted) throw downloadAborted(url, options.signal, error);
    if (timedOut) {
      throw new DownloadError(
        url,
        `No data from ${url} for ${idleMs} ms (options.downloadTimeoutMs). ${OFFLINE_HINT}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Removes temp files a crashed process left beside `dest`. A live transfer writes at least once per idle timeout or
 * gives up, so a temp file untouched for far longer than that has no writer; other processes may use a longer
 * timeout, hence the generous floor.
 */
async function sweepStalePartials(dest: string, idleMs: number): Promise<void> {
  const dir = path.dirname(dest);
  const prefix = `${path.basename(dest)}.`;
  const staleBefore = Date.now() - Math.max(2 * idleMs, STALE_PARTIAL_MS);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^[0-9a-f]{12}\.partial$/.test(name.slice(prefix.length))) continue;
    const full = path.join(dir, name);
    const info = await stat(full).catch(() => undefined);
    if (info !== undefined && info.mtimeMs < staleBefore) await rm(full, { force: true }).catch(() => {});
  }
}

function declaredLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding !== 'identity') return undefined; // length of the encoded body, not of what we read
  const raw = response.headers.get('content-length');
  return raw !== null && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

function tooLarge(url: string, bytes: number, max: number): DownloadError {
  return new DownloadError(
    url,
    `${url} is larger than options.maxDownloadBytes (${bytes} > ${max} bytes). Raise the limit if this model really is that large.`,
  );
}

function downloadAborted(url: string, signal: AbortSignal | undefined, cause?: unknown): AbortError {
  return abortError(`Download of ${url}`, signal?.reason ?? cause);
}

function networkError(url: string, error: unknown, received?: number, declared?: number): DownloadError {
  if (CrossEncoderError.isInstance(error)) return error as DownloadError;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const reason = String(cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? error);
  const where =
    received === undefined ? '' : ` after ${received}${declared === undefined ? '' : ` of ${declared}`} bytes`;
  return new DownloadError(url, `Network error downloading ${url}${where}: ${reason}. ${OFFLINE_HINT}`, {
    cause: error,
  });
}

function statusError(url: string, response: Response, context: DownloadContext | undefined, hasToken: boolean): Error {
  const status = response.status;
  const code = response.headers.get('x-error-code');
  const detail = `HTTP ${status}${code ? ` ${code}` : ''} from ${url}`;
  const what = context ? `${context.file} of ${context.id} at revision ${context.revision}` : url;
  if (status === 404) {
    return new ModelNotFoundError(
      `${what} was not found (${detail}). Check the model id, revision and file name, or pass a local model folder instead.`,
    );
  }
  if (status === 401 || status === 403) {
    // The hub answers 401 for private, gated and nonexistent repos alike.
    const advice = hasToken
      ? 'The token was refused: check that it is valid and that your account has accepted the model’s terms.'
      : 'The repository may be gated or private (set HF_TOKEN or options.token), or may not exist (check the id).';
    return new DownloadError(url, `Access denied to ${what} (${detail}). ${advice}`, { status });
  }
  if (status === 429) return new DownloadError(url, `Rate-limited by the hub (${detail}). ${OFFLINE_HINT}`, { status });
  if (status >= 500)
    return new DownloadError(url, `The hub failed to serve ${what} (${detail}). ${OFFLINE_HINT}`, { status });
  return new DownloadError(url, `Unexpected answer for ${what} (${detail}).`, { status });
}

// Any filesystem failure here is the cache's fault, not the network's: say which folder and how to move it.
async function cacheStep<T>(dir: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code !== 'string') throw error;
    const space = code === 'ENOSPC' || code === 'EDQUOT' ? ' with enough free space' : '';
    throw new CacheError(
      `Cannot write to the model cache folder ${dir} (${code}). Set options.cacheDir or the ${CACHE_ENV} env var to a writable folder${space}.`,
      { cause: error },
    );
  }
}
