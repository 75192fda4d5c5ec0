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

/** Absolute cache folder: `cacheDir` option > LANGCHAIN_CROSS_ENCODER_CACHE > $XDG_CACHE_HOME/… > ~/.cache/…. */
export function resolveCacheDir(option?: string): string {
  if (option !== undefined && (typeof option !== 'string' || option === '')) {
    throw new InvalidArgumentError('options.cacheDir', 'expected a non-empty folder path.');
  }
  const explicit = option ?? readEnv(CACHE_ENV);
  if (explicit !== undefined) return path.resolve(expandHome(explicit));
  const xdg = readEnv('XDG_CACHE_HOME');
  // XDG says relative values are invalid and must be ignored.
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, CACHE_SUBDIR);
  return path.join(os.homedir(), '.cache', CACHE_SUBDIR);
}
