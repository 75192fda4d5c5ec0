// Without @mlc-ai/web-tokenizers installed, loading a model names the missing package, as the other bindings do:
// the tokenizer.json is not blamed, so the model cache is not "repaired" by deleting a good file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { MissingDependencyError, ModelFormatError } from '../errors.js';
import { PairTokenizer } from '../tokenize/tokenizer.js';
import { modelDir } from '../../test/helpers/models.js';
import { loadWebTokenizer } from './web-tokenizer.js';

vi.mock('@mlc-ai/web-tokenizers', () => {
  throw new Error("Cannot find package '@mlc-ai/web-tokenizers'");
});

const tinyJson = readFileSync(join(modelDir('tiny'), 'tokenizer.json'), 'utf8');

describe('the browser tokenizer without its package', () => {
  it('is a MissingDependencyError naming the package, not a damaged tokenizer.json', async () => {
    const error = await PairTokenizer.load(loadWebTokenizer, tinyJson, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect(error).not.toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(
      /@mlc-ai\/web-tokenizers could not be loaded.*npm i @mlc-ai\/web-tokenizers/,
    );
  });
});
