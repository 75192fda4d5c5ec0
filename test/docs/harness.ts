// What the docs tests share: the local models that stand in for the ones the guides name, and how a block or an
// app is run in a child process.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MODELS_DIR } from '../helpers/models.js';

/** tsx's loader, by path, so a block runs wherever its working folder is. */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** Hub ids the guides use, and the local model folder that answers for each. */
export const HUB_MODELS: Record<string, string> = {
  'Xenova/ms-marco-MiniLM-L-6-v2': join(MODELS_DIR, 'tiny'),
  'Xenova/all-MiniLM-L6-v2': join(MODELS_DIR, 'all-MiniLM-L6-v2'),
};
/** Folder names the guides use for local models (`./models/<name>`), and what stands in for each. */
export const LOCAL_MODELS: Record<string, string> = {
  'ms-marco-MiniLM-L-6-v2': join(MODELS_DIR, 'tiny'),
  'all-MiniLM-L6-v2': join(MODELS_DIR, 'all-MiniLM-L6-v2'),
  'Qwen3-Reranker-0.6B-ONNX': join(MODELS_DIR, 'fam-qwen3'),
};

/** Why the docs' code cannot run in this checkout (a stand-in model is not built), printed; undefined when it can. */
export function modelsMissing(): string | undefined {
  const missing = Object.values(LOCAL_MODELS).filter((dir) => !existsSync(join(dir, 'config.json')));
  if (missing.length === 0) return undefined;
  const reason = `skipped: the documentation's code needs ${missing.join(', ')}; run \`npm run models\` first.`;
  console.warn(reason);
  return reason;
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, or kills it after `timeoutMs`. */
export function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An environment with the hub at `endpoint`, a fresh cache, and nothing of the caller's hub settings. */
export function hubEnv(endpoint: string, cacheDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of ['HF_TOKEN', 'HF_HUB_OFFLINE', 'XDG_CACHE_HOME']) delete env[key];
  return { ...env, HF_ENDPOINT: endpoint, LANGCHAIN_CROSS_ENCODER_CACHE: cacheDir };
}
