// The scoring worker: owns one model, answers requests one at a time, so the caller's event loop stays free.
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { abortError } from '../errors.js';
import { toWire } from './wire-error.js';
import { PairModel } from './pair-model.js';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.js';

if (parentPort === null) throw new Error('worker.ts runs only as a worker thread.');
const port: MessagePort = parentPort;

const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const queued = new Set<number>();
const cancelled = new Set<number>();
/** When each score request reached this thread: the time it then waits is reported as queued. */
const arrived = new Map<number, number>();
let queue: Promise<void> = Promise.resolve();

async function handle(model: PairModel, message: ToWorker): Promise<void> {
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
          shouldStop: () => cancelled.has(id),
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
      // Closing the port lets the thread end once idle. Deno's port has no close(); there exiting ends only this
      // worker, which is what the caller waits for.
      if (typeof port.close === 'function') port.close();
      else process.exit(0);
      return;
    case 'cancel':
      return;
  }
}

const start = workerData as WorkerStart;

// Linux keeps a nice value per thread and new threads inherit it, so lowering this thread's priority before the
// session exists also lowers ONNX Runtime's pool threads, and the caller's event loop wins the CPU whenever it
// needs it. Elsewhere the call would change the whole process, so it is not made. A caller already running nicer
// than asked keeps its own value.
if (start.nice > 0 && process.platform === 'linux') {
  try {
    if (getPriority() < start.nice) setPriority(start.nice);
  } catch {
    // A sandbox may refuse it; scoring works the same, only without the lower priority.
  }
}

try {
  const model = await PairModel.open(start.spec);
  port.on('message', (message: ToWorker) => {
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
    queue = queue.then(() => handle(model, message));
  });
  send({ type: 'ready', info: model.info });
} catch (error) {
  send({ type: 'failed', error: toWire(error) });
}
