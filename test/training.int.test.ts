// The fine-tuning tool (tools/train_cross_encoder.py) on the CPU: its Python checks (tools/test_training.py: each
// option changes what it claims) and a smoke run of `--recipe mined` (every stage on a slice of DL21 and Cranfield,
// two steps, the model saved and exported), whose output this package then loads and scores with.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { CrossEncoder } from '../src/index.js';
import { DATA_DIR, MODELS_DIR, needsShared, REPO_ROOT } from './helpers/models.js';

const PYTHON = join(REPO_ROOT, '.venv', 'bin', 'python');
const skip = needsShared('data', 'the fine-tuning smoke run (DL21 and Cranfield)');
const root = mkdtempSync(join(tmpdir(), 'train-smoke-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function python(args: string[]): { status: number | null; output: string } {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run \`npm run models\` to build the tooling venv.`);
  const r = spawnSync(PYTHON, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, LCE_DATA: DATA_DIR, TOKENIZERS_PARALLELISM: 'false' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(skip)('fine-tuning tool', () => {
  it('passes its option checks (mining, teacher fusion, position augmentation, --init, the evaluation-set guard)', () => {
    const r = python(['-m', 'unittest', 'discover', '-s', 'tools', '-p', 'test_*.py']);
    expect(r.output).toMatch(/\nOK/);
    expect(r.status, r.output.slice(-4000)).toBe(0);
  }, 900_000);

  it('runs --recipe mined --smoke end to end and writes a model this package loads', async () => {
    const out = join(root, 'smoke');
    // Starts from the shipped reranker when `npm run models` assembled it; otherwise from the bi-encoder.
    const shipped = existsSync(join(MODELS_DIR, 'ce-minilm-l6-ict', 'config.json'));
    const start = shipped ? [] : ['--init', '', '--teacher', 'bi-encoder+bm25', '--miner', 'bi-encoder'];
    const r = python([
      'tools/train_cross_encoder.py',
      '--recipe',
      'mined',
      '--smoke',
      '--threads',
      '2',
      '--teacher-cache',
      join(root, 'cache'),
      '--save-parts',
      '--out',
      out,
      ...start,
    ]);
    expect(r.status, r.output.slice(-4000)).toBe(0);
    expect(r.output).toMatch(/mined negatives with/);
    const training = JSON.parse(readFileSync(join(out, 'training.json'), 'utf8'));
    expect(training.hyperparameters).toMatchObject({ recipe: 'mined', steps: 2, position_rate: 0.5 });
    expect(training.data.mining.negatives).toBeGreaterThan(0);
    for (const file of ['onnx/model.onnx', 'onnx/model_quantized.onnx', 'tuned.part1.fp16.safetensors'])
      expect(existsSync(join(out, file)), file).toBe(true);
    const model = await CrossEncoder.load(out, { worker: false });
    try {
      const [tides, waves] = await model.score([
        ['what causes tides', 'Tides are caused by the pull of the Moon.'],
        ['what causes tides', 'Ocean waves are mostly driven by wind.'],
      ]);
      expect(Number.isFinite(tides) && Number.isFinite(waves)).toBe(true);
    } finally {
      await model.dispose();
    }
  }, 900_000);
});
