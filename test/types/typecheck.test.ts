// Runs the compiler over the type-level tests (`*.test-d.ts`), so `npm test` fails when they stop compiling.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function typecheck(project: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [tsc, '--noEmit', '-p', project], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('type-level tests', () => {
  it('test/types/*.test-d.ts compile: CohereRerank-shaped code type-checks against CrossEncoderReranker', () => {
    const { status, output } = typecheck(path.join(here, 'tsconfig.json'));
    expect(output).toBe('');
    expect(status).toBe(0);
  }, 120_000);
});
