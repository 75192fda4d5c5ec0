import { mkdir, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  abortError,
  CrossEncoderError,
  InvalidArgumentError,
  ModelFormatError,
  ModelNotFoundError,
  OfflineError,
} from '../errors.js';
import { CACHE_ENV, resolveCacheDir, resolveEndpoint, resolveOffline, resolveToken } from './cache-dir.js';
import { downloadFileWithDigest, validateDownloadOptions, type DownloadOptions } from './download.js';
import { checkCachedFile, discardCachedFile, recordedCommit, writeDownloadRecord } from './integrity.js';
import { cachePathFor, containedPath, downloadRecordPath, missingMarkerPath, revisionCacheDir } from './cache-paths.js';
import { DEFAULT_REVISION, hubFileUrl, validateModelId, validateRepoPath, validateRevision } from './model-id.js';
import {
  isLargeModelFile,
  type FailedFileVerdict,
  type HubOptions,
  type ModelFileSpec,
  type ResolvedModel,
} from './store.js';

export type { FailedFileVerdict, HubOptions, ModelFileSpec, ResolvedModel } from './store.js';
export { hubFileUrl } from './model-id.js';

/**
 * Finds every file of a model on disk, downloading hub files into the cache on
 * first use. `model` is a local folder (absolute, `./`, `../`, `~/`, or an
 * existing directory) or a hub id such as `Xenova/ms-marco-MiniLM-L-6-v2`.
 */
export async function resolveModelFiles(
  model: string,
  files: readonly ModelFileSpec[],
  options: HubOptions = {},
): Promise<ResolvedModel> {
  if (typeof model !== 'string' || model.trim() === '') {
    throw new InvalidArgumentError(
      'model',
      'expected a hub id such as `Xenova/ms-marco-MiniLM-L-6-v2` or a local folder path.',
    );
  }
  if (!Array.isArray(files) || files.some((f) => typeof f !== 'object' || f === null)) {
    throw new InvalidArgumentError('files', 'expected an array of `{ path, optional? }`.');
  }
  files.forEach((f, i) => validateRepoPath(f.path, `files[${i}].path`));
  validateDownloadOptions(options);
  if (options.signal?.aborted) throw abortError('Model loading', options.signal.reason);

  const local = await localFolder(model);
  return local !== undefined ? resolveLocal(local, files) : resolveHub(model, files, options);
}

async function localFolder(model: string): Promise<string | undefined> {
  let dir: string | undefined;
  if (model === '~' || model.startsWith('~/')) dir = path.join(os.homedir(), model.slice(1));
  else if (path.isAbsolute(model) || /^\.\.?([\\/]|$)/.test(model)) dir = path.resolve(model);
  const info = await stat(dir ?? model).catch(() => undefined);
  if (dir === undefined) return info?.isDirectory() ? path.resolve(model) : undefined; // else: a hub id
  if (info === undefined)
    throw new ModelNotFoundError(
      `Model folder ${dir} does not exist. Check the path, or pass a hub id such as Xenova/ms-marco-MiniLM-L-6-v2.`,
    );
  if (!info.isDirectory())
    throw new ModelNotFoundError(`Model path ${dir} is not a folder. Pass the folder that holds the model files.`);
  return dir;
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false;
}

async function resolveLocal(root: string, specs: readonly ModelFileSpec[]): Promise<ResolvedModel> {
  const files = new Map<string, string | undefined>();
  const missing: string[] = [];
  for (const spec of specs) {
    const full = containedPath(root, ...spec.path.split('/'));
    const present = await isFile(full);
    if (!present && !spec.optional) missing.push(spec.path);
    files.set(spec.path, present ? full : undefined);
  }
  if (missing.length > 0) {
    throw new ModelNotFoundError(
      `Model folder ${root} lacks ${missing.join(', ')}. Export the model there (for example \`optimum-cli export onnx --model <hub id> ${root}\`, ` +
        'plus its tokenizer files), or pass the hub id to download it.',
    );
  }
  return { source: 'local', root, id: root, files, downloaded: [] };
}

const NOT_CACHED = Symbol('not cached');

