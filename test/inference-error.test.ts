import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CrossEncoder, CrossEncoderError, InferenceError } from '../src/index.js';
import { copyModel } from './helpers/models.js';

async function editJson(path: string, change: (json: Record<string, unknown>) => void): Promise<void> {
  const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  change(json);
  await writeFile(path, JSON.stringify(json));
}

describe('a failure inside ONNX Runtime', () => {
  // A config that promises more positions than the graph's table holds: the run fails in a Gather node.
  for (const worker of [false, true]) {
    it(`is a typed error naming the model file and the input shapes (worker: ${worker})`, async () => {
      const dir = await copyModel('tiny');
      await editJson(join(dir, 'config.json'), (json) => (json['max_position_embeddings'] = 1024));
      await editJson(join(dir, 'tokenizer_config.json'), (json) => (json['model_max_length'] = 1024));
      // ONNX Runtime also logs the failing node to stderr; this failure is the one expected, so the session logs
      // fatal errors only (severity 4). The typed error below still carries everything.
      const model = await CrossEncoder.load(dir, { worker, ortOptions: { logSeverityLevel: 4 } });
      try {
        const error = await model.score([['query', 'word '.repeat(700)]]).catch((e: unknown) => e);
        expect(InferenceError.isInstance(error) && CrossEncoderError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ code: 'INFERENCE_FAILED', name: 'InferenceError' });
        expect((error as Error).message).toContain(join(dir, 'onnx', 'model.onnx'));
        expect((error as Error).message).toMatch(/input_ids \[1, 7\d\d\]/);
        // The model stays usable for inputs it can take.
        expect(await model.score([['query', 'a short passage']])).toHaveLength(1);
      } finally {
        await model.dispose();
      }
    });
  }
});
