import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelFormatError, ModelNotFoundError, OnnxEmbeddings } from '../../src/index.js';

describe('OnnxEmbeddings (no embedding model needed)', () => {
  it('defaults to all-MiniLM-L6-v2 from the hub, batch size 32, normalised', () => {
    const embeddings = new OnnxEmbeddings();
    expect(embeddings.model).toBe('Xenova/all-MiniLM-L6-v2');
    expect(embeddings.batchSize).toBe(32);
    expect(embeddings.normalize).toBe(true);
  });

  it.each([
    [{ model: '' }, /^model:/],
    [{ batchSize: 0 }, /^batchSize:/],
    [{ maxLength: 2 }, /^maxLength:/],
    [{ variant: 'int4' as never }, /^options\.variant:/],
  ])('rejects %o', (options, message) => {
    expect(() => new OnnxEmbeddings(options)).toThrow(InvalidArgumentError);
    expect(() => new OnnxEmbeddings(options)).toThrow(message);
  });

  it('rejects non-string texts before loading anything', async () => {
    const embeddings = new OnnxEmbeddings({ model: '/nowhere' });
    await expect(embeddings.embedDocuments(['ok', 3 as never])).rejects.toThrow(/documents\[1\]/);
    expect(await embeddings.embedDocuments([])).toEqual([]);
  });

  it('refuses a cross-encoder (logits output) with a typed error', async () => {
    const embeddings = new OnnxEmbeddings({ model: path.resolve('models/tiny') });
    await expect(embeddings.embedQuery('hello')).rejects.toBeInstanceOf(ModelFormatError);
  });

  it('forgets a failed load so a later call can retry', async () => {
    const embeddings = new OnnxEmbeddings({ model: '/nowhere/model' });
    await expect(embeddings.warmup()).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(embeddings.warmup()).rejects.toBeInstanceOf(ModelNotFoundError);
  });
});
