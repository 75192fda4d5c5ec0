import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CacheError } from '../errors.js';
import { CACHE_ENV } from './cache-dir.js';
import type { Downloaded } from './download.js';

/** What the cache knows of a downloaded file: enough to tell a damaged copy from the one the hub served. */
export interface DownloadRecord {
  size: number;
  sha256: string;
  url: string;
  /** The commit the file came from, when the hub named it. */
  commit?: string;
}

/** Saves the record of a finished download; best effort, as a missing record only means less checking later. */
export async function writeDownloadRecord(
  recordPath: string,
  done: Downloaded,
  url: string,
  commit?: string,
): Promise<void> {
  const pinned = commit ?? done.commit;
  const record: DownloadRecord = {
    size: done.bytes,
    sha256: done.sha256,
    url,
    ...(pinned === undefined ? {} : { commit: pinned }),
  };
  const tmp = `${recordPath}.${process.pid}.tmp`;
  try {
    await mkdir(path.dirname(recordPath), { recursive: true });
    await writeFile(tmp, `${JSON.stringify(record)}\n`);
    await rename(tmp, recordPath);
  } catch {
    await rm(tmp, { force: true }).catch(() => {});
  }
}

/** The record of a cached file, or `undefined` when there is none or it is unreadable. */
async function readDownloadRecord(recordPath: string): Promise<DownloadRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(recordPath, 'utf8')) as Partial<DownloadRecord>;
    if (
      typeof parsed.size === 'number' &&
      Number.isSafeInteger(parsed.size) &&
      typeof parsed.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(parsed.sha256)
    ) {
      return { size: parsed.size, sha256: parsed.sha256, url: String(parsed.url ?? '') };
    }
  } catch {
    // no record, or a damaged one: nothing to check against
  }
  return undefined;
}

/**
 * `'intact'`: the file has the size (and, with `digest`, the SHA-256) it was downloaded with. `'damaged'`: it does
 * not. `'unknown'`: no record to compare with (downloaded by an older version, or the record was lost).
 */
export type CachedFileState = 'intact' | 'damaged' | 'unknown';

/** Compares a cached file with its download record: the size always (one stat), the SHA-256 when `digest` is set. */
export async function checkCachedFile(file: string, recordPath: string, digest: boolean): Promise<CachedFileState> {
  const record = await readDownloadRecord(recordPath);
  if (record === undefined) return 'unknown';
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || info.size !== record.size) return 'damaged';
  if (!digest) return 'intact';
  return (await sha256Of(file)) === record.sha256 ? 'intact' : 'damaged';
}

/** Deletes a cached file and its record, so the next load downloads it afresh. */
export async function discardCachedFile(file: string, recordPath: string): Promise<void> {
  try {
    await rm(file, { force: true });
    await rm(recordPath, { force: true });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new CacheError(
      `${file} in the model cache is damaged but cannot be removed (${code}). Delete it by hand, or set ` +
        `options.cacheDir or the ${CACHE_ENV} env var to a writable folder.`,
      { cause },
    );
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The commit a cached file's record names, or `undefined` (no record, or the hub did not say). */
export async function recordedCommit(recordPath: string): Promise<string | undefined> {
  try {
    const parsed = JSON.parse(await readFile(recordPath, 'utf8')) as Partial<DownloadRecord>;
    return typeof parsed.commit === 'string' && /^[0-9a-f]{40}$/.test(parsed.commit) ? parsed.commit : undefined;
  } catch {
    return undefined;
  }
}
