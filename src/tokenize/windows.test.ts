import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { passageWindows, tokensNeeded } from './windows.js';

describe('passageWindows', () => {
  it('splits into overlapping windows of the room, half a window apart by default', () => {
    expect(passageWindows(10, 4, { maxChunks: 10, chunkTokens: undefined, strideTokens: undefined })).toEqual({
      ranges: [
        [0, 4],
        [2, 6],
        [4, 8],
        [6, 10],
      ],
      complete: true,
    });
  });

  it('stops at maxChunks and says the passage was not covered', () => {
    expect(passageWindows(100, 10, { maxChunks: 2, chunkTokens: 6, strideTokens: 6 })).toEqual({
      ranges: [
        [0, 6],
        [6, 12],
      ],
      complete: false,
    });
  });

  it('covers every token up to the last window, in windows no wider than asked, within what encoding keeps', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        (length, room, maxChunks, chunkTokens, strideTokens) => {
          const settings = { maxChunks, chunkTokens, strideTokens };
          const { ranges, complete } = passageWindows(length, room, settings);
          const width = Math.min(chunkTokens ?? room, room);
          expect(ranges.length).toBeGreaterThanOrEqual(1);
          expect(ranges.length).toBeLessThanOrEqual(maxChunks);
          expect(ranges[0]?.[0]).toBe(0);
          for (const [start, end] of ranges) {
            expect(end - start).toBeLessThanOrEqual(width);
            expect(end).toBeLessThanOrEqual(length);
          }
          const last = ranges.at(-1) as [number, number];
          expect(complete).toBe(last[1] === length);
          // Encoding keeps tokensNeeded(room) + 1 tokens at least: the windows never reach past them.
          expect(last[1]).toBeLessThanOrEqual(tokensNeeded(room, settings));
          // No gaps, whatever the stride: one longer than the window is cut to it rather than skipping text.
          for (let i = 1; i < ranges.length; i++) {
            expect((ranges[i] as [number, number])[0]).toBeLessThanOrEqual((ranges[i - 1] as [number, number])[1]);
          }
        },
      ),
    );
  });

  it('never skips text when the stride is longer than the window', () => {
    const { ranges, complete } = passageWindows(1000, 100, { maxChunks: 3, chunkTokens: 100, strideTokens: 450 });
    expect(ranges).toEqual([
      [0, 100],
      [100, 200],
      [200, 300],
    ]);
    expect(complete).toBe(false);
  });
});
