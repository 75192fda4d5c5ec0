import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whatever folder the test runner started in. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run models` writes the project's own models. */
export const MODELS_DIR = join(REPO_ROOT, 'models');

/** The evaluation data that sits beside the repository. */
export const DATA_DIR = resolve(REPO_ROOT, '..', 'shared', 'data');

/** The folder of a project-built model; fails loudly when the models were not built, rather than skipping. */
export function modelDir(name: string): string {
  const dir = join(MODELS_DIR, name);
  if (!existsSync(join(dir, 'config.json'))) {
    throw new Error(`${dir} is missing: run \`npm run models\` to build the test models.`);
  }
  return dir;
}

/** Reads a golden file written by tools/golden.py. */
export async function readGolden<T>(name: string): Promise<T> {
  const path = join(MODELS_DIR, 'golden', `${name}.json`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run models\`.`);
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** A throwaway copy of a model folder, for tests that break or remove files. */
export async function copyModel(name: string): Promise<string> {
  const target = await mkdtemp(join(tmpdir(), `lce-${name}-`));
  await cp(modelDir(name), target, { recursive: true });
  return target;
}

/** Freezes an object graph so any mutation by the code under test throws in strict mode. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}
