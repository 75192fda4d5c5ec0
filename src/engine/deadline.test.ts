import { getEventListeners } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { callDeadline, followAbort } from './deadline.js';

describe('followAbort', () => {
  it('puts one listener on a signal however many follow it, and removes it when the last stops', () => {
    const controller = new AbortController();
    const stops = Array.from({ length: 50 }, () => followAbort(controller.signal, () => {}));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    stops.slice(1).forEach((stop) => stop());
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    stops[0]?.();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('calls every follower still following once on abort, none that stopped, and the same function twice if it follows twice', () => {
    const controller = new AbortController();
    const kept = vi.fn();
    const dropped = vi.fn();
    followAbort(controller.signal, kept);
    followAbort(controller.signal, kept);
    const stop = followAbort(controller.signal, dropped);
    stop();
    stop(); // a second stop changes nothing
    controller.abort();
    controller.abort();
    expect(kept).toHaveBeenCalledTimes(2);
    expect(dropped).not.toHaveBeenCalled();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('starts afresh on a signal after all its followers stopped', () => {
    const controller = new AbortController();
    followAbort(controller.signal, () => {})();
    const later = vi.fn();
    followAbort(controller.signal, later);
    controller.abort();
    expect(later).toHaveBeenCalledOnce();
  });
});

describe('callDeadline', () => {
  it('follows a shared caller signal through one listener, released by dispose', () => {
    const controller = new AbortController();
    const deadlines = Array.from({ length: 20 }, () => callDeadline(controller.signal, 60_000));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort(new Error('stop'));
    expect(deadlines.every((d) => d.signal?.aborted && !d.timedOut)).toBe(true);
    deadlines.forEach((d) => d.dispose());
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});
