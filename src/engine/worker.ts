// The scoring worker: owns one model, answers requests one at a time, so the caller's event loop stays free.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { AbortError, toWire } from '../errors.js';
import { PairModel, type PairModelSpec } from './pair-model.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

if (parentPort === null) throw new Error('worker.ts runs only as a worker thread.');
const port: MessagePort = parentPort;

const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const queued = new Set<number>();
const cancelled = new Set<number>();
let queue: Promise<void> = Promise.resolve();

async function handle(model: PairModel, message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'score': {
      const { id } = message;
      try {
        if (cancelled.has(id)) throw new AbortError('Scoring was aborted.');
        const scores = await model.score({
          pairs: message.pairs,
          batchSize: message.batchSize,
          activation: message.activation,
          shouldStop: () => cancelled.has(id),
        });
        send({ type: 'scores', id, scores }, [scores.buffer as ArrayBuffer]);
      } catch (error) {
        send({ type: 'error', id, error: toWire(error) });
      } finally {
        queued.delete(id);
        cancelled.delete(id);
      }
      return;
    }
    case 'encode':
      try {
        send({ type: 'encoded', id: message.id, pair: model.encode(message.query, message.passage) });
      } catch (error) {
        send({ type: 'error', id: message.id, error: toWire(error) });
      }
      return;
    case 'release':
      await model.release();
      send({ type: 'released' });
      port.close();
      return;
    case 'cancel':
      return;
  }
}

try {
  const model = await PairModel.open(workerData as PairModelSpec);
  port.on('message', (message: ToWorker) => {
    // Cancels act at once: the request in flight polls the set between batches.
    if (message.type === 'cancel') {
      if (queued.has(message.id)) cancelled.add(message.id);
      return;
    }
    if (message.type === 'score') queued.add(message.id);
    queue = queue.then(() => handle(model, message));
  });
  send({ type: 'ready', info: model.info });
} catch (error) {
  send({ type: 'failed', error: toWire(error) });
}
