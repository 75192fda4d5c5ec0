import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CrossEncoderError, InvalidArgumentError } from '../errors.js';
import type { Scorer } from '../cross-encoder.js';
import { describe, MAX_TIMEOUT_MS, timeoutTooLong } from '../validate.js';
import { MicroBatcher } from './batcher.js';
import { HttpError } from './http-error.js';
import { ServerMetrics } from './metrics.js';
import { parseRerankBody, rerankAnswer } from './protocol.js';

/** How a {@link RerankServer} listens, merges and limits. */
export interface RerankServerOptions {
  /** The model to serve: a loaded `CrossEncoder`, or any scorer. The server never disposes it. */
  scorer: Scorer;
  /**
   * The model name reported by `/info` and in Cohere-style answers.
   * @default 'cross-encoder'
   */
  modelName?: string;
  /**
   * Port to listen on; 0 picks a free one.
   * @default 8080
   */
  port?: number;
  /**
   * Address to bind. `0.0.0.0` exposes the server to the network: set `apiKey` or put it behind a proxy.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * When set, rerank routes, `/info` and `/metrics` require `Authorization: Bearer <apiKey>`; `/health` and `/ready`
   * stay open. An empty key is refused.
   */
  apiKey?: string;
  /**
   * Merge concurrent requests into one engine call up to `maxBatchTokens`; `false` scores each request on its own.
   * @default true
   */
  microBatch?: boolean;
  /**
   * Estimated tokens in one merged engine call.
   * @default 16384
   */
  maxBatchTokens?: number;
  /**
   * Longest pair the model reads in tokens (caps the size estimate of a long text).
   * @default 512
   */
  maxPairTokens?: number;
  /**
   * Requests waiting for the engine beyond which new ones are answered 429 with `Retry-After`.
   * @default 256
   */
  maxQueuedRequests?: number;
  /**
   * Text held by waiting and running requests, in bytes (two per character), beyond which new requests get 429.
   * @default 67108864 (64 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * Refuse what cannot finish in time: once the engine's speed is measured, a request that alone would take longer
   * than `requestTimeoutMs` gets 413 with the number of texts that would fit, and one that would finish past it
   * behind the queue gets 429.
   * @default true
   */
  admission?: boolean;
  /**
   * Most open connections; further ones are closed as soon as they are accepted.
   * @default 1024
   */
  maxConnections?: number;
  /**
   * Longest `close()` waits for requests in flight; past it they are answered 503, their engine work is stopped and
   * every connection is closed. Keep it below the orchestrator's grace period (Kubernetes: 30 s).
   * @default 10000
   */
  drainTimeoutMs?: number;
  /**
   * Largest request body in bytes; larger ones get 413.
   * @default 4194304 (4 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Most texts in one request; more get 422 (TEI's `max_client_batch_size`).
   * @default 1000
   */
  maxTexts?: number;
  /**
   * Longest query or text in characters; longer ones get 422. The engine truncates to the model's length anyway;
   * this only bounds the work of tokenizing.
   * @default 100000
   */
  maxTextChars?: number;
  /**
   * Longest one request may take in milliseconds, from its first byte to its answer (uploading, waiting and scoring);
   * past it the answer is 503 with `Retry-After` and its engine work stops.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /** Called once per answered rerank request, without any text: for access logs. An exception in it is ignored. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Called once per request answered 5xx, with the cause (never document text). An exception in it is ignored. */
  onError?: (entry: ErrorLogEntry) => void;
}

/** One answered rerank request. */
export interface RequestLogEntry {
  route: string;
  status: number;
  texts: number;
  ms: number;
}

/** One request that failed on the server's side. */
export interface ErrorLogEntry {
  route: string;
  status: number;
  /** The answer's `error_type`, e.g. `timeout` or `backend`. */
  type: string;
  /** The engine error's code, when the engine failed. */
  code?: string;
  /** The full cause, for the operator: it may name files on the server, never document text. */
  message: string;
}

/** What `/health` and `/ready` report. */
type Readiness = { ok: true } | { ok: false; reason: string };

const ROUTES = { '/rerank': 'tei', '/v1/rerank': 'cohere-v1', '/v2/rerank': 'cohere-v2' } as const;
type Route = (typeof ROUTES)[keyof typeof ROUTES];

/** A scorer that can say whether it is usable, e.g. a `CrossEncoder` whose worker is being replaced. */
interface StatefulScorer {
  readonly state?: unknown;
}