async function resolveHub(model: string, specs: readonly ModelFileSpec[], options: HubOptions): Promise<ResolvedModel> {
  const id = validateModelId(model);
  const revision = validateRevision(options.revision ?? DEFAULT_REVISION);
  const cacheDir = resolveCacheDir(options.cacheDir);
  const offline = resolveOffline(options.localFilesOnly);
  const token = resolveToken(options.token);
  let endpoint: string | undefined; // read lazily: a bad HF_ENDPOINT must not break fully cached loads
  const downloaded = new Set<string>();
  // Every file of one load comes from one commit: a branch such as `main` is resolved once (from the commit cached
  // files were downloaded at, else from the first download's answer) and later files are fetched at that commit,
  // so a push between two downloads cannot mix a new tokenizer with an old graph.
  const pinnable = !/^[0-9a-f]{40}$/.test(revision);
  let commit: string | undefined;
  if (pinnable) {
    for (const spec of specs) {
      commit ??= await recordedCommit(downloadRecordPath(cacheDir, id, revision, spec.path));
    }
  }

  const resolveOne = async (spec: ModelFileSpec): Promise<string | undefined | typeof NOT_CACHED> => {
    const dest = cachePathFor(cacheDir, id, revision, spec.path);
    const record = downloadRecordPath(cacheDir, id, revision, spec.path);
    if (await isFile(dest)) {
      // One stat against the download record: a cached file of the wrong size was damaged after it was written.
      if ((await checkCachedFile(dest, record, false)) !== 'damaged') return dest;
      await discardCachedFile(dest, record);
      if (offline) {
        throw new ModelFormatError(
          `${dest} in the model cache is damaged (its size differs from what was downloaded) and has been removed. ` +
            'Go online once (unset HF_HUB_OFFLINE or localFilesOnly) to download it again.',
          { file: dest },
        );
      }
    }
    const marker = missingMarkerPath(cacheDir, id, revision, spec.path);
    if (spec.optional && (await isFile(marker))) return undefined;
    // Offline we cannot tell an absent optional file from an uncached one; loading without it beats failing.
    if (offline) return spec.optional ? undefined : NOT_CACHED;
    endpoint ??= resolveEndpoint(options.hubEndpoint);
    const url = hubFileUrl(endpoint, id, (pinnable && commit) || revision, spec.path);
    try {
      const done = await downloadFileWithDigest(url, dest, { ...options, token }, { id, revision, file: spec.path });
      if (pinnable) commit ??= done.commit;
      await writeDownloadRecord(record, done, url, pinnable ? commit : undefined);
      downloaded.add(spec.path);
      return dest;
    } catch (error) {
      if (!spec.optional || !(CrossEncoderError.isInstance(error) && error.code === 'MODEL_NOT_FOUND')) throw error;
      // Remember the 404 so later loads need no network; best effort, a failed write only costs a request next time.
      await mkdir(path.dirname(marker), { recursive: true })
        .then(() => writeFile(marker, `${url}\n`))
        .catch(() => {});
      return undefined;
    }
  };

  // Small files first, so a missing tokenizer fails in a second rather than after a gigabyte of graph; the first
  // of them alone, so its answer names the commit the rest are fetched at.
  const results = new Array<PromiseSettledResult<string | undefined | typeof NOT_CACHED>>(specs.length);
  const large = (spec: ModelFileSpec) => isLargeModelFile(spec.path);
  const stage = async (indexes: number[]) => {
    const settled = await Promise.allSettled(indexes.map((i) => resolveOne(specs[i] as ModelFileSpec)));
    settled.forEach((result, k) => (results[indexes[k] as number] = result));
    const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  };
  const small = specs.map((_, i) => i).filter((i) => !large(specs[i] as ModelFileSpec));
  await stage(small.slice(0, 1));
  await stage(small.slice(1));
  await stage(specs.map((_, i) => i).filter((i) => large(specs[i] as ModelFileSpec)));

  const files = new Map<string, string | undefined>();
  const notCached: string[] = [];
  specs.forEach((spec, i) => {
    const value = (results[i] as PromiseFulfilledResult<string | undefined | typeof NOT_CACHED>).value;
    if (value === NOT_CACHED) notCached.push(spec.path);
    else files.set(spec.path, value);
  });
  const root = revisionCacheDir(cacheDir, id, revision);
  if (notCached.length > 0) {
    throw new OfflineError(
      `Offline mode is on (localFilesOnly or HF_HUB_OFFLINE) and ${notCached.join(', ')} of ${id} at revision ${revision} ` +
        `${notCached.length === 1 ? 'is' : 'are'} not in the cache folder ${root}. Run once online to fill the cache, point options.cacheDir or ${CACHE_ENV} ` +
        'at a cache that has it, or pass a local model folder.',
    );
  }
  return {
    source: 'hub',
    root,
    id,
    revision,
    files,
    downloaded: specs.map((s) => s.path).filter((p) => downloaded.has(p)),
    cacheDir,
  };
}

/**
 * Called when a file of a loaded model failed to parse. A cached hub file is checked against its download record
 * (size and SHA-256): a damaged copy, or one that cannot be checked while the network is at hand, is removed, so
 * resolving the model again downloads it afresh.
 */
export async function inspectFailedCacheFile(
  resolved: ResolvedModel,
  file: string,
  options: Pick<HubOptions, 'localFilesOnly'> = {},
): Promise<FailedFileVerdict> {
  if (resolved.source !== 'hub' || resolved.cacheDir === undefined || resolved.revision === undefined) {
    return 'not-cached';
  }
  const repoPath = [...resolved.files].find(([, full]) => full === file)?.[0];
  if (repoPath === undefined || resolved.downloaded.includes(repoPath)) return 'not-cached';
  const record = downloadRecordPath(resolved.cacheDir, resolved.id, resolved.revision, repoPath);
  const state = await checkCachedFile(file, record, true);
  if (state === 'intact') return 'as-served';
  if (state === 'unknown' && resolveOffline(options.localFilesOnly)) return 'unverified';
  await discardCachedFile(file, record);
  return 'removed';
}
