// process.exit() while the scoring worker is inside ONNX Runtime or llama.cpp: without the exit gate, Node tears the
// worker down under the native call and the process aborts (exit 134, "terminate called after throwing an instance
// of 'Napi::Error'") instead of ending with the caller's code.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelDir, REPO_ROOT } from '../helpers/models.js';

const CHILD = join(REPO_ROOT, 'test', 'reliability', 'helpers', 'exit-mid-score.ts');

function exitMidScore(model: string, delayMs: number, pairs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', CHILD, modelDir(model), String(delayMs), String(pairs)],
      { cwd: REPO_ROOT, timeout: 120_000 },
      (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
}

describe('process.exit() during scoring', () => {
  // Each exit lands at a different point of the call: tokenizing, and well inside ONNX Runtime's batches. The calls
  // outlast the latest exit on a quiet machine: 8,000 tiny pairs take ~7 s (2,000 took 1.4 s), 600 fam-qwen3 ~6 s.
  it.each([
    ['tiny', 400, 8000],
    ['tiny', 900, 8000],
    ['tiny', 1600, 8000],
    ['fam-qwen3', 1500, 600],
  ])('%s, %i ms into the call: the process exits with the caller code', { timeout: 130_000 }, async (...run) => {
    const { code, stdout, stderr } = await exitMidScore(...run);
    expect(stderr).not.toMatch(/terminate called/);
    expect(stdout).toBe('scoring\n');
    expect(code).toBe(3);
  });
});
