import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CrossEncoderError } from '../errors.js';
import { MicroBatcher } from './batcher.js';
import { checkEngineBytes, clientClosed, readJson } from './body.js';
import { HttpError } from './http-error.js';
import { ServerMetrics } from './metrics.js';
import { parseRerankBody, rerankAnswer } from './protocol.js';
import { digest, resolveOptions, type RerankServerOptions } from './server-options.js';

export type { ErrorLogEntry, RequestLogEntry, RerankServerOptions } from './server-options.js';

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
  /** Wakes `close()` once the last request in flight has ended. */
  #onIdle: (() => void) | undefined;
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
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#options.drainTimeoutMs)));
      await Promise.race([this.#idle(), late]);
      clearTimeout(timer);
      const cut = new HttpError(503, 'shutting_down', 'the server is shutting down; retry on another replica', 1);
      for (const controller of this.#inFlight) controller.abort(cut);
      // Every stage of a request follows its signal, so cut requests write their 503 before their sockets close.
      await this.#idle();
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  /** Resolves once no rerank request is in flight. */
  #idle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#onIdle = resolve));
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
      // A client that hangs up, uploading or waiting, no longer needs its place in the queue, nor the engine's time.
      const onClose = () => controller.abort(clientClosed());
      req.socket.once('close', onClose);
      try {
        const body = await readJson(req, this.#options.maxBodyBytes, controller.signal);
        const job = parseRerankBody(route as Route, body, this.#options);
        texts = job.texts.length;
        checkEngineBytes(job.query, job.texts, this.#options.maxBodyBytes);
        const { query, rawScores, instruction } = job;
        const scores = await this.#batcher.submit(query, job.texts, rawScores, controller.signal, instruction);
        status = send(res, 200, rerankAnswer(route as Route, job, scores, this.#options.modelName));
      } finally {
        clearTimeout(timer);
        req.socket.off('close', onClose);
      }
    } catch (error) {
      status = this.#fail(res, path, error);
    } finally {
      if (this.#inFlight.delete(controller) && this.#inFlight.size === 0) this.#onIdle?.();
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
      max_input_length: this.#options.maxLength ?? this.#options.maxPairTokens,
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

function send(res: ServerResponse, status: number, body: unknown): number {
  if (res.destroyed) return status;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}
