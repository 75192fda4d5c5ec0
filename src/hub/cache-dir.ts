import { accessSync, constants, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { readEnv } from './env.js';

export { resolveEndpoint, resolveOffline, resolveToken } from './env.js';

/** Env var that overrides the cache folder for this package only. */
export const CACHE_ENV = 'LANGCHAIN_CROSS_ENCODER_CACHE';

const CACHE_SUBDIR = 'langchain-cross-encoder';

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * Absolute cache folder: `cacheDir` option > LANGCHAIN_CROSS_ENCODER_CACHE > $XDG_CACHE_HOME/… > ~/.cache/…, or, where
 * that cannot be written (a serverless function's read-only home: AWS Lambda, Vercel, Netlify), the system's
 * temporary folder, said once in a process warning.
 */
export function resolveCacheDir(option?: string): string {
  if (option !== undefined && (typeof option !== 'string' || option === '')) {
    throw new InvalidArgumentError('options.cacheDir', 'expected a non-empty folder path.');
  }
  const explicit = option ?? readEnv(CACHE_ENV);
  if (explicit !== undefined) return path.resolve(expandHome(explicit));
  const xdg = readEnv('XDG_CACHE_HOME');
  // XDG says relative values are invalid and must be ignored.
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, CACHE_SUBDIR);
  const home = path.join(os.homedir(), '.cache', CACHE_SUBDIR);
  if (writable(home)) return home;
  const temporary = path.join(os.tmpdir(), CACHE_SUBDIR);
  if (!warnedTemporary) {
    warnedTemporary = true;
    process.emitWarning(
      `The model cache ${home} cannot be written, so models are cached in ${temporary}, which may not outlive this ` +
        `process's machine. Set options.cacheDir or ${CACHE_ENV} to choose the folder (and this warning goes away).`,
      { code: 'LCE_CACHE_TEMPORARY' },
    );
  }
  return temporary;
}

let warnedTemporary = false;

/** Whether `dir` can be written: created where it is missing (the cache would be anyway), then checked. */
function writable(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
