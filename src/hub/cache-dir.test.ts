import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { CACHE_ENV, resolveCacheDir, resolveEndpoint, resolveOffline, resolveToken } from './cache-dir.js';

afterEach(() => vi.unstubAllEnvs());

describe('resolveCacheDir', () => {
  it('prefers the option, then the package env var, then XDG, then ~/.cache', () => {
    vi.stubEnv(CACHE_ENV, '/env/cache');
    vi.stubEnv('XDG_CACHE_HOME', '/xdg');
    expect(resolveCacheDir('/opt/models')).toBe(path.resolve('/opt/models'));
    expect(resolveCacheDir()).toBe(path.resolve('/env/cache'));
    vi.stubEnv(CACHE_ENV, '');
    expect(resolveCacheDir()).toBe(path.join('/xdg', 'langchain-cross-encoder'));
    vi.stubEnv('XDG_CACHE_HOME', 'relative/ignored');
    expect(resolveCacheDir()).toBe(path.join(os.homedir(), '.cache', 'langchain-cross-encoder'));
  });

  it('falls back to the temporary folder where the home cache cannot be written, warning once', async () => {
    // A home whose .cache cannot be created: a file stands where a folder would be (as a read-only home does).
    const home = await mkdtemp(path.join(os.tmpdir(), 'lce-home-'));
    await writeFile(path.join(home, '.cache'), 'not a folder');
    vi.stubEnv(CACHE_ENV, '');
    vi.stubEnv('XDG_CACHE_HOME', '');
    vi.stubEnv('HOME', home);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(resolveCacheDir()).toBe(path.join(os.tmpdir(), 'langchain-cross-encoder'));
      expect(resolveCacheDir()).toBe(path.join(os.tmpdir(), 'langchain-cross-encoder'));
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]?.[0])).toMatch(/cannot be written.*cacheDir/);
      // A writable home is used as before, with no warning.
      vi.stubEnv('HOME', await mkdtemp(path.join(os.tmpdir(), 'lce-home-')));
      expect(resolveCacheDir()).toBe(path.join(os.homedir(), '.cache', 'langchain-cross-encoder'));
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it('expands ~ and resolves relative paths', () => {
    expect(resolveCacheDir('~/m')).toBe(path.join(os.homedir(), 'm'));
    expect(resolveCacheDir('rel')).toBe(path.resolve('rel'));
    expect(() => resolveCacheDir('')).toThrow(InvalidArgumentError);
  });
});

describe('resolveOffline', () => {
  it.each([
    ['1', true],
    ['TRUE', true],
    ['yes', true],
    ['on', true],
    ['0', false],
    ['false', false],
    ['', false],
  ])('HF_HUB_OFFLINE=%j → %s', (value, expected) => {
    vi.stubEnv('HF_HUB_OFFLINE', value);
    expect(resolveOffline()).toBe(expected);
  });

  it('lets the option win over the env var', () => {
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    expect(resolveOffline(false)).toBe(false);
    vi.stubEnv('HF_HUB_OFFLINE', '0');
    expect(resolveOffline(true)).toBe(true);
  });
});

describe('resolveEndpoint and resolveToken', () => {
  it('prefers the option, then HF_ENDPOINT, then huggingface.co', () => {
    vi.stubEnv('HF_ENDPOINT', '');
    expect(resolveEndpoint()).toBe('https://huggingface.co');
    vi.stubEnv('HF_ENDPOINT', 'https://mirror.example/');
    expect(resolveEndpoint()).toBe('https://mirror.example');
    expect(resolveEndpoint('http://127.0.0.1:9')).toBe('http://127.0.0.1:9');
    expect(() => resolveEndpoint('ftp://x')).toThrow(InvalidArgumentError);
    expect(() => resolveEndpoint('not a url')).toThrow(/options\.hubEndpoint/);
  });

  it('prefers the option, then HF_TOKEN', () => {
    vi.stubEnv('HF_TOKEN', 'env-token');
    expect(resolveToken('opt')).toBe('opt');
    expect(resolveToken()).toBe('env-token');
    vi.stubEnv('HF_TOKEN', '');
    expect(resolveToken()).toBeUndefined();
  });

  it('survives a runtime without process', () => {
    vi.stubGlobal('process', undefined);
    try {
      expect(resolveToken()).toBeUndefined();
      expect(resolveOffline()).toBe(false);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
