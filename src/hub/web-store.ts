import { abortError, DownloadError, InvalidArgumentError, ModelNotFoundError, OfflineError } from '../errors.js';
import { validateDownloadOptions } from './download-options.js';
import { resolveEndpoint, resolveOffline, resolveToken } from './env.js';
import { DEFAULT_REVISION, hubFileUrl, show, validateModelId, validateRepoPath, validateRevision } from './model-id.js';
import {
  isLargeModelFile,
  type FailedFileVerdict,
  type HubOptions,
  type ModelFileSpec,
  type ModelStore,
  type ResolvedModel,
} from './store.js';

// The model store of browsers and web workers: files are fetched over HTTP(S) and kept with the Cache API, which
// outlives the page and is shared by the page and its workers. Where the Cache API is missing (a page served over
// plain HTTP from another host than localhost, some private windows and edge runtimes), each file is downloaded once
// and kept in memory as a Blob for the page's life, handed to the scoring worker by a `blob:` URL.

/** The Cache API bucket the models are kept in. */
export const MODEL_CACHE_NAME = 'langchain-cross-encoder-models';

/** Downloads running at once in one load: enough to fill a connection, few enough to stop quickly when one fails. */
const MAX_PARALLEL_DOWNLOADS = 4;

interface FetchSettings {
  fetch: typeof globalThis.fetch;
  /** The token to send with a URL, if any: see {@link tokenScope}. */
  tokenFor: (url: string) => string | undefined;
  signal: AbortSignal | undefined;
}

/** What a store keeps a file as: the Cache API, or memory where it is missing. */
interface FileKeeper {
  /** The kept copy of the file fetched from `url`. */
  match(url: string): Promise<Response | undefined>;
  /** Keeps the whole body of `response` as the copy of `url`; resolves once it is read. */
  put(url: string, response: Response): Promise<void>;
  /** Forgets the copy of `url`. */
  delete(url: string): Promise<boolean>;
  /** The URL a reader (this thread or the scoring worker) finds the kept copy of `url` at. */
  readableUrl(url: string): string;
}

/** Files kept in memory where the Cache API is missing: fetched URL → the bytes and the headers that matter. */
const memory = new Map<string, { blob: Blob; commit: string | null; readable: string }>();

