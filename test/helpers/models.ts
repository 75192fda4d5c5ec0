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

/** The shared folder beside the repository: evaluation data (`data/`) and the distilled model's parts (`models/`). */
export const SHARED_DIR = resolve(REPO_ROOT, '..', 'shared');

/**
 * Why tests that need a part of ../shared cannot run in this checkout, or undefined when they can; the reason is
 * printed so the skip is never silent. Only a missing shared folder skips: with it present, a model or golden file
 * that was not built still fails loudly.
 */
export function needsShared(part: 'data' | 'models', what: string): string | undefined {
  const dir = join(SHARED_DIR, part);
  if (existsSync(dir)) return undefined;
  const reason =
    `skipped: ${what} needs ${dir}, which is not beside this clone. ` +
    `Put the project's shared folder at ${SHARED_DIR} and run \`npm run models\` to run these tests.`;
  console.warn(reason);
  return reason;
}

/** Skip reason for tests reading the golden files, which `npm run models` builds from ../shared/data. */
export const noGolden = (): string | undefined => needsShared('data', 'models/golden/ (golden files)');

/** Skip reason for tests running models/ce-minilm-l6-ict, which `npm run models` assembles from ../shared/models. */
export const noDistilled = (): string | undefined =>
  needsShared('models', 'models/ce-minilm-l6-ict (the distilled reranker)');

/** The reranker families `npm run models` builds tiny, each with a tokenizer trained through the family's own pipeline. */
export const FAMILY_MODELS = [
  'fam-electra',
  'fam-xlm-roberta',
  'fam-xlm-roberta-2label',
  'fam-deberta-v2',
  'fam-roberta',
  'fam-modernbert',
] as const;

/** The folder of a project-built model; fails loudly when the models were not built, rather than skipping. */
export function modelDir(name: string): string {
  const dir = join(MODELS_DIR, name);
  if (!existsSync(join(dir, 'config.json'))) {
    throw new Error(`${dir} is missing: run \`npm run models\` to build the test models.`);
  }
  return dir;
}

/** Reads a golden file written by tools/golden.py. */
export async function readGolden<T>(name: string, folder = 'golden'): Promise<T> {
  const path = join(MODELS_DIR, folder, `${name}.json`);
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run models\`.`);
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** The rerankers on a language model that tools/decoders.py builds. */
export const DECODER_MODELS = ['fam-qwen3', 'fam-qwen3-kv', 'fam-qwen3-seq-cls'];

/** Prompt ids and raw scores of one instruction at one length, on the golden and the hostile pairs. */
export interface DecoderScored {
  logits: number[];
  ids: number[][];
  hostile_logits: number[];
  hostile_ids: number[][];
}

/** `models/golden-decoders/<model>.json`: sentence-transformers 6.2 on a reranker on a language model. */
export interface DecoderGolden {
  model: string;
  default_instruction: string;
  custom_instruction: string;
  default_activation_fn: string;
  pairs: [string, string][];
  hostile_pairs: [string, string][];
  by_max_length: Record<string, { default: DecoderScored; custom: DecoderScored }>;
}

export function readDecoderGolden(name: string): Promise<DecoderGolden> {
  return readGolden<DecoderGolden>(name, 'golden-decoders');
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
