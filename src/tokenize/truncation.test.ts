import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cut, pairLengths } from './truncation.js';

describe('pairLengths (longest_first)', () => {
  it('keeps both sides when they fit', () => {
    expect(pairLengths(3, 4, 10, 'longest_first')).toEqual([3, 4]);
  });

  it('cuts only the longer side while the shorter fits in its share', () => {
    expect(pairLengths(4, 50, 20, 'longest_first')).toEqual([4, 16]);
    expect(pairLengths(50, 4, 20, 'longest_first')).toEqual([16, 4]);
  });

  it('halves the budget when both sides overflow it, the odd token going to the longer side', () => {
    expect(pairLengths(30, 40, 11, 'longest_first')).toEqual([5, 6]);
    expect(pairLengths(40, 30, 11, 'longest_first')).toEqual([6, 5]);
    expect(pairLengths(8, 20, 10, 'longest_first')).toEqual([5, 5]);
  });

  it('keeps the whole query with only_second and falls back when the query alone overflows', () => {
    expect(pairLengths(8, 20, 10, 'only_second')).toEqual([8, 2]);
    expect(pairLengths(12, 20, 10, 'only_second')).toEqual([5, 5]);
  });

  it('never exceeds the budget or grows a side', () => {
    fc.assert(
      fc.property(
        fc.nat(600),
        fc.nat(600),
        fc.nat(520),
        fc.constantFrom('longest_first' as const, 'only_second' as const),
        (q, p, budget, strategy) => {
          const [qk, pk] = pairLengths(q, p, budget, strategy);
          expect(qk + pk).toBeLessThanOrEqual(Math.max(budget, q + p <= budget ? q + p : budget));
          expect(qk).toBeLessThanOrEqual(q);
          expect(pk).toBeLessThanOrEqual(p);
          expect(qk).toBeGreaterThanOrEqual(0);
          expect(pk).toBeGreaterThanOrEqual(0);
          if (q + p > budget) expect(qk + pk).toBe(budget);
        },
      ),
    );
  });
});

describe('cut', () => {
  it('keeps the head on the right side and the tail on the left', () => {
    expect(cut([1, 2, 3, 4], 2, 'right')).toEqual([1, 2]);
    expect(cut([1, 2, 3, 4], 2, 'left')).toEqual([3, 4]);
    const ids = [1, 2];
    expect(cut(ids, 5, 'right')).toBe(ids);
  });
});
