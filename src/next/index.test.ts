import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/helpers/models.js';
import { withCrossEncoder } from './index.js';

const BIN = './node_modules/onnxruntime-node/bin/napi-v6';

describe('withCrossEncoder', () => {
  it("traces the target's ONNX Runtime folder in and every other platform's binaries out", () => {
    const config = withCrossEncoder({}, { projectDir: REPO_ROOT, platform: 'linux', arch: 'x64' });
    const included = config.outputFileTracingIncludes?.['/**'] ?? [];
    const excluded = config.outputFileTracingExcludes?.['/**'] ?? [];
    // The shared library the binding loads through the dynamic linker is in the included folder.
    expect(included).toEqual([`${BIN}/linux/x64/*`]);
    expect(existsSync(join(REPO_ROOT, BIN, 'linux', 'x64', 'libonnxruntime.so.1'))).toBe(true);
    for (const other of ['linux/arm64', 'darwin/arm64', 'win32/x64', 'win32/arm64']) {
      expect(excluded).toContain(`${BIN}/${other}/**`);
    }
    expect(excluded).not.toContain(`${BIN}/linux/x64/**`);
    expect(excluded).toContain(`${BIN}/*/*/*onnxruntime_providers_*`);
    // Of the 13 tokenizers binaries the package holds, only the Linux x64 ones (glibc and musl) stay.
    const binaries = readdirSync(join(REPO_ROOT, 'node_modules', 'tokenizers')).filter((f) => f.endsWith('.node'));
    const kept = binaries.filter((f) => !excluded.includes(`./node_modules/tokenizers/${f}`));
    expect(kept.sort()).toEqual(['tokenizers.linux-x64-gnu.node', 'tokenizers.linux-x64-musl.node']);
    expect(config.serverExternalPackages).toEqual(
      expect.arrayContaining(['langchain-cross-encoder', 'onnxruntime-node', 'tokenizers']),
    );
  });

  it("keeps the caller's settings first and does not change the caller's object", () => {
    const mine = {
      output: 'standalone',
      serverExternalPackages: ['sharp'],
      outputFileTracingIncludes: { '/api/rerank': ['./models/minilm/**'], '/**': ['./data/**'] },
      outputFileTracingExcludes: { '/**': ['./big/**'] },
    };
    const before = structuredClone(mine);
    const config = withCrossEncoder(mine, { projectDir: REPO_ROOT, platform: 'darwin', arch: 'arm64', gpu: true });
    expect(mine).toEqual(before);
    expect(config.output).toBe('standalone');
    expect(config.serverExternalPackages?.[0]).toBe('sharp');
    expect(config.outputFileTracingIncludes?.['/api/rerank']).toEqual(['./models/minilm/**']);
    expect(config.outputFileTracingIncludes?.['/**']).toEqual(['./data/**', `${BIN}/darwin/arm64/*`]);
    expect(config.outputFileTracingExcludes?.['/**']?.[0]).toBe('./big/**');
    expect(config.outputFileTracingExcludes?.['/**']).toContain(`${BIN}/linux/x64/**`);
    // A GPU server keeps the provider libraries.
    expect(config.outputFileTracingExcludes?.['/**']).not.toContain(`${BIN}/*/*/*onnxruntime_providers_*`);
  });

  it("sends the browser tokenizer's Node-only imports to nothing in client bundles, with either bundler", () => {
    const mine = (config: { resolve?: { fallback?: Record<string, unknown> } }) => ({ ...config, mine: true });
    const config = withCrossEncoder({ webpack: mine }, { projectDir: REPO_ROOT });
    const aliases = config.turbopack?.resolveAlias as Record<string, { browser: string }>;
    expect(Object.keys(aliases).sort()).toEqual(['fs', 'module', 'path', 'url']);
    expect(aliases['module']?.browser).toMatch(/^\.\/.*browser-empty\.js$/);
    const client = config.webpack?.({ resolve: { fallback: { crypto: false } } }, { isServer: false });
    expect(client).toMatchObject({ mine: true, resolve: { fallback: { module: false, fs: false, crypto: false } } });
    const server = config.webpack?.({}, { isServer: true });
    expect(server).toEqual({ mine: true });
  });

  it('adds no trace globs for a binding the app does not have', () => {
    const config = withCrossEncoder({}, { projectDir: '/' });
    expect(config.outputFileTracingIncludes).toEqual({});
    expect(config.outputFileTracingExcludes).toEqual({});
  });
});
