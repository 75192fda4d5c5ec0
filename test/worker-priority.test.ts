import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CrossEncoder, InvalidArgumentError } from '../src/index.js';

const TINY = join(import.meta.dirname, '..', 'models', 'tiny');

/** The nice value in a /proc stat line: field 19, the 17th after the command name's closing parenthesis. */
function niceOf(statPath: string): number | undefined {
  try {
    const stat = readFileSync(statPath, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  } catch {
    return undefined; // the thread ended between listing and reading
  }
}

function threadNices(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const nice = niceOf(`/proc/self/task/${tid}/stat`);
    if (nice !== undefined) out.set(tid, nice);
  }
  return out;
}

/** The nice values of the threads that appeared since `before`. */
function newThreadNices(before: Map<string, number>): number[] {
  return [...threadNices()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
}

describe('worker thread priority', () => {
  // A caller already at 19 has no lower priority left to give.
  const callerNice = process.platform === 'linux' ? (niceOf('/proc/thread-self/stat') ?? 0) : 0;
  const lower = Math.min(19, callerNice + 5);

  it.runIf(process.platform === 'linux' && callerNice < 19)(
    'lowers the worker and its ONNX Runtime threads, not the caller',
    async () => {
      const callerBefore = niceOf('/proc/thread-self/stat');
      const before = threadNices();
      const model = await CrossEncoder.load(TINY, { workerNice: lower, threads: 2 });
      try {
        // The worker thread plus at least one ONNX Runtime pool thread for 2 intra-op threads.
        expect(newThreadNices(before).filter((nice) => nice === lower).length).toBeGreaterThanOrEqual(2);
        expect(niceOf('/proc/thread-self/stat')).toBe(callerBefore);
        const alone = await CrossEncoder.load(TINY, { workerNice: 0, worker: false });
        const pairs: [string, string][] = [
          ['what is a cross-encoder', 'A cross-encoder reads the query and the passage together.'],
          ['what is a cross-encoder', 'Bananas are rich in potassium.'],
        ];
        expect(await model.score(pairs)).toEqual(await alone.score(pairs));
        await alone.dispose();
      } finally {
        await model.dispose();
      }
    },
  );

  it.runIf(process.platform === 'linux')('leaves priorities alone with workerNice 0', async () => {
    const before = threadNices();
    const model = await CrossEncoder.load(TINY, { workerNice: 0 });
    try {
      const nices = newThreadNices(before);
      expect(nices.length).toBeGreaterThan(0);
      expect(nices.every((nice) => nice === niceOf('/proc/thread-self/stat'))).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('rejects a nice value outside 0-19 before loading anything', async () => {
    for (const bad of [-1, 20, 1.5, '5', null]) {
      const error = await CrossEncoder.load('./no/such/model', { workerNice: bad as number }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).parameter).toBe('options.workerNice');
    }
  });
});
