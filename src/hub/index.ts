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
  downloadFileWithDigest,
  type DownloadContext,
  type DownloadOptions,
} from './download.js';
export {
  DEFAULT_MODEL_ID,
  DEFAULT_REVISION,
  cachePathFor,
  downloadRecordPath,
  missingMarkerPath,
  revisionCacheDir,
  validateModelId,
  validateRepoPath,
  validateRevision,
} from './model-id.js';
export {
  hubFileUrl,
  inspectFailedCacheFile,
  resolveModelFiles,
  type FailedFileVerdict,
  type HubOptions,
  type ModelFileSpec,
  type ResolvedModel,
} from './resolve.js';
