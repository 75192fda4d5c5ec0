import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MissingDependencyError } from '../errors.js';
import { importBinding } from './import-binding.js';

/** A module file that imports `specifier`, as a binding's entry would, in a folder with no node_modules. */
async function moduleImporting(specifier: string, kind: 'esm' | 'cjs'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lce-binding-'));
  const file = join(dir, kind === 'esm' ? 'entry.mjs' : 'entry.cjs');
  await writeFile(file, kind === 'esm' ? `import '${specifier}';\n` : `require('${specifier}');\n`);
  return pathToFileURL(file).href;
}

async function failure(name: string, load: () => Promise<unknown>): Promise<MissingDependencyError> {
  const error = await importBinding(name, load).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MissingDependencyError);
  return error as MissingDependencyError;
}

describe('importBinding', () => {
  it.each(['esm', 'cjs'] as const)('names a package the binding needs, not the binding (%s)', async (kind) => {
    const entry = await moduleImporting('onnxruntime-common-absent/dist/index.js', kind);
    const error = await failure('onnxruntime-node', () => import(entry));
    expect(error.packageName).toBe('onnxruntime-common-absent');
    expect(error.message).toMatch(/npm i onnxruntime-common-absent`/);
    expect(error.message).not.toMatch(/npm i onnxruntime-node`/);
  });

  it('names a scoped package by its scope and name', async () => {
    const entry = await moduleImporting('@scope-absent/needed/sub', 'esm');
    expect((await failure('tokenizers', () => import(entry))).packageName).toBe('@scope-absent/needed');
  });

  it('says to install the binding itself when it is the one missing', async () => {
    const error = await failure('onnxruntime-node', () => import('onnxruntime-node-absent' as string));
    // The import above names its own specifier; the binding asked for is what a user installs.
    expect(error.packageName).toBe('onnxruntime-node-absent');
    const same = await failure('onnxruntime-node-absent', () => import('onnxruntime-node-absent' as string));
    expect(same.packageName).toBe('onnxruntime-node-absent');
    expect(same.message).toMatch(/npm i onnxruntime-node-absent`.*RemoteScorer/s);
  });

  it('a shared library missing beside the binding asks for the whole binding folder, not an install', async () => {
    const error = await failure('onnxruntime-node', () =>
      Promise.reject(
        new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory\nmore detail'),
      ),
    );
    expect(error.packageName).toBe('onnxruntime-node');
    expect(error.message).toMatch(/libonnxruntime\.so\.1.*shared libraries beside the \.node file/s);
    expect(error.message).not.toMatch(/more detail|npm i /);
  });
});
