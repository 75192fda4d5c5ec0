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
      parseModelConfig({ model_type: 'xlm-roberta', num_labels: 1, max_position_embeddings: 514 }, 'c'),
    ).toMatchObject({
      maxPositions: 512,
    });
  });

  it('finds the saved activation where each sentence-transformers release put it', () => {
    const current = { activation_fn: 'torch.nn.modules.linear.Identity' };
    expect(parseModelConfig({}, 'c', current).savedActivation).toBe('none');
    const v3 = { sentence_transformers: { activation_fn: 'torch.nn.modules.activation.Sigmoid' } };
    expect(parseModelConfig(v3, 'c').savedActivation).toBe('sigmoid');
    expect(parseModelConfig({ sbert_ce_default_activation_function: 'x.Identity' }, 'c').savedActivation).toBe('none');
    expect(parseModelConfig({}, 'c').savedActivation).toBeUndefined();
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
