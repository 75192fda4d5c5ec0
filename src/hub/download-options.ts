import { InvalidArgumentError } from '../errors.js';
import { validateTimeoutMs } from '../validate.js';

export interface DownloadOptions {
  /** Hugging Face access token, sent as `Authorization: Bearer <token>` (needed for gated or private repos). */
  token?: string;
  /** Largest file accepted, checked against `Content-Length` and again while streaming. @default 4 GiB */
  maxDownloadBytes?: number;
  /** Fail a download when no bytes arrive for this many milliseconds. @default 60000 */
  downloadTimeoutMs?: number;
  /** Cancels the download; the call then rejects with `AbortError`. */
  signal?: AbortSignal;
  /** Replacement for the global `fetch` (tests, proxies). @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/** Rejects option values that would make a download misbehave rather than fail clearly. */
export function validateDownloadOptions(options: DownloadOptions): void {
  const { maxDownloadBytes: max, downloadTimeoutMs: ms } = options;
  if (max !== undefined && !(Number.isSafeInteger(max) && max > 0)) {
    throw new InvalidArgumentError(
      'options.maxDownloadBytes',
      `expected a positive integer number of bytes, got ${max}.`,
    );
  }
  validateTimeoutMs(ms, 'options.downloadTimeoutMs');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new InvalidArgumentError('options.fetch', 'expected a fetch-compatible function.');
  }
}
