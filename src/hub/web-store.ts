import { abortError, DownloadError, InvalidArgumentError, ModelNotFoundError, OfflineError } from '../errors.js';
import { validateDownloadOptions } from './download-options.js';
import { resolveEndpoint, resolveOffline, resolveToken } from './env.js';
import { DEFAULT_REVISION, hubFileUrl, show, validateModelId, validateRepoPath, validateRevision } from './model-id.js';
import type { FailedFileVerdict, HubOptions, ModelFileSpec, ModelStore, ResolvedModel } from './store.js';

// The model store of browsers and web workers: files are fetched over HTTP(S) and kept with the Cache API, which
// outlives the page and is shared by the page and its workers. Where the Cache API is missing (a page served over
// plain HTTP from another host than localhost), files are fetched every time and the browser's HTTP cache decides.

/** The Cache API bucket the models are kept in. */
export const MODEL_CACHE_NAME = 'langchain-cross-encoder-models';

interface FetchSettings {
  fetch: typeof globalThis.fetch;
  token: string | undefined;
  signal: AbortSignal | undefined;
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

function requestInit(settings: FetchSettings): RequestInit {
  return {
    ...(settings.token === undefined ? {} : { headers: { Authorization: `Bearer ${settings.token}` } }),
    ...(settings.signal === undefined ? {} : { signal: settings.signal }),
  };
}

/** GETs `url`, turning network failures and aborts into our errors. */
async function get(url: string, settings: FetchSettings): Promise<Response> {
  try {
    return await settings.fetch(url, requestInit(settings));
  } catch (cause) {
    if (settings.signal?.aborted) throw abortError('Model loading', settings.signal.reason);
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
      `${url} was refused (${response.status}). A gated or private model needs options.token.`,
      { status: response.status },
    );
  }
  return new DownloadError(url, `${url} answered ${response.status} ${response.statusText}.`, {
    status: response.status,
  });
}

/**
 * The response for a model file: from the Cache API when it holds it, else fetched (and cached when it succeeds).
 * `undefined` when the server answers 404 and `optional` is set.
 */
async function cachedOrFetched(
  url: string,
  settings: FetchSettings & { offline: boolean; optional: boolean },
  cache: Cache | undefined,
): Promise<{ response: Response; fetched: boolean } | undefined> {
  const hit = await cache?.match(url);
  if (hit !== undefined) return { response: hit, fetched: false };
  if (settings.offline) {
    if (settings.optional) return undefined;
    throw new OfflineError(
      `Offline mode is on (localFilesOnly or HF_HUB_OFFLINE) and ${url} is not in the browser's model cache ` +
        `("${MODEL_CACHE_NAME}"). Load the model once online.`,
    );
  }
  const response = await get(url, settings);
  if (response.status === 404 && settings.optional) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw failedResponse(url, response);
  }
  return { response, fetched: true };
}

function fetchSettings(options: HubOptions): FetchSettings {
  return {
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    token: resolveToken(options.token),
    signal: options.signal,
  };
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
  if (options.signal?.aborted) throw abortError('Model loading', options.signal.reason);
  const byUrl = isModelUrl(model);
  const folder = byUrl ? folderUrl(model) : undefined;
  const id = folder?.href ?? validateModelId(model);
  const revision = byUrl ? undefined : validateRevision(options.revision ?? DEFAULT_REVISION);
  const endpoint = byUrl ? undefined : resolveEndpoint(options.hubEndpoint);
  const urlOf = (file: string) =>
    folder !== undefined
      ? new URL(file.split('/').map(encodeURIComponent).join('/'), folder).href
      : hubFileUrl(endpoint as string, id, revision as string, file);
  const settings = fetchSettings(options);
  const offline = resolveOffline(options.localFilesOnly);
  const cache = await openCache();
  const downloaded: string[] = [];
  const found = await Promise.all(
    specs.map(async (spec) => {
      const url = urlOf(spec.path);
      const got = await cachedOrFetched(url, { ...settings, offline, optional: spec.optional === true }, cache);
      if (got === undefined) return undefined;
      if (got.fetched) {
        downloaded.push(spec.path);
        // Stored whole before the load goes on, so the worker that opens the model reads it from the cache.
        if (cache !== undefined) await cache.put(url, got.response);
        else await got.response.body?.cancel();
      }
      return url;
    }),
  );
  const files = new Map<string, string | undefined>(specs.map((spec, i) => [spec.path, found[i]]));
  return {
    source: byUrl ? 'url' : 'hub',
    root: folder?.href ?? urlOf('config.json').replace(/config\.json$/, ''),
    id,
    ...(revision === undefined ? {} : { revision }),
    files,
    downloaded,
  };
}

/** The bytes of a model file the store resolved: from the Cache API when it holds them, else fetched. */
export async function readModelBytes(url: string): Promise<ArrayBuffer> {
  const cache = await openCache();
  const got = await cachedOrFetched(
    url,
    { fetch: globalThis.fetch.bind(globalThis), token: undefined, signal: undefined, offline: false, optional: false },
    cache,
  );
  const response = (got as { response: Response; fetched: boolean }).response;
  if (got?.fetched && cache !== undefined) await cache.put(url, response.clone());
  return response.arrayBuffer();
}

/** The text of a model file the store resolved. */
export async function readModelText(url: string): Promise<string> {
  return new TextDecoder().decode(await readModelBytes(url));
}

async function inspectFailed(resolved: ResolvedModel, file: string, options: HubOptions): Promise<FailedFileVerdict> {
  const repoPath = [...resolved.files].find(([, url]) => url === file)?.[0];
  if (repoPath === undefined || resolved.downloaded.includes(repoPath)) return 'not-cached';
  const cache = await openCache();
  if (cache === undefined || (await cache.match(file)) === undefined) return 'not-cached';
  if (resolveOffline(options.localFilesOnly)) return 'unverified';
  await cache.delete(file);
  return 'removed';
}

/** Models from the hub or any model folder URL, cached with the Cache API. */
export const webModelStore: ModelStore = { resolve, inspectFailed };
