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
