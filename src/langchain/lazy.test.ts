import { describe, expect, it, vi } from 'vitest';
import { Lazy } from './lazy.js';

describe('Lazy', () => {
  it('loads once for every caller, and again after a reset', async () => {
    let loads = 0;
    const lazy = new Lazy(async () => ++loads);
    expect(await Promise.all([lazy.get(), lazy.get()])).toEqual([1, 1]);
    const freed: number[] = [];
    await lazy.reset(async (value) => void freed.push(value));
    expect(freed).toEqual([1]);
    expect(await lazy.get()).toBe(2);
  });

  it('forgets a failed load so the next call tries again, and frees nothing for it', async () => {
    let attempt = 0;
    const lazy = new Lazy(async () => {
      attempt++;
      if (attempt === 1) throw new Error('offline');
      return attempt;
    });
    await expect(lazy.get()).rejects.toThrow('offline');
    expect(await lazy.get()).toBe(2);
    const failing = new Lazy<number>(() => Promise.reject(new Error('broken')));
    await expect(failing.get()).rejects.toThrow('broken');
    let freed = false;
    await failing.reset(async () => void (freed = true));
    expect(freed).toBe(false);
  });
});

describe('Lazy with a backoff', () => {
  it('answers calls within the wait with the last failure, without loading again; the wait doubles', async () => {
    let loads = 0;
    let now = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const lazy = new Lazy<number>(
        async () => {
          loads++;
          if (loads < 3) throw new Error(`attempt ${loads} failed`);
          return loads;
        },
        { firstMs: 1000, maxMs: 60_000 },
      );
      await expect(lazy.get()).rejects.toThrow('attempt 1 failed');
      now = 999;
      await expect(lazy.get()).rejects.toThrow('attempt 1 failed');
      expect(loads).toBe(1);
      now = 1001;
      await expect(lazy.get()).rejects.toThrow('attempt 2 failed');
      now = 2500; // the second wait is 2,000 ms
      await expect(lazy.get()).rejects.toThrow('attempt 2 failed');
      expect(loads).toBe(2);
      now = 3100;
      expect(await lazy.get()).toBe(3);
    } finally {
      clock.mockRestore();
    }
  });
});
