import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CrossEncoder } from '../src/index.js';
import { copyModel } from './helpers/models.js';

// The activation sentence-transformers 6 applies by default, case by case (its CrossEncoder reads
// config_sentence_transformers.json only for a folder with modules.json whose file says model_type CrossEncoder,
// and trusts only torch class paths).

const IDENTITY = 'torch.nn.modules.linear.Identity';
const PAIRS: [string, string][] = [
  ['what is a tower', 'a tall structure'],
  ['bread', 'sourdough starter'],
];

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, JSON.stringify(value));
}

async function defaultScoreIsRaw(setup: (dir: string) => Promise<void>): Promise<boolean> {
  const dir = await copyModel('tiny');
  await setup(dir);
  const model = await CrossEncoder.load(dir, { worker: false });
  try {
    const [auto, raw] = [await model.score(PAIRS), await model.score(PAIRS, { activation: 'none' })];
    return auto.every((score, i) => score === raw[i]);
  } finally {
    await model.dispose();
  }
}

describe('default activation, as sentence-transformers decides it', () => {
  it('Identity saved by a CrossEncoder with modules.json: raw logits', async () => {
    const raw = await defaultScoreIsRaw(async (dir) => {
      const path = join(dir, 'config_sentence_transformers.json');
      const st = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      await writeJson(path, { ...st, activation_fn: IDENTITY });
    });
    expect(raw).toBe(true);
  });

  it('Identity in config_sentence_transformers.json but no modules.json: sigmoid', async () => {
    const raw = await defaultScoreIsRaw(async (dir) => {
      await writeJson(join(dir, 'config_sentence_transformers.json'), {
        model_type: 'CrossEncoder',
        activation_fn: IDENTITY,
      });
      await rm(join(dir, 'modules.json'));
    });
    expect(raw).toBe(false);
  });

  it('Identity in a file without model_type (a bi-encoder file): sigmoid', async () => {
    const raw = await defaultScoreIsRaw((dir) =>
      writeJson(join(dir, 'config_sentence_transformers.json'), { activation_fn: IDENTITY }),
    );
    expect(raw).toBe(false);
  });

  it('Identity under a class path outside torch: sigmoid', async () => {
    const raw = await defaultScoreIsRaw((dir) =>
      writeJson(join(dir, 'config_sentence_transformers.json'), {
        model_type: 'CrossEncoder',
        activation_fn: 'my_package.Identity',
      }),
    );
    expect(raw).toBe(false);
  });

  it('Identity in config.json (sentence-transformers 3) with no file of its own: raw logits', async () => {
    const raw = await defaultScoreIsRaw(async (dir) => {
      await rm(join(dir, 'config_sentence_transformers.json'));
      const path = join(dir, 'config.json');
      const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
      await writeJson(path, { ...config, sentence_transformers: { activation_fn: IDENTITY } });
    });
    expect(raw).toBe(true);
  });
});
