import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Env var that overrides the cache folder for this package only. */
export const CACHE_ENV = 'LANGCHAIN_CROSS_ENCODER_CACHE';
const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

const CACHE_SUBDIR = 'langchain-cross-encoder';
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

/**
 * Reads an env var without assuming `process` exists (edge runtimes, bundlers
 * that stub it). An empty string counts as unset, as shells often export those.
 */
function readEnv(name: string): string | undefined {
  try {
    const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
    return value === undefined || value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}

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

/** Offline mode: `localFilesOnly` option > HF_HUB_OFFLINE in (1, true, yes, on). */
export function resolveOffline(option?: boolean): boolean {
  if (option !== undefined) return option;
  const env = readEnv('HF_HUB_OFFLINE');
  return env !== undefined && TRUE_WORDS.has(env.trim().toLowerCase());
}

/** Hub base URL without a trailing slash: `hubEndpoint` option > HF_ENDPOINT > https://huggingface.co. */
export function resolveEndpoint(option?: string): string {
  const raw = option ?? readEnv('HF_ENDPOINT') ?? DEFAULT_HUB_ENDPOINT;
  const parameter = option !== undefined ? 'options.hubEndpoint' : 'HF_ENDPOINT';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidArgumentError(
      parameter,
      `expected an http(s) URL such as ${DEFAULT_HUB_ENDPOINT}, got ${JSON.stringify(raw)}.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(
      parameter,
      `expected an http(s) URL such as ${DEFAULT_HUB_ENDPOINT}, got ${JSON.stringify(raw)}.`,
    );
  }
  return raw.replace(/\/+$/, '');
}

/** Access token for gated or private repos: `token` option > HF_TOKEN. */
export function resolveToken(option?: string): string | undefined {
  return option !== undefined && option !== '' ? option : readEnv('HF_TOKEN');
}
