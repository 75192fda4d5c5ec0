export {
  CACHE_ENV,
  DEFAULT_HUB_ENDPOINT,
  resolveCacheDir,
  resolveEndpoint,
  resolveOffline,
  resolveToken,
} from './cache-dir.js';
export {
  DEFAULT_DOWNLOAD_TIMEOUT_MS,
  DEFAULT_MAX_DOWNLOAD_BYTES,
  downloadFile,
  type DownloadContext,
  type DownloadOptions,
} from './download.js';
export {
  DEFAULT_MODEL_ID,
  DEFAULT_REVISION,
  cachePathFor,
  missingMarkerPath,
  revisionCacheDir,
  validateModelId,
  validateRepoPath,
  validateRevision,
} from './model-id.js';
export { hubFileUrl, resolveModelFiles, type HubOptions, type ModelFileSpec, type ResolvedModel } from './resolve.js';
