import { describe, expect, it } from 'vitest';
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