/**
 * An HTTP server on a cross-encoder, speaking Text Embeddings Inference's `/rerank` and the Cohere-style
 * `/v1/rerank` and `/v2/rerank`, with `/health`, `/ready`, `/info` and Prometheus `/metrics`. It keeps no state
 * between requests, so replicas behind any load balancer scale it.
 *
 * @example
 * const server = await RerankServer.start({ scorer: await CrossEncoder.load('./model'), port: 8080 });
 * // ... later
 * await server.close();
 */
export class RerankServer {
  readonly #server: Server;
  readonly #options: ReturnType<typeof resolveOptions>;
  readonly #batcher: MicroBatcher;
  readonly #metrics = new ServerMetrics();
  /** Rerank requests being read, queued or scored, each with the controller that ends it. */
  readonly #inFlight = new Set<AbortController>();
  #draining = false;
  #closing: Promise<void> | undefined;

  private constructor(options: RerankServerOptions) {
    this.#options = resolveOptions(options);
    const { requestTimeoutMs } = this.#options;
    this.#batcher = new MicroBatcher(
      this.#options.scorer,
      {
        microBatch: this.#options.microBatch,
        maxBatchTokens: this.#options.maxBatchTokens,
        maxPairTokens: this.#options.maxPairTokens,
        maxQueuedRequests: this.#options.maxQueuedRequests,
        maxQueuedBytes: this.#options.maxQueuedBytes,
        admissionMs: this.#options.admission ? requestTimeoutMs : 0,
      },
      ({ requests, pairs }) => this.#metrics.batch(requests, pairs),
    );
    this.#server = createServer(
      {
        keepAliveTimeout: 65_000,
        // Node's own limits on reading a request, checked every second rather than every 30 s, so a stalled upload
        // ends with the request's time limit instead of Node's 300 s default.
        requestTimeout: requestTimeoutMs,
        headersTimeout: Math.min(60_000, requestTimeoutMs),
        connectionsCheckingInterval: 1_000,
      },
      (req, res) => void this.#handle(req, res),
    );
    this.#server.maxConnections = this.#options.maxConnections;
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: RerankServerOptions): Promise<RerankServer> {
    const server = new RerankServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(server.#options.port, server.#options.host, () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  /** The base URL clients call, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    const address = this.#server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** The bound port. */
  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /**
   * Stops taking requests (new ones, `/health` and `/ready` get 503), finishes those in flight, then closes every
   * connection. Past `drainTimeoutMs` the requests still in flight are answered 503 and their engine work stops, so
   * this resolves within that deadline whatever the clients do. Calling it twice returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#draining = true;
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const deadline = performance.now() + this.#options.drainTimeoutMs;
      while (this.#inFlight.size > 0 && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const cut = new HttpError(503, 'shutting_down', 'the server is shutting down; retry on another replica', 1);
      for (const controller of this.#inFlight) controller.abort(cut);
      // Answers to cut requests are written on the next turns of the loop; give them one before closing sockets.
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] as string;
    const route = (ROUTES as Record<string, Route>)[path];
    let texts = 0;
    let status = 500;
    const controller = new AbortController();
    if (route !== undefined) this.#inFlight.add(controller);
    try {
      if (this.#draining) {
        res.setHeader('connection', 'close');
        throw new HttpError(503, 'shutting_down', 'the server is shutting down; retry on another replica', 1);
      }
      if (path === '/health' || path === '/ready') {
        const state = path === '/health' ? this.#health() : this.#ready();
        status = send(res, state.ok ? 200 : 503, state.ok ? { status: 'ok' } : { status: 'unavailable', ...state });
        return;
      }
      if (route === undefined && path !== '/info' && path !== '/metrics') {
        throw new HttpError(404, 'not_found', `no route ${path}; try POST /rerank, /v1/rerank or /v2/rerank`);
      }
      this.#authorize(req);
      if (path === '/info') {
        status = send(res, 200, this.#info());
        return;
      }
      if (path === '/metrics') {
        res.setHeader('content-type', 'text/plain; version=0.0.4; charset=utf-8');
        res.end(this.#metrics.render({ depth: this.#batcher.depth, inFlight: this.#inFlight.size }));
        status = 200;
        return;
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(405, 'method_not_allowed', `${path} takes POST with a JSON body`);
      }
      const timer = this.#limitTime(controller);
      try {
        const body = await readJson(req, this.#options.maxBodyBytes, controller.signal);
        const job = parseRerankBody(route as Route, body, this.#options);
        texts = job.texts.length;
        const scores = await this.#score(req, controller, job.query, job.texts, job.rawScores, job.instruction);
        status = send(res, 200, rerankAnswer(route as Route, job, scores, this.#options.modelName));
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      status = this.#fail(res, path, error);
    } finally {
      this.#inFlight.delete(controller);
      if (route !== undefined) {
        const ms = performance.now() - started;
        this.#metrics.request(path, status, ms / 1000);
        quietly(() => this.#options.onRequest?.({ route: path, status, texts, ms }));
      }
    }
  }

  /** Ends the request with a 503 once it has taken `requestTimeoutMs` from its first byte. */
  #limitTime(controller: AbortController): NodeJS.Timeout {
    const timeoutMs = this.#options.requestTimeoutMs;
    return setTimeout(
      () =>
        controller.abort(
          new HttpError(
            503,
            'timeout',
            `the request took longer than this server's limit of ${timeoutMs} ms; retry`,
            1,
          ),
        ),
      timeoutMs,
    );
  }

  async #score(
    req: IncomingMessage,
    controller: AbortController,
    query: string,
    texts: string[],
    rawScores: boolean,
    instruction: string | undefined,
  ): Promise<number[]> {
    // A client that hangs up no longer needs its place in the queue, nor the engine's time.
    const onClose = () => controller.abort(new HttpError(499, 'client_closed', 'the client closed the connection'));
    req.socket.once('close', onClose);
    try {
      return await this.#batcher.submit(query, texts, rawScores, controller.signal, instruction);
    } finally {
      req.socket.off('close', onClose);
    }
  }

  #authorize(req: IncomingMessage): void {
    const key = this.#options.apiKeyDigest;
    if (key === undefined) return;
    const given = /^bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() ?? '';
    // Digests of equal length, compared in constant time: the answer's timing says nothing about the key.
    if (!timingSafeEqual(digest(given), key)) {
      throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token; send Authorization: Bearer <key>');
    }
  }

  /** Liveness: the model can score (or is being restarted within its budget). */
  #health(): Readiness {
    const state = (this.#options.scorer as StatefulScorer).state;
    if (state === 'failed' || state === 'disposed') return { ok: false, reason: `the model is ${state}` };
    return { ok: true };
  }

  /** Readiness: the model can score now and the queue has room. */
  #ready(): Readiness {
    const state = (this.#options.scorer as StatefulScorer).state;
    if (state !== undefined && state !== 'ready') return { ok: false, reason: `the model is ${String(state)}` };
    if (this.#batcher.full) return { ok: false, reason: 'the queue is full' };
    return { ok: true };
  }

  #info(): unknown {
    return {
      model_id: this.#options.modelName,
      model_type: { reranker: { id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 } } },
      max_client_batch_size: this.#options.maxTexts,
      max_input_length: this.#options.maxPairTokens,
      max_batch_tokens: this.#options.maxBatchTokens,
      max_concurrent_requests: this.#options.maxQueuedRequests,
      micro_batching: this.#options.microBatch,
      routes: ['/rerank', '/v1/rerank', '/v2/rerank'],
    };
  }

  #fail(res: ServerResponse, route: string, error: unknown): number {
    let http: HttpError;
    let code: string | undefined;
    if (error instanceof HttpError) http = error;
    else if (CrossEncoderError.isInstance(error) && error.code === 'INVALID_ARGUMENT') {
      // The engine's message may quote the input; the answer names only the parameter.
      const parameter = (error as { parameter?: unknown }).parameter;
      http = new HttpError(422, 'validation', `the model refused this request's input (${String(parameter)})`);
    } else if (CrossEncoderError.isInstance(error) && error.code === 'WORKER_EXIT' && this.#health().ok) {
      // The worker died under this request and is being replaced: another try will likely succeed.
      code = error.code;
      http = new HttpError(503, 'backend_restarting', 'the model is restarting after a crash; retry shortly', 1);
    } else if (CrossEncoderError.isInstance(error)) {
      code = error.code;
      // The details (file paths, input shapes) go to the log, not to the client.
      http = new HttpError(
        500,
        'backend',
        `the model failed to score this request (${error.code}); retry or report it`,
      );
    } else {
      http = new HttpError(500, 'internal', 'the model failed to score this request');
    }
    if (http.status >= 500 && http.status !== 503) {
      const message = error instanceof Error ? error.message : String(error);
      quietly(() => this.#options.onError?.({ route, status: http.status, type: http.type, code, message }));
    } else if (http.status === 503) {
      const message = code === undefined ? http.message : (error as Error).message;
      quietly(() => this.#options.onError?.({ route, status: 503, type: http.type, code, message }));
    }
    if (res.headersSent || res.destroyed) return http.status;
    if (http.retryAfterS !== undefined) res.setHeader('retry-after', String(http.retryAfterS));
    if (http.status === 503 && this.#draining) res.setHeader('connection', 'close');
    return send(res, http.status, { error: http.message, error_type: http.type });
  }
}

/** Runs a caller's hook; what it throws must not take the server down. */
function quietly(hook: () => void): void {
  try {
    hook();
  } catch {
    // A logging hook that fails loses one log line, never a request or the process.
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function send(res: ServerResponse, status: number, body: unknown): number {
  if (res.destroyed) return status;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

/**
 * Reads a JSON body up to `limit` bytes: 413 past it (checked on `content-length` first), 400 when not JSON. When
 * `signal` fires first (the request's time limit, a drain), the upload is cut and the signal's reason thrown.
 */
async function readJson(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  const tooLarge = () =>
    new HttpError(
      413,
      'payload_too_large',
      `the body is larger than this server's limit of ${limit} bytes; split the request`,
    );
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const body = new Promise<void>((resolve, reject) => {
    const stop = (error: unknown) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.resume();
        stop(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => stop(undefined);
    const onError = (error: Error) => stop(error);
    const onAbort = () => stop(signal.reason);
    if (signal.aborted) return onAbort();
    req.on('data', onData).on('end', onEnd).on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  await body;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_json', 'the body is not valid JSON');
  }
}

function resolveOptions(options: RerankServerOptions) {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', `expected an options object, got ${describe(options)}.`);
  }
  const scorer = options.scorer as Partial<Scorer> | undefined;
  if (typeof scorer?.score !== 'function') {
    throw new InvalidArgumentError('options.scorer', 'expected a Scorer (e.g. a loaded CrossEncoder).');
  }
  const int = (value: unknown, name: string, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError(
        `options.${name}`,
        `expected an integer of at least ${min}, got ${describe(value)}.`,
      );
    }
    return value;
  };
  // A timer past 2^31-1 ms fires at once: such a limit would time out every request.
  const timer = (ms: number, name: string) => {
    if (ms > MAX_TIMEOUT_MS) throw timeoutTooLong(ms, name);
    return ms;
  };
  if (options.port !== undefined && int(options.port, 'port', 0, 0) > 65535) {
    throw new InvalidArgumentError('options.port', `expected a port from 0 to 65535, got ${options.port}.`);
  }
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey.trim() === '')) {
    throw new InvalidArgumentError(
      'options.apiKey',
      `expected a non-empty key, got ${typeof options.apiKey === 'string' ? 'an empty string' : describe(options.apiKey)}; leave it out to serve without one.`,
    );
  }
  for (const hook of ['onRequest', 'onError'] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== 'function') {
      throw new InvalidArgumentError(`options.${hook}`, `expected a function, got ${describe(options[hook])}.`);
    }
  }
  return {
    scorer: options.scorer,
    modelName: options.modelName ?? 'cross-encoder',
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    apiKeyDigest: options.apiKey === undefined ? undefined : digest(options.apiKey.trim()),
    microBatch: options.microBatch ?? true,
    maxBatchTokens: int(options.maxBatchTokens, 'maxBatchTokens', 16_384, 1),
    maxPairTokens: int(options.maxPairTokens, 'maxPairTokens', 512, 1),
    maxQueuedRequests: int(options.maxQueuedRequests, 'maxQueuedRequests', 256, 1),
    maxQueuedBytes: int(options.maxQueuedBytes, 'maxQueuedBytes', 64 * 1024 * 1024, 1),
    admission: options.admission ?? true,
    maxConnections: int(options.maxConnections, 'maxConnections', 1024, 1),
    drainTimeoutMs: timer(int(options.drainTimeoutMs, 'drainTimeoutMs', 10_000, 0), 'options.drainTimeoutMs'),
    maxBodyBytes: int(options.maxBodyBytes, 'maxBodyBytes', 4 * 1024 * 1024, 1),
    maxTexts: int(options.maxTexts, 'maxTexts', 1000, 1),
    maxTextChars: int(options.maxTextChars, 'maxTextChars', 100_000, 1),
    requestTimeoutMs: timer(int(options.requestTimeoutMs, 'requestTimeoutMs', 30_000, 1), 'options.requestTimeoutMs'),
    onRequest: options.onRequest,
    onError: options.onError,
  };
}
