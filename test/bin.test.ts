import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

async function bin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the package command', () => {
  it('answers --help and -h with usage', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await bin(flag);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: langchain-cross-encoder <command>/);
    }
  });

  it('answers --version with the version in package.json', async () => {
    const r = await bin('--version');
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it('exits 2 on an unknown command and points eval users at the repository tool', async () => {
    const r = await bin('eval', '--data', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command "eval".*npm run eval/);
  });
});
