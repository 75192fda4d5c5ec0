// A process that exits while its scoring worker is inside ONNX Runtime or llama.cpp aborts: Node tears the worker's
// thread down under the native call, and the binding's return into JavaScript that no longer runs throws a C++
// exception nobody catches (exit code 134, "terminate called after throwing an instance of 'Napi::Error'"). The gate
// is one shared word between the exiting thread and the worker: the worker marks each stretch in which it calls the
// model; the exiting thread asks it to stop at its next batch boundary and blocks until it is back in JavaScript, so
// the teardown finds it idle and the process ends with the caller's exit code.

const STATE = 0;
const STOP = 1;
const IDLE = 0;
const BUSY = 1;
const CLOSED = 2;

/**
 * The longest an exit waits for the worker to leave the model (one batch, or loading a model). Past it the exit
 * goes on as it would without the gate.
 */
const EXIT_WAIT_MS = 30_000;

/** `[state, stop]` in shared memory; `undefined` where there is no SharedArrayBuffer (and no process exit). */
export type ExitGate = Int32Array | undefined;

export function createExitGate(): ExitGate {
  // Browsers without cross-origin isolation have no SharedArrayBuffer; pages have no exit to guard either.
  return typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(8)) : undefined;
}

/** In the worker, before calling the model: `false` once the process is exiting, and then nothing may start. */
export function enterModel(gate: ExitGate): boolean {
  return gate === undefined || Atomics.compareExchange(gate, STATE, IDLE, BUSY) === IDLE;
}

/** In the worker, once back from the model. */
export function leaveModel(gate: ExitGate): void {
  if (gate === undefined) return;
  Atomics.store(gate, STATE, IDLE);
  Atomics.notify(gate, STATE);
}

/** In the worker, between batches: whether the process is exiting, so the call in progress should stop. */
export function exiting(gate: ExitGate): boolean {
  return gate !== undefined && Atomics.load(gate, STOP) === 1;
}

/** On the exiting thread: stops the worker at its next batch boundary and waits until it has left the model. */
export function closeGate(gate: ExitGate): void {
  if (gate === undefined) return;
  Atomics.store(gate, STOP, 1);
  const deadline = performance.now() + EXIT_WAIT_MS;
  while (Atomics.compareExchange(gate, STATE, IDLE, CLOSED) === BUSY) {
    const left = deadline - performance.now();
    if (left <= 0) return;
    Atomics.wait(gate, STATE, BUSY, left);
  }
}
