import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../errors.js';
import { parseModelConfig } from './config.js';

describe('parseModelConfig', () => {
  it('reads labels and position limits, minus the RoBERTa offset', () => {
    expect(
      parseModelConfig({ model_type: 'bert', id2label: { 0: 'a' }, max_position_embeddings: 512 }, 'c'),
    ).toMatchObject({
      numLabels: 1,
      maxPositions: 512,
    });
    expect(
      parseModelConfig(
        { model_type: 'xlm-roberta', num_labels: 1, max_position_embeddings: 514, pad_token_id: 1 },
        'c',
      ),
    ).toMatchObject({
      maxPositions: 512,
    });
  });

  it('finds the saved activation where each sentence-transformers release put it', () => {
    const current = { model_type: 'CrossEncoder', activation_fn: 'torch.nn.modules.linear.Identity' };
    expect(parseModelConfig({}, 'c', current).savedActivation).toBe('none');
    const v3 = { sentence_transformers: { activation_fn: 'torch.nn.modules.activation.Sigmoid' } };
    expect(parseModelConfig(v3, 'c').savedActivation).toBe('sigmoid');
    const v2 = { sbert_ce_default_activation_function: 'torch.nn.modules.linear.Identity' };
    expect(parseModelConfig(v2, 'c').savedActivation).toBe('none');
    expect(parseModelConfig({}, 'c').savedActivation).toBeUndefined();
  });

  it('follows sentence-transformers where it ignores a saved activation', () => {
    const identity = 'torch.nn.modules.linear.Identity';
    // A config_sentence_transformers.json of a bi-encoder (no model_type means SentenceTransformer) is not read.
    expect(parseModelConfig({}, 'c', { activation_fn: identity }).savedActivation).toBeUndefined();
    // Class paths outside torch need remote code, which sentence-transformers does not trust by default.
    expect(
      parseModelConfig({}, 'c', { model_type: 'CrossEncoder', activation_fn: 'my.Identity' }).savedActivation,
    ).toBeUndefined();
    expect(
      parseModelConfig({ sbert_ce_default_activation_function: 'x.Identity' }, 'c').savedActivation,
    ).toBeUndefined();
    // An untrusted one in the CrossEncoder file falls back to config.json's.
    const legacy = { sentence_transformers: { activation_fn: identity } };
    expect(
      parseModelConfig(legacy, 'c', { model_type: 'CrossEncoder', activation_fn: 'my.Sigmoid' }).savedActivation,
    ).toBe('none');
  });

  it('infers the positions a RoBERTa-style model reserves from its padding index, whatever its model type', () => {
    const positions = (config: Record<string, unknown>) => parseModelConfig(config, 'c').maxPositions;
    expect(positions({ model_type: 'my-roberta', max_position_embeddings: 514, pad_token_id: 1 })).toBe(512);
    expect(positions({ model_type: 'longformer', max_position_embeddings: 4098, pad_token_id: 1 })).toBe(4096);
    expect(positions({ model_type: 'bert', max_position_embeddings: 512, pad_token_id: 0 })).toBe(512);
    expect(positions({ model_type: 'electra', max_position_embeddings: 512 })).toBe(512);
    expect(positions({ model_type: 'modernbert', max_position_embeddings: 8192, pad_token_id: 50283 })).toBe(8192);
    expect(positions({ model_type: 'x', max_position_embeddings: 512, pad_token_id: 1 })).toBe(512);
  });

  it('reads the hidden width under the names model families give it', () => {
    expect(parseModelConfig({ hidden_size: 384 }, 'c').hiddenSize).toBe(384);
    expect(parseModelConfig({ model_type: 'distilbert', dim: 768 }, 'c').hiddenSize).toBe(768);
    expect(parseModelConfig({ d_model: 512 }, 'c').hiddenSize).toBe(512);
    expect(parseModelConfig({ hidden_size: 'wide' }, 'c').hiddenSize).toBeUndefined();
    expect(parseModelConfig({}, 'c').hiddenSize).toBeUndefined();
  });

  it('rejects a malformed id2label', () => {
    expect(() => parseModelConfig({ id2label: 'two' }, 'config.json')).toThrow(ModelFormatError);
  });
});
