import { InvalidArgumentError } from '../errors.js';

// Settings read from the environment where there is one (Node, Deno, Bun); browsers have none and get the defaults.

const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';
const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);

/**
 * Reads an env var without assuming `process` exists (edge runtimes, bundlers
 * that stub it). An empty string counts as unset, as shells often export those.
 */
export function readEnv(name: string): string | undefined {
  try {
    const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
    return value === undefined || value === '' ? undefined : value;
  } catch {
    return undefined;
  }
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
