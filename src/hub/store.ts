import type { DownloadOptions } from './download.js';

/** A file the model needs, as a path inside the repository or folder. */
export interface ModelFileSpec {
  path: string;
  /** A missing optional file is reported as `undefined` instead of failing the load. */
  optional?: boolean;
}

/** Where a model's files were found. */
export interface ResolvedModel {
  /** A local folder (Node), a hub repository, or a model folder served at a URL (browsers). */
  source: 'local' | 'hub' | 'url';
  /** The local model folder, the cache folder of this repo and revision, or the folder's URL. */
  root: string;
  /** The hub id, the absolute local folder, or the folder's absolute URL. */
  id: string;
  /** The hub revision; absent for local folders and URLs. */
  revision?: string;
  /**
   * Repository path → where the platform reads it (an absolute path on Node, an absolute URL in browsers),
   * `undefined` for a missing optional file.
   */
  files: Map<string, string | undefined>;
  /** Repository paths fetched over the network during this call. */
  downloaded: string[];
  /** The cache folder, for hub models on Node. */
  cacheDir?: string;
}

/** Where models come from and how they are cached. */
export interface HubOptions extends DownloadOptions {
  /**
   * Node: where downloaded models are kept. Browsers keep them with the Cache API instead and ignore it.
   * @default $LANGCHAIN_CROSS_ENCODER_CACHE, else $XDG_CACHE_HOME/langchain-cross-encoder, else ~/.cache/langchain-cross-encoder
   */
  cacheDir?: string;
  /** Use cached files only and never touch the network. @default true when HF_HUB_OFFLINE is 1, true, yes or on */
  localFilesOnly?: boolean;
  /** Branch, tag or commit hash of the hub repository. @default 'main' */
  revision?: string;
  /** Base URL of the model hub or a mirror. @default $HF_ENDPOINT, else https://huggingface.co */
  hubEndpoint?: string;
  /** Hugging Face access token for gated or private repos. @default $HF_TOKEN */
  token?: string;
}

/** What a store found when a file it handed out failed to parse. */
export type FailedFileVerdict =
  /** Not a cached hub file, or one this very load downloaded: the cache has nothing to do with it. */
  | 'not-cached'
  /** The cached copy is byte for byte what the hub served: downloading it again would not help. */
  | 'as-served'
  /** The cached copy differed from what was downloaded, or could not be checked; it was removed. */
  | 'removed'
  /** It could not be checked (no download record) and, offline, could not be downloaded again: it was kept. */
  | 'unverified';

/** Finds a model's files, downloading and caching them the way the platform can. */
export interface ModelStore {
  /** Every file of `model` (a hub id, or a local folder or URL the platform understands), fetched when needed. */
  resolve(model: string, files: readonly ModelFileSpec[], options: HubOptions): Promise<ResolvedModel>;
  /** Checks, and removes when damaged, a cached file that failed to parse, so resolving again fetches it afresh. */
  inspectFailed(resolved: ResolvedModel, file: string, options: HubOptions): Promise<FailedFileVerdict>;
}

/**
 * Large files (ONNX graphs, their external weights, GGUF weights): both stores fetch them after every small file, so
 * a missing tokenizer or config fails in a second rather than after a gigabyte of download.
 */
export function isLargeModelFile(path: string): boolean {
  return /\.(onnx|onnx_data|gguf)$/.test(path);
}
