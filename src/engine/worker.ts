// The scoring worker: owns one model, answers requests one at a time, so the caller's event loop stays free. The
// same file is the worker thread of the Node build (dist/worker.js) and the Web Worker of the browser build
// (dist/web-worker.js); the platform gives it its link to the caller.
import { abortError } from '../errors.js';
import { platform } from '../platform/current.js';
import { enterModel, exiting, leaveModel } from './exit-gate.js';
import { toWire } from './wire-error.js';
import { openPairScorer, type PairScorer } from './pair-scorer.js';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.js';

const host = platform.workerHost();

const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => host.post(message, transfer);
const queued = new Set<number>();
const cancelled = new Set<number>();
/** When each score request reached this thread: the time it then waits is reported as queued. */
const arrived = new Map<number, number>();
let queue: Promise<void> = Promise.resolve();

/** A request the queue runs; cancels act at once and never queue. */
type Queued = Exclude<ToWorker, { type: 'cancel' }>;

async function handle(model: PairScorer, message: Queued): Promise<void> {
  switch (message.type) {
    case 'score': {
      const { id } = message;
      const queuedMs = performance.now() - (arrived.get(id) ?? performance.now());
      try {
        if (cancelled.has(id)) throw abortError('Scoring');
        const result = await model.score({
          pairs: message.pairs,
          batchSize: message.batchSize,
          activation: message.activation,
          chunks: message.chunks,
          instruction: message.instruction,
          shouldStop: () => cancelled.has(id) || exiting(start.gate),
        });
        result.stats.queuedMs = queuedMs;
        const transfer = [result.scores.buffer as ArrayBuffer];
        if (result.windows !== undefined) transfer.push(result.windows.buffer as ArrayBuffer);
        send({ type: 'scores', id, result }, transfer);
      } catch (error) {
        send({ type: 'error', id, error: toWire(error) });
      } finally {
        queued.delete(id);
        cancelled.delete(id);
        arrived.delete(id);
      }
      return;
    }
    case 'encode':
      try {
        send({ type: 'encoded', id: message.id, pair: await model.encode(message.query, message.passage) });
      } catch (error) {
        send({ type: 'error', id: message.id, error: toWire(error) });
      }
      return;
    case 'release':
      await model.release();
      send({ type: 'released' });
      host.close();
      return;
  }
}

const start = (await host.start()) as WorkerStart;
platform.lowerPriority(start.nice);

/** Runs `work`, which calls the model, unless the process is exiting (see exit-gate.ts). */
async function gated<T>(work: () => Promise<T>): Promise<T | undefined> {
  if (!enterModel(start.gate)) return undefined;
  try {
    return await work();
  } finally {
    leaveModel(start.gate);
  }
}

try {
  const model = await gated(() => openPairScorer(start.spec));
  // Undefined only when the process is exiting: nobody is left to tell.
  if (model === undefined) throw abortError('Loading');
  host.onMessage((data) => {
    const message = data as ToWorker;
    // Cancels act at once: the request in flight polls the set between batches.
    if (message.type === 'cancel') {
      if (queued.has(message.id)) cancelled.add(message.id);
      return;
    }
    // Release jumps the queue: everything queued or running stops at its next batch boundary, so the thread is
    // freed within one batch instead of after every request ahead of it.
    if (message.type === 'release') for (const id of queued) cancelled.add(id);
    if (message.type === 'score') {
      queued.add(message.id);
      arrived.set(message.id, performance.now());
    }
    queue = queue.then(() => gated(() => handle(model, message)));
  });
  send({ type: 'ready', info: model.info });
} catch (error) {
  send({ type: 'failed', error: toWire(error) });
}
