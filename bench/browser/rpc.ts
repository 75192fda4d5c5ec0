// Request and answer over a Web Worker's messages, for the benchmark's workers: each request carries an id, each
// answer the same id and either a value or an error message.
export interface Request {
  id: number;
  type: string;
  [key: string]: unknown;
}
export type Answer = { id: number; value: unknown } | { id: number; error: string };

/** The page's side: `call(type, payload)` resolves with the worker's answer. */
export function connect(worker: Worker): (type: string, payload?: Record<string, unknown>) => Promise<unknown> {
  let next = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  worker.addEventListener('message', (event: MessageEvent<Answer>) => {
    const answer = event.data;
    const waiter = pending.get(answer.id);
    pending.delete(answer.id);
    if ('error' in answer) waiter?.reject(new Error(answer.error));
    else waiter?.resolve(answer.value);
  });
  worker.addEventListener('error', (event) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`worker failed: ${event.message}`));
    pending.clear();
  });
  return (type, payload = {}) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, type, ...payload });
    });
}

/** The worker's side: answers each request with what `handle` returns (or throws). */
export function serve(handle: (request: Request) => Promise<unknown>): void {
  const scope = globalThis as unknown as Worker;
  scope.addEventListener('message', (event: MessageEvent<Request>) => {
    const request = event.data;
    handle(request).then(
      (value) => scope.postMessage({ id: request.id, value }),
      (error: unknown) =>
        scope.postMessage({
          id: request.id,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
}
