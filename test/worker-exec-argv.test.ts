import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

// Worker threads refuse some per-process Node flags; a parent started with one must still get a scoring worker.
describe('worker start-up', () => {
  it('drops Node flags a worker thread refuses (--expose-gc) instead of failing to load', () => {
    const script = [
      "import { CrossEncoder } from './src/index.ts';",
      "const model = await CrossEncoder.load('./models/tiny');",
      "const scores = await model.score([['a query', 'a passage']]);",
      'await model.dispose();',
      'console.log(JSON.stringify({ worker: model.info.worker, n: scores.length, gc: typeof globalThis.gc }));',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).not.toContain('ERR_WORKER_INVALID_EXEC_ARGV');
    expect(JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}')).toEqual({ worker: true, n: 1, gc: 'function' });
  });
});
