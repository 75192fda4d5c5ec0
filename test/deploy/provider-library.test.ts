import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelDir, REPO_ROOT } from '../helpers/models.js';

// ONNX Runtime prints its own failure to load a provider library straight to the process's stderr, where no test
// output can hide it; a child process shows what a user's terminal would.
describe('a GPU provider without its library', () => {
  it('is a SessionOpenError with nothing printed by ONNX Runtime', () => {
    const script = `
      import { CrossEncoder } from ${JSON.stringify(join(REPO_ROOT, 'src', 'index.ts'))};
      try {
        await CrossEncoder.load(${JSON.stringify(modelDir('tiny'))}, { executionProviders: ['cuda'], worker: false });
        console.log('loaded');
      } catch (error) {
        console.log(error.code, error.message);
      }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(child.stdout).toMatch(/^SESSION_OPEN .*libonnxruntime_providers_cuda/);
    expect(child.stderr).not.toMatch(/onnxruntime|Failed to load library/);
  });
});
