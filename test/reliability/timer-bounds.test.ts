// Every timeout option is slept on a JavaScript timer, which fires at once past 2^31-1 ms: such a value would turn a
// generous limit into an immediate failure, so each option refuses it up front with InvalidArgumentError.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrossEncoder } from '../../src/ai-sdk/index.js';
import { resolveModelFiles } from '../../src/hub/resolve.js';
import { webModelStore } from '../../src/hub/web-store.js';
import { CrossEncoder, InvalidArgumentError, RemoteScorer, RerankServer } from '../../src/index.js';
import { CrossEncoderNodePostprocessor } from '../../src/llamaindex/index.js';
import { CrossEncoderRelevanceScorer } from '../../src/mastra/index.js';
import { runServe } from '../../src/serve/cli.js';
import { FakeScorer } from '../../src/testing/index.js';
import { MAX_TIMEOUT_MS, validateTimeoutMs } from '../../src/validate.js';
import { modelDir } from '../helpers/models.js';

const TOO_LONG = 2 ** 31;

describe('timeouts past the longest timer', () => {
  let model: CrossEncoder;
  beforeAll(async () => {
    model = await CrossEncoder.load(modelDir('tiny'), { worker: false });
  });
  afterAll(async () => model?.dispose());

  it('the shared check keeps the largest timer and refuses one more', () => {
    expect(validateTimeoutMs(MAX_TIMEOUT_MS, 'x')).toBe(MAX_TIMEOUT_MS);
    expect(() => validateTimeoutMs(TOO_LONG, 'budgetMs')).toThrow(InvalidArgumentError);
    expect(() => validateTimeoutMs(TOO_LONG, 'budgetMs')).toThrow(/budgetMs.*2147483647/);
  });

  it('rank and score refuse such a timeoutMs rather than time out at once', async () => {
    await expect(model.rank('q', ['a', 'b'], { timeoutMs: TOO_LONG })).rejects.toThrow(InvalidArgumentError);
    await expect(model.score([['q', 'a']], { timeoutMs: TOO_LONG })).rejects.toThrow(/options\.timeoutMs/);
    await expect(model.rank('q', ['a'], { timeoutMs: MAX_TIMEOUT_MS })).resolves.toHaveLength(1);
  });

  it('the server and the serve command refuse such request and drain timeouts', async () => {
    const scorer = new FakeScorer();
    await expect(RerankServer.start({ scorer, port: 0, requestTimeoutMs: TOO_LONG })).rejects.toThrow(
      /options\.requestTimeoutMs/,
    );
    await expect(RerankServer.start({ scorer, port: 0, drainTimeoutMs: TOO_LONG })).rejects.toThrow(
      /options\.drainTimeoutMs/,
    );
    for (const flag of ['--request-timeout-ms', '--drain-timeout-ms']) {
      const stderr: string[] = [];
      const code = await runServe(['--model', 'x', flag, String(TOO_LONG)], {
        loadScorer: async () => scorer,
        stdout: { write: () => true },
        stderr: { write: (text: string) => stderr.push(text) },
        env: {},
      });
      expect(code).toBe(2);
      expect(stderr.join('')).toContain(`${flag} must be at most ${MAX_TIMEOUT_MS}`);
    }
  });

  it('downloads refuse such a downloadTimeoutMs on both stores', async () => {
    const options = { downloadTimeoutMs: TOO_LONG };
    await expect(resolveModelFiles('org/model', [{ path: 'config.json' }], options)).rejects.toThrow(
      /options\.downloadTimeoutMs/,
    );
    await expect(webModelStore.resolve('org/model', [{ path: 'config.json' }], options)).rejects.toThrow(
      /options\.downloadTimeoutMs/,
    );
  });

  it('RemoteScorer and the framework adapters refuse it too', () => {
    const url = 'http://127.0.0.1:9';
    expect(() => new RemoteScorer({ url, timeoutMs: TOO_LONG })).toThrow(/timeoutMs/);
    expect(() => new RemoteScorer({ url, retryMaxMs: TOO_LONG })).toThrow(/retryMaxMs/);
    expect(() => new CrossEncoderRelevanceScorer({ model: new FakeScorer(), timeoutMs: TOO_LONG })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new CrossEncoderNodePostprocessor({ model: new FakeScorer(), timeoutMs: TOO_LONG })).toThrow(
      InvalidArgumentError,
    );
    const provider = createCrossEncoder({ scorer: new FakeScorer() });
    expect(() => provider.rerankingModel('m', { timeoutMs: TOO_LONG })).toThrow(/timeoutMs/);
  });
});
