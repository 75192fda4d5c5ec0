import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CrossEncoderError, InvalidArgumentError } from '../errors.js';
import type { Scorer } from '../cross-encoder.js';
import { describe } from '../validate.js';
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
  /** When set, rerank routes, `/info` and `/metrics` require `Authorization: Bearer <apiKey>`; `/health` stays open. */
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
   * Longest one request may wait and score in milliseconds; past it the answer is 503 with `Retry-After`.
   * @default 30000
   */
  requestTimeoutMs?: number;
  /** Called once per answered rerank request, without any text: for access logs. */
  onRequest?: (entry: { route: string; status: number; texts: number; ms: number }) => void;
}

const ROUTES = { '/rerank': 'tei', '/v1/rerank': 'cohere-v1', '/v2/rerank': 'cohere-v2' } as const;

/**
 * An HTTP server on a cross-encoder, speaking Text Embeddings Inference's `/rerank` and the Cohere-style
 * `/v1/rerank` and `/v2/rerank`, with `/health`, `/info` and Prometheus `/metrics`. It keeps no state between
 * requests, so replicas behind any load balancer scale it.
 *
 * @example
 * const server = await RerankServer.start({ scorer: await CrossEncoder.load('./model'), port: 8080 });
 * // ... later
 * await server.close();
 */
export class RerankServer {
  readonly #server: Server;
  readonly #options: Required<Omit<RerankServerOptions, 'apiKey' | 'onRequest'>> &
    Pick<RerankServerOptions, 'apiKey' | 'onRequest'>;
  readonly #batcher: MicroBatcher;
  readonly #metrics = new ServerMetrics();
  #inFlight = 0;
  #draining = false;
  #closing: Promise<void> | undefined;

  private constructor(options: RerankServerOptions) {
    this.#options = resolveOptions(options);
    this.#batcher = new MicroBatcher(
      this.#options.scorer,
      {
        microBatch: this.#options.microBatch,
        maxBatchTokens: this.#options.maxBatchTokens,
        maxPairTokens: this.#options.maxPairTokens,
        maxQueuedRequests: this.#options.maxQueuedRequests,
      },
      (requests, pairs) => this.#metrics.batch(requests, pairs),
    );
    this.#server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void this.#handle(req, res));
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
   * Stops taking requests (new ones and `/health` get 503), finishes those in flight, then closes every connection.
   * Calling it twice returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#draining = true;
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      while (this.#inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      await this.#batcher.idle();
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] as string;
    const route = (ROUTES as Record<string, (typeof ROUTES)[keyof typeof ROUTES]>)[path];
    let texts = 0;
    let status = 500;
    this.#inFlight++;
    try {
      if (this.#draining) {
        res.setHeader('connection', 'close');
        throw new HttpError(503, 'shutting_down', 'the server is shutting down; retry on another replica', 1);
      }
      if (path === '/health') {
        status = send(res, 200, { status: 'ok' });
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
        res.end(this.#metrics.render({ depth: this.#batcher.depth, inFlight: this.#inFlight }));
        status = 200;
        return;
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        throw new HttpError(405, 'method_not_allowed', `${path} takes POST with a JSON body`);
      }
      const body = await readJson(req, this.#options.maxBodyBytes);
      const job = parseRerankBody(route as (typeof ROUTES)[keyof typeof ROUTES], body, this.#options);
      texts = job.texts.length;
      const scores = await this.#score(req, job.query, job.texts, job.rawScores, job.instruction);
      status = send(
        res,
        200,
        rerankAnswer(route as (typeof ROUTES)[keyof typeof ROUTES], job, scores, this.#options.modelName),
      );
    } catch (error) {
      status = this.#fail(res, error);
    } finally {
      this.#inFlight--;
      if (route !== undefined) {
        const ms = performance.now() - started;
        this.#metrics.request(path, status, ms / 1000);
        this.#options.onRequest?.({ route: path, status, texts, ms });
      }
    }
  }

  async #score(
    req: IncomingMessage,
    query: string,
    texts: string[],
    rawScores: boolean,
    instruction?: string,
  ): Promise<number[]> {
    const controller = new AbortController();
    const timeoutMs = this.#options.requestTimeoutMs;
    const timer = setTimeout(
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
    // A client that hangs up no longer needs its place in the queue.
    const onClose = () => controller.abort(new HttpError(499, 'client_closed', 'the client closed the connection'));
    req.socket.once('close', onClose);
    try {
      return await this.#batcher.submit(query, texts, rawScores, controller.signal, instruction);
    } finally {
      clearTimeout(timer);
      req.socket.off('close', onClose);
    }
  }

  #authorize(req: IncomingMessage): void {
    const key = this.#options.apiKey;
    if (key === undefined) return;
    const header = req.headers.authorization ?? '';
    if (header !== `Bearer ${key}`) {
      throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token; send Authorization: Bearer <key>');
    }
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

  #fail(res: ServerResponse, error: unknown): number {
    let http: HttpError;
    if (error instanceof HttpError) http = error;
    else if (CrossEncoderError.isInstance(error) && error.code === 'INVALID_ARGUMENT') {
      http = new HttpError(422, 'validation', error.message);
    } else if (CrossEncoderError.isInstance(error)) {
      http = new HttpError(500, 'backend', `${error.code}: ${error.message}`);
    } else {
      http = new HttpError(500, 'internal', 'the model failed to score this request');
    }
    if (res.headersSent || res.destroyed) return http.status;
    if (http.retryAfterS !== undefined) res.setHeader('retry-after', String(http.retryAfterS));
    return send(res, http.status, { error: http.message, error_type: http.type });
  }
}

function send(res: ServerResponse, status: number, body: unknown): number {
  if (res.destroyed) return status;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

/** Reads a JSON body up to `limit` bytes: 413 past it (checked on `content-length` first), 400 when not JSON. */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
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
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
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
  if (options.port !== undefined && int(options.port, 'port', 0, 0) > 65535) {
    throw new InvalidArgumentError('options.port', `expected a port from 0 to 65535, got ${options.port}.`);
  }
  return {
    scorer: options.scorer,
    modelName: options.modelName ?? 'cross-encoder',
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    apiKey: options.apiKey,
    microBatch: options.microBatch ?? true,
    maxBatchTokens: int(options.maxBatchTokens, 'maxBatchTokens', 16_384, 1),
    maxPairTokens: int(options.maxPairTokens, 'maxPairTokens', 512, 1),
    maxQueuedRequests: int(options.maxQueuedRequests, 'maxQueuedRequests', 256, 1),
    maxBodyBytes: int(options.maxBodyBytes, 'maxBodyBytes', 4 * 1024 * 1024, 1),
    maxTexts: int(options.maxTexts, 'maxTexts', 1000, 1),
    maxTextChars: int(options.maxTextChars, 'maxTextChars', 100_000, 1),
    requestTimeoutMs: int(options.requestTimeoutMs, 'requestTimeoutMs', 30_000, 1),
    onRequest: options.onRequest,
  };
}
