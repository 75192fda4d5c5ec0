import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBatches } from './batches.js';

describe('planBatches', () => {
  it('places every pair once, longest first, within both limits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 512 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 64 }),
        fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
        (lengths, batchSize, maxTokens) => {
          const batches = planBatches(lengths, batchSize, maxTokens);
          const order = batches.flat();
          expect([...order].sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
          for (let k = 1; k < order.length; k++) {
            expect(lengths[order[k - 1] as number]).toBeGreaterThanOrEqual(lengths[order[k] as number] as number);
          }
          for (const batch of batches) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(batchSize);
            const width = Math.max(...batch.map((i) => lengths[i] as number));
            if (batch.length > 1 && maxTokens !== undefined) {
              expect(batch.length * width).toBeLessThanOrEqual(maxTokens);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('fills each batch as far as the token budget allows', () => {
    const lengths = [100, 90, 90, 80, 10, 10, 10, 10, 10, 10];
    expect(planBatches(lengths, 32, 200)).toEqual([
      [0, 1],
      [2, 3],
      [4, 5, 6, 7, 8, 9],
    ]);
    expect(planBatches(lengths, 4)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    // A pair longer than the budget still gets a pass of its own.
    expect(planBatches([600, 5], 32, 100)).toEqual([[0], [1]]);
  });
});