const memoryKeeper: FileKeeper = {
  async match(url) {
    const kept = memory.get(url);
    if (kept === undefined) return undefined;
    return new Response(kept.blob, kept.commit === null ? {} : { headers: { 'x-repo-commit': kept.commit } });
  },
  async put(url, response) {
    const blob = await response.blob();
    const createObjectURL = (URL as { createObjectURL?: (blob: Blob) => string }).createObjectURL;
    // The fragment, which blob URLs ignore, keeps the file's name for readers that need it (external weights).
    const name = new URL(url).pathname.split('/').pop() ?? '';
    const readable = createObjectURL === undefined ? url : `${createObjectURL(blob)}#${name}`;
    await memoryKeeper.delete(url);
    memory.set(url, { blob, commit: response.headers.get('x-repo-commit'), readable });
  },
  async delete(url) {
    const kept = memory.get(url);
    if (kept === undefined) return false;
    if (kept.readable.startsWith('blob:')) URL.revokeObjectURL(kept.readable.replace(/#.*$/, ''));
    return memory.delete(url);
  },
  readableUrl: (url) => memory.get(url)?.readable ?? url,
};

/** The Cache API bucket, or the memory keeper where the Cache API is not available. */
async function openKeeper(): Promise<FileKeeper> {
  const cache = await openCache();
  if (cache === undefined) return memoryKeeper;
  return {
    match: (url) => cache.match(url),
    put: (url, response) => cache.put(url, response),
    delete: (url) => cache.delete(url),
    readableUrl: (url) => url,
  };
}

/** The Cache API bucket, or `undefined` where the Cache API is not available. */
async function openCache(): Promise<Cache | undefined> {
  const storage = (globalThis as { caches?: CacheStorage }).caches;
  if (storage === undefined) return undefined;
  try {
    return await storage.open(MODEL_CACHE_NAME);
  } catch {
    // Private windows and opaque origins may refuse storage: work uncached.
    return undefined;
  }
}

/** The base every relative model URL is read against: the page (or the worker's script) location. */
function baseUrl(): string | undefined {
  return (globalThis as { location?: { href?: string } }).location?.href;
}

/**
 * Which URLs get which token. A token passed in `options.token` goes with every file of that load, wherever it is:
 * the caller chose it for that model. The environment's `HF_TOKEN` goes only to the hub endpoint's origin, never to
 * a model folder on another host, which would otherwise receive the user's hub credentials.
 */
function tokenScope(options: HubOptions): (url: string) => string | undefined {
  if (options.token !== undefined && options.token !== '') {
    const token = options.token;
    return () => token;
  }
  const token = resolveToken(undefined);
  if (token === undefined) return () => undefined;
  let hubOrigin: string | undefined;
  try {
    hubOrigin = new URL(resolveEndpoint(options.hubEndpoint)).origin;
  } catch {
    return () => undefined; // no valid endpoint, no origin to trust with the token
  }
  return (url) => (new URL(url).origin === hubOrigin ? token : undefined);
}

/** Whether `model` names a folder by URL (absolute, or relative to the page) rather than a hub id. */
export function isModelUrl(model: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(model) || /^(\.{1,2}\/|\/)/.test(model);
}

/** The absolute URL of a model folder, with a trailing slash so file names resolve inside it. */
function folderUrl(model: string): URL {
  const base = baseUrl();
  let url: URL;
  try {
    url = base === undefined ? new URL(model) : new URL(model, base);
  } catch {
    throw new InvalidArgumentError(
      'model',
      `${show(model)} is not a URL this page can resolve${base === undefined ? ' (no page location to resolve a relative URL against: pass an absolute URL)' : ''}.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError('model', `expected an http(s) URL of a model folder, got ${show(model)}.`);
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function requestInit(url: string, settings: FetchSettings): RequestInit {
  const token = settings.tokenFor(url);
  return {
    ...(token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } }),
    ...(settings.signal === undefined ? {} : { signal: settings.signal }),
  };
}

/** GETs `url`, turning network failures into our errors (the caller turns aborts into its own). */
async function get(url: string, settings: FetchSettings): Promise<Response> {
  try {
    return await settings.fetch(url, requestInit(url, settings));
  } catch (cause) {
    if (settings.signal?.aborted) throw cause;
    throw new DownloadError(
      url,
      `Could not fetch ${url} (${(cause as Error)?.message ?? String(cause)}). Check the URL and that the server ` +
        'allows this page to read it (CORS), or serve the model from the page’s own origin.',
      { cause },
    );
  }
}

/** An error for a response that is not the file. */
function failedResponse(url: string, response: Response): Error {
  if (response.status === 404) {
    return new ModelNotFoundError(`${url} was not found (404). Check the model id or folder URL and the file name.`);
  }
  if (response.status === 401 || response.status === 403) {
    return new DownloadError(
      url,
      `${url} was refused (${response.status}). A gated or private model needs options.token (HF_TOKEN is only ` +
        'sent to the hub endpoint).',
      { status: response.status },
    );
  }
  return new DownloadError(url, `${url} answered ${response.status} ${response.statusText}.`, {
    status: response.status,
  });
}

/** The hub commit a response says it was served from, when it says (and CORS lets the page read it). */
function commitOf(response: Response): string | undefined {
  const commit = response.headers.get('x-repo-commit')?.trim().toLowerCase();
  return commit !== undefined && /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
}

/**
 * Runs `work` on each item, at most `limit` at a time, in order. The first failure stops the rest: `stop` is aborted
 * (cancelling the downloads in flight), nothing more starts, and that failure is thrown once the others settle.
 */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  stop: AbortController,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && !stop.signal.aborted && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
        stop.abort(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure.error;
}

async function resolve(model: string, specs: readonly ModelFileSpec[], options: HubOptions): Promise<ResolvedModel> {
  if (typeof model !== 'string' || model.trim() === '') {
    throw new InvalidArgumentError(
      'model',
      'expected a hub id such as `Xenova/ms-marco-MiniLM-L-6-v2` or the URL of a model folder.',
    );
  }
  specs.forEach((f, i) => validateRepoPath(f.path, `files[${i}].path`));
  validateDownloadOptions(options);
  const signal = options.signal;
  if (signal?.aborted) throw abortError('Model loading', signal.reason);
  const byUrl = isModelUrl(model);
  const folder = byUrl ? folderUrl(model) : undefined;
  const id = folder?.href ?? validateModelId(model);
  const revision = byUrl ? undefined : validateRevision(options.revision ?? DEFAULT_REVISION);
  const endpoint = byUrl ? undefined : resolveEndpoint(options.hubEndpoint);
  const urlOf = (file: string, at = revision) =>
    folder !== undefined
      ? new URL(file.split('/').map(encodeURIComponent).join('/'), folder).href
      : hubFileUrl(endpoint as string, id, at as string, file);
  const offline = resolveOffline(options.localFilesOnly);
  const keeper = await openKeeper();

  // One controller for the caller's signal and a failed sibling download: either cancels every download of the load.
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const settings: FetchSettings = {
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    tokenFor: tokenScope(options),
    signal: stop.signal,
  };

  // Every file of one load comes from one commit, as on Node: a branch such as `main` is pinned to the commit a kept
  // file was fetched at, else to the one the first download names, and later files are fetched at that commit.
  // Files stay kept under the branch's URL, so later loads find them.
  const pinnable = revision !== undefined && !/^[0-9a-f]{40}$/.test(revision);
  const kept = await Promise.all(specs.map((spec) => keeper.match(urlOf(spec.path))));
  let commit = pinnable ? kept.map((hit) => hit && commitOf(hit)).find((c) => c !== undefined) : undefined;
  await Promise.all(kept.map((hit) => hit?.body?.cancel()));

  const downloaded = new Set<string>();
  const found = new Map<string, string | undefined>();
  const fetchOne = async (index: number) => {
    const spec = specs[index] as ModelFileSpec;
    const key = urlOf(spec.path);
    if (kept[index] !== undefined) {
      found.set(spec.path, keeper.readableUrl(key));
      return;
    }
    if (offline) {
      // Offline an absent optional file cannot be told from an uncached one; loading without it beats failing.
      if (spec.optional) {
        found.set(spec.path, undefined);
        return;
      }
      throw new OfflineError(
        `Offline mode is on (localFilesOnly or HF_HUB_OFFLINE) and ${key} is not in the browser's model cache ` +
          `("${MODEL_CACHE_NAME}"). Load the model once online.`,
      );
    }
    const url = pinnable && commit !== undefined ? urlOf(spec.path, commit) : key;
    const response = await get(url, settings);
    if (!response.ok) {
      await response.body?.cancel();
      if (response.status === 404 && spec.optional) {
        found.set(spec.path, undefined);
        return;
      }
      throw failedResponse(url, response);
    }
    if (pinnable) commit ??= commitOf(response);
    // Kept whole before the load goes on, so the worker that opens the model reads it from there.
    await keeper.put(key, response);
    downloaded.add(spec.path);
    found.set(spec.path, keeper.readableUrl(key));
  };

  try {
    const small = specs.map((_, i) => i).filter((i) => !isLargeModelFile((specs[i] as ModelFileSpec).path));
    const large = specs.map((_, i) => i).filter((i) => isLargeModelFile((specs[i] as ModelFileSpec).path));
    // The first small file alone, so its answer names the commit the rest are fetched at.
    await eachLimited(small.slice(0, 1), 1, stop, fetchOne);
    await eachLimited(small.slice(1), MAX_PARALLEL_DOWNLOADS, stop, fetchOne);
    await eachLimited(large, MAX_PARALLEL_DOWNLOADS, stop, fetchOne);
  } catch (error) {
    if (signal?.aborted) throw abortError('Model loading', signal.reason);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return {
    source: byUrl ? 'url' : 'hub',
    root: folder?.href ?? urlOf('config.json').replace(/config\.json$/, ''),
    id,
    ...(revision === undefined ? {} : { revision }),
    files: new Map(specs.map((spec) => [spec.path, found.get(spec.path)])),
    downloaded: specs.map((spec) => spec.path).filter((path) => downloaded.has(path)),
  };
}

/**
 * The bytes of a model file the store resolved: from memory or a `blob:` URL where the Cache API is missing, else
 * from the Cache API. Only a file the browser evicted between resolving and reading is fetched again (without the
 * load's token, which this thread may not have): public models recover from that, private ones fail clearly.
 */
export async function readModelBytes(url: string): Promise<ArrayBuffer> {
  const inMemory = [...memory.values()].find((kept) => kept.readable === url);
  if (inMemory !== undefined) return inMemory.blob.arrayBuffer();
  if (url.startsWith('blob:')) return (await globalThis.fetch(url)).arrayBuffer();
  const cache = await openCache();
  const hit = await cache?.match(url);
  if (hit !== undefined) return hit.arrayBuffer();
  const response = await get(url, {
    fetch: globalThis.fetch.bind(globalThis),
    tokenFor: () => undefined,
    signal: undefined,
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw failedResponse(url, response);
  }
  return response.arrayBuffer();
}

/** The text of a model file the store resolved. */
export async function readModelText(url: string): Promise<string> {
  return new TextDecoder().decode(await readModelBytes(url));
}

async function inspectFailed(resolved: ResolvedModel, file: string, options: HubOptions): Promise<FailedFileVerdict> {
  const repoPath = [...resolved.files].find(([, url]) => url === file)?.[0];
  if (repoPath === undefined || resolved.downloaded.includes(repoPath)) return 'not-cached';
  const keeper = await openKeeper();
  const key = [...memory].find(([, kept]) => kept.readable === file)?.[0] ?? file;
  if ((await keeper.match(key)) === undefined) return 'not-cached';
  if (resolveOffline(options.localFilesOnly)) return 'unverified';
  await keeper.delete(key);
  return 'removed';
}

/** Models from the hub or any model folder URL, cached with the Cache API. */
export const webModelStore: ModelStore = { resolve, inspectFailed };
