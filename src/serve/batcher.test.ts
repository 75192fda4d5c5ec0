import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { NonFiniteScoreError } from '../errors.js';
import type { Scorer } from '../cross-encoder.js';
import type { ScoreOptions, TextPair } from '../types.js';
import { MicroBatcher, type BatcherOptions } from './batcher.js';
import { HttpError } from './http-error.js';

// A scorer whose score names its pair, so a score sliced to the wrong request is caught; it records each call.
function recordingScorer(): Scorer & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    async score(pairs: readonly TextPair[]) {
      calls.push(pairs.length);
      await new Promise((resolve) => setTimeout(resolve, 1));
      return pairs.map(([q, p]) => Number(q) * 1000 + Number(p));
    },
    async rank() {
      return [];
    },
  };
}

const options = (extra: Partial<BatcherOptions> = {}): BatcherOptions => ({
  microBatch: true,
  maxBatchTokens: 1_000_000,
  maxPairTokens: 512,
  maxQueuedRequests: 10_000,
  maxQueuedBytes: 1 << 30,
  admissionMs: 0,
  ...extra,
});

const never = (): AbortSignal => new AbortController().signal;

describe('MicroBatcher', () => {
  it('merges concurrent requests and gives each request exactly its own scores', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 30 }), async (sizes) => {
        const scorer = recordingScorer();
        const batcher = new MicroBatcher(scorer, options(), () => {});
        const answers = await Promise.all(
          sizes.map((size, q) =>
            batcher.submit(
              String(q),
              Array.from({ length: size }, (_, p) => String(p)),
              false,
              never(),
            ),
          ),
        );
        answers.forEach((scores, q) => expect(scores).toEqual(scores.map((_, p) => q * 1000 + p)));
        // The first request goes alone; everything that arrived meanwhile shares the next call.
        expect(scorer.calls.length).toBeLessThanOrEqual(Math.min(2, sizes.length));
      }),
      { numRuns: 30 },
    );
  });

  it('keeps merged calls under the token budget, a lone oversized request included', async () => {
    const scorer = recordingScorer();
    // Each pair of '1' + '1' estimates to 4 tokens; a budget of 40 holds 10 pairs.
    const batcher = new MicroBatcher(scorer, options({ maxBatchTokens: 40 }), () => {});
    await Promise.all([
      batcher.submit('1', Array(3).fill('1'), false, never()),
      batcher.submit('1', Array(6).fill('1'), false, never()),
      batcher.submit('1', Array(6).fill('1'), false, never()),
      batcher.submit('1', Array(30).fill('1'), false, never()),
    ]);
    expect(scorer.calls).toEqual([3, 6, 6, 30]);
  });

  it('merges only requests with the same instruction, and hands each call its instruction', async () => {
    const calls: [string | undefined, number][] = [];
    const scorer: Scorer = {
      async score(pairs: readonly TextPair[], opts?: ScoreOptions) {
        calls.push([(opts as { instruction?: string } | undefined)?.instruction, pairs.length]);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return pairs.map(() => 0);
      },
      async rank() {
        return [];
      },
    };
    const batcher = new MicroBatcher(scorer, options(), () => {});
    // The first runs at once; of those waiting behind it, the two with instruction 'b' merge, the others do not.
    await Promise.all([
      batcher.submit('1', ['1'], false, never(), 'a'),
      batcher.submit('1', ['1'], false, never(), 'b'),
      batcher.submit('1', ['1', '2'], false, never(), 'b'),
      batcher.submit('1', ['1'], false, never(), 'a'),
      batcher.submit('1', ['1'], false, never()),
    ]);
    expect(calls).toEqual([
      ['a', 1],
      ['b', 3],
      ['a', 1],
      [undefined, 1],
    ]);
  });

  it('sends each request on its own without micro-batching', async () => {
    const scorer = recordingScorer();
    const batcher = new MicroBatcher(scorer, options({ microBatch: false }), () => {});
    await Promise.all([1, 2, 3].map((n) => batcher.submit('1', Array(n).fill('1'), false, never())));
    expect(scorer.calls.sort()).toEqual([1, 2, 3]);
  });

  it('answers 429 with Retry-After once the queue is full, and loses nothing it accepted', async () => {
    const scorer = recordingScorer();
    const batcher = new MicroBatcher(scorer, options({ maxQueuedRequests: 2 }), () => {});
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, q) => batcher.submit(String(q), ['1'], false, never())),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    // One runs at once, two wait, three are refused.
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      const error = (r as PromiseRejectedResult).reason as HttpError;
      expect(error).toBeInstanceOf(HttpError);
      expect(error.status).toBe(429);
      expect(error.retryAfterS).toBeGreaterThan(0);
    }
    results.forEach((r, q) => {
      if (r.status === 'fulfilled') expect(r.value).toEqual([q * 1000 + 1]);
    });
  });

  it('drops a waiting request whose signal fires, and scores the rest', async () => {
    const scorer = recordingScorer();
    const batcher = new MicroBatcher(scorer, options(), () => {});
    const first = batcher.submit('1', ['1'], false, never());
    const controller = new AbortController();
    const dropped = batcher.submit('2', ['1', '2'], false, controller.signal);
    const kept = batcher.submit('3', ['1'], false, never());
    expect(batcher.depth).toBe(2);
    controller.abort(new Error('client left'));
    await expect(dropped).rejects.toThrow('client left');
    expect(batcher.depth).toBe(1);
    expect(await first).toEqual([1001]);
    expect(await kept).toEqual([3001]);
    expect(scorer.calls).toEqual([1, 1]);
  });

  it('keeps raw-score requests out of activated calls', async () => {
    const seen: unknown[] = [];
    const scorer: Scorer = {
      async score(pairs, opts) {
        seen.push((opts as { activation?: string }).activation);
        return pairs.map(() => 0);
      },
      async rank() {
        return [];
      },
    };
    const batcher = new MicroBatcher(scorer, options(), () => {});
    await Promise.all([
      batcher.submit('1', ['1'], false, never()),
      batcher.submit('1', ['1'], true, never()),
      batcher.submit('1', ['1'], false, never()),
    ]);
    expect(seen).toEqual([undefined, 'none', undefined]);
  });

  it('passes an engine failure to every request of that call only', async () => {
    let call = 0;
    const scorer: Scorer = {
      async score(pairs) {
        call++;
        if (call === 2) throw new Error('engine failed');
        return pairs.map(() => call);
      },
      async rank() {
        return [];
      },
    };
    const batcher = new MicroBatcher(scorer, options(), () => {});
    const results = await Promise.allSettled([
      batcher.submit('1', ['1'], false, never()),
      batcher.submit('1', ['1'], false, never()),
      batcher.submit('1', ['1'], false, never()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(await batcher.submit('1', ['1'], false, never())).toEqual([3]);
  });
});

describe('MicroBatcher under overload', () => {
  // A scorer that holds each call until released, recording the signal it was given.
  function heldScorer() {
    const calls: { pairs: readonly TextPair[]; signal: AbortSignal | undefined; release: () => void }[] = [];
    const scorer: Scorer = {
      score(pairs, opts) {
        return new Promise((resolve, reject) => {
          const signal = (opts as { signal?: AbortSignal }).signal;
          signal?.addEventListener('abort', () => reject(new Error('aborted')));
          calls.push({ pairs, signal, release: () => resolve(pairs.map(() => 1)) });
        });
      },
      async rank() {
        return [];
      },
    };
    return { scorer, calls };
  }

  it('bounds the queue without micro-batching too', async () => {
    const { scorer, calls } = heldScorer();
    const batcher = new MicroBatcher(scorer, options({ microBatch: false, maxQueuedRequests: 2 }), () => {});
    const results = Array.from({ length: 10 }, () => batcher.submit('1', ['1'], false, never()));
    const settled = await Promise.allSettled(results.slice(3));
    expect(settled.every((r) => r.status === 'rejected' && (r.reason as HttpError).status === 429)).toBe(true);
    expect(batcher.depth).toBe(2);
    for (let i = 0; i < 3; i++) {
      await vi.waitFor(() => expect(calls).toHaveLength(i + 1));
      calls[i]?.release();
    }
    expect(await Promise.all(results.slice(0, 3))).toEqual([[1], [1], [1]]);
  });

  it('bounds the queue in bytes of text', async () => {
    const { scorer, calls } = heldScorer();
    const batcher = new MicroBatcher(scorer, options({ maxQueuedBytes: 4000 }), () => {});
    const first = batcher.submit('q', ['x'.repeat(1000)], false, never());
    const refused = batcher.submit('q', ['x'.repeat(1500)], false, never());
    await expect(refused).rejects.toMatchObject({ status: 429 });
    calls[0]?.release();
    expect(await first).toEqual([1]);
  });

  it('bounds the bytes of the first request too: one larger than the queue may hold is 413, alone or not', async () => {
    const { scorer, calls } = heldScorer();
    const batcher = new MicroBatcher(scorer, options({ maxQueuedBytes: 4000 }), () => {});
    // 2 * (1 + 2500) bytes with nothing else held: no retry would fit it, so it is not a 429 either.
    await expect(batcher.submit('q', ['x'.repeat(2500)], false, never())).rejects.toMatchObject({
      status: 413,
      type: 'payload_too_large',
    });
    expect(calls).toHaveLength(0);
    const fits = batcher.submit('q', ['x'.repeat(1500)], false, never());
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    calls[0]?.release();
    expect(await fits).toEqual([1]);
  });

  it('aborts the engine call once every request in it has ended', async () => {
    const { scorer, calls } = heldScorer();
    const batcher = new MicroBatcher(scorer, options(), () => {});
    const a = new AbortController();
    const b = new AbortController();
    const first = batcher.submit('1', ['1'], false, a.signal);
    const held = batcher.submit('2', ['1'], false, never());
    const second = batcher.submit('3', ['1'], false, b.signal);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    a.abort(new Error('timed out'));
    await expect(first).rejects.toThrow('timed out');
    expect(calls[0]?.signal?.aborted).toBe(true);
    // The next call merges the two that waited; one leaving does not stop it, the other still waits for it.
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    b.abort(new Error('client left'));
    await expect(second).rejects.toThrow('client left');
    expect(calls[1]?.signal?.aborted).toBe(false);
    calls[1]?.release();
    expect(await held).toEqual([1]);
  });

  it('fails only the request whose pairs break a merged call', async () => {
    const gate = heldScorer();
    let blocking = true;
    const scorer: Scorer = {
      async score(pairs, opts) {
        if (blocking) return gate.scorer.score(pairs, opts);
        if (pairs.some(([, text]) => text === 'nan')) throw new NonFiniteScoreError('The model produced NaN.');
        return pairs.map(() => 2);
      },
      async rank() {
        return [];
      },
    };
    const batcher = new MicroBatcher(scorer, options(), () => {});
    const first = batcher.submit('q', ['1'], false, never());
    const merged = [
      batcher.submit('q', ['1'], false, never()),
      batcher.submit('q', ['nan'], false, never()),
      batcher.submit('q', ['1'], false, never()),
    ];
    await vi.waitFor(() => expect(gate.calls).toHaveLength(1));
    blocking = false;
    gate.calls[0]?.release();
    expect(await first).toEqual([1]);
    const results = await Promise.allSettled(merged);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(NonFiniteScoreError.isInstance((results[1] as PromiseRejectedResult).reason)).toBe(true);
  });

  it('refuses with 413 a request that alone would run past the time limit, once speed is known', async () => {
    let clock = 0;
    const scorer: Scorer = {
      async score(pairs) {
        // The engine's clock advances 1 ms per pair: ~104 estimated tokens per ms for these texts.
        clock += pairs.length;
        return pairs.map(() => 0);
      },
      async rank() {
        return [];
      },
    };
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock);
    try {
      const batcher = new MicroBatcher(scorer, options({ admissionMs: 100, maxPairTokens: 512 }), () => {});
      // Measured on 100 texts; 1,000 would take ~1,000 ms against a 100 ms limit, 10 take ~10 ms.
      const text = 'w'.repeat(400);
      await batcher.submit('q', Array(100).fill(text), false, never());
      const tooBig = batcher.submit('q', Array(1000).fill(text), false, never());
      await expect(tooBig).rejects.toMatchObject({ status: 413, type: 'too_costly' });
      await expect(tooBig).rejects.toThrow(/at most \d+ texts/);
      expect(await batcher.submit('q', Array(10).fill(text), false, never())).toHaveLength(10);
    } finally {
      now.mockRestore();
    }
  });
});
