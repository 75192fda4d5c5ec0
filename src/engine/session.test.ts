import { describe, expect, it } from 'vitest';
import { resolveSessionOptions } from './session.js';

describe('session options', () => {
  it('turns off intra-op spinning and inter-op threads by default', () => {
    const options = resolveSessionOptions({ threads: 3 });
    expect(options.intraOpNumThreads).toBe(3);
    expect(options.interOpNumThreads).toBe(1);
    expect(options.graphOptimizationLevel).toBe('all');
    expect(options.extra).toEqual({ session: { intra_op: { allow_spinning: '0' } } });
  });

  it('leaves the thread count to ONNX Runtime when none is given', () => {
    expect(resolveSessionOptions({})).not.toHaveProperty('intraOpNumThreads');
  });

  it("lets ortOptions turn spinning back on and keeps the caller's other extra entries", () => {
    const options = resolveSessionOptions({
      ortOptions: {
        graphOptimizationLevel: 'basic',
        extra: { session: { intra_op: { allow_spinning: '1' }, set_denormal_as_zero: '1' }, other: 'x' },
      },
    });
    expect(options.graphOptimizationLevel).toBe('basic');
    expect(options.extra).toEqual({
      session: { intra_op: { allow_spinning: '1' }, set_denormal_as_zero: '1' },
      other: 'x',
    });
  });
});
