// A Symbol.for marker survives two copies of this package in one process,
// where `instanceof` would not.
const MARKER = Symbol.for('langchain-cross-encoder.error');
// The markers the AI SDK's `isInstance` checks look for (the same in @ai-sdk/provider 3.x and 4.x).
const AI_SDK_ERROR_MARKER = Symbol.for('vercel.ai.error');
const AI_SDK_NO_SUCH_MODEL_MARKER = Symbol.for('vercel.ai.error.AI_NoSuchModelError');

/** Every error this package throws on purpose. `code` is stable; the message says what to do. */
export class CrossEncoderError extends Error {
  /** A stable identifier of the error kind, e.g. `INVALID_ARGUMENT`: match on it, not on the message. */
  readonly code: string;
  /** @internal Recognises errors from any copy of this package (see `isInstance`). */
  readonly [MARKER] = true;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** Whether `error` was thrown by this package, even by another copy of it in the same process, where `instanceof` fails. */
  static isInstance(error: unknown): error is CrossEncoderError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** A caller passed a value the API cannot use: a wrong type, an empty query, an option out of range. */
export class InvalidArgumentError extends CrossEncoderError {
  /** The parameter at fault, e.g. `query` or `options.batchSize`. */
  readonly parameter: string;

  constructor(parameter: string, message: string) {
    super('INVALID_ARGUMENT', `${parameter}: ${message}`);
    this.parameter = parameter;
  }
}

/** A model folder, hub repository or one of its files does not exist. */
export class ModelNotFoundError extends CrossEncoderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_NOT_FOUND', message, options);
  }
}

/** A model file exists but cannot be used: corrupt ONNX, malformed JSON, missing graph inputs, outputs that are not logits. */
export class ModelFormatError extends CrossEncoderError {
  /** The file at fault, when one is. */
  readonly file: string | undefined;

  constructor(message: string, options?: { cause?: unknown; file?: string }) {
    super('MODEL_FORMAT', message, options);
    this.file = options?.file;
  }
}

/**
 * ONNX Runtime could not open a session for a reason other than the file: an execution provider whose library is
 * missing, a thread setting or raw `ortOptions` it refuses. The model file is not at fault and is left alone.
 */
export class SessionOpenError extends CrossEncoderError {
  /** The ONNX file the session was for. */
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('SESSION_OPEN', message, options);
    this.file = file;
  }
}

/** A download from the model hub failed: HTTP status, network, size cap, cut-off body. */
export class DownloadError extends CrossEncoderError {
  /** The URL that failed. */
  readonly url: string;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(url: string, message: string, options?: { cause?: unknown; status?: number }) {
    super('DOWNLOAD_FAILED', message, options);
    this.url = url;
    this.status = options?.status;
  }
}

/** Offline mode (`localFilesOnly` or `HF_HUB_OFFLINE=1`) and the file is not in the cache. */
export class OfflineError extends CrossEncoderError {
  constructor(message: string) {
    super('OFFLINE', message);
  }
}

/** A package the local engine runs on (ONNX Runtime, the tokenizer binding) is not installed where it is needed. */
export class MissingDependencyError extends CrossEncoderError {
  /** The package to install. */
  readonly packageName: string;

  constructor(packageName: string, message: string, options?: { cause?: unknown }) {
    super('MISSING_DEPENDENCY', message, options);
    this.packageName = packageName;
  }
}

/** The cache folder cannot be created or written. */
export class CacheError extends CrossEncoderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CACHE', message, options);
  }
}

/** The model produced NaN or ±Infinity: broken weights, or an fp16 overflow. */
export class NonFiniteScoreError extends CrossEncoderError {
  constructor(message: string) {
    super('NON_FINITE_SCORE', message);
  }
}

/**
 * ONNX Runtime failed while running the model: an input it cannot take (a sequence longer than the position table,
 * a token id past the vocabulary), or a graph that fails at run time. The message names the file and input shapes.
 */
export class InferenceError extends CrossEncoderError {
  /** The ONNX file that failed. */
  readonly file: string | undefined;

  constructor(message: string, options?: { cause?: unknown; file?: string }) {
    super('INFERENCE_FAILED', message, options);
    this.file = options?.file;
  }
}

/** The caller's AbortSignal fired, or the call ran past its timeout. */
export class AbortError extends CrossEncoderError {
  constructor(message = 'The operation was aborted.', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/**
 * The one way an aborted call fails: `what` (e.g. `'Scoring'`) was aborted, or timed out when `timeout` is given or
 * the signal's reason is a `TimeoutError`. `cause` is the signal's reason.
 */
export function abortError(what: string, cause?: unknown, timeout?: { ms: number; setting: string }): AbortError {
  const timedOut = timeout !== undefined || (cause instanceof Error && cause.name === 'TimeoutError');
  const message = !timedOut
    ? `${what} was aborted.`
    : timeout === undefined
      ? `${what} timed out.`
      : `${what} timed out after ${timeout.ms} ms (${timeout.setting}).`;
  return new AbortError(message, cause === undefined ? undefined : { cause });
}

/**
 * The thread that runs the model died while it held the call: its JavaScript failed (an uncaught error, its heap out
 * of memory) or it was terminated. The backend starts a new one, so a retry usually succeeds; past its restart budget
 * the model is failed for good and must be loaded again. A crash inside ONNX Runtime or llama.cpp is not one of
 * these: it ends the whole process.
 */
export class WorkerExitError extends CrossEncoderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WORKER_EXIT', message, options);
  }
}

/** The model, or a reranker, was used after `dispose()`. */
export class DisposedError extends CrossEncoderError {
  constructor(message = 'This model has been disposed; load it again to keep scoring.') {
    super('DISPOSED', message);
  }
}

/**
 * A rerank server answered with an error, sent something that is not a rerank answer, or could not be reached after
 * every retry. Carries the HTTP status and the server's own message, never the documents sent.
 */
export class RemoteScorerError extends CrossEncoderError {
  /** The endpoint called, e.g. `http://127.0.0.1:8080/rerank`. */
  readonly url: string;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** The server's own error text (its JSON `error`/`message`, or the start of its body), when it sent one. */
  readonly serverMessage: string | undefined;
  /** Tries made, first one included. */
  readonly attempts: number;

  constructor(
    url: string,
    message: string,
    options?: { cause?: unknown; status?: number; serverMessage?: string; attempts?: number },
  ) {
    super('REMOTE_SCORER', message, options);
    this.url = url;
    this.status = options?.status;
    this.serverMessage = options?.serverMessage;
    this.attempts = options?.attempts ?? 1;
  }
}

/**
 * A framework asked an adapter for a kind of model it does not offer (the AI SDK provider has reranking models only).
 * It carries the AI SDK's own markers, so `NoSuchModelError.isInstance(error)` from `ai` or `@ai-sdk/provider` is true.
 */
export class NoSuchModelTypeError extends CrossEncoderError {
  /** @internal Marks an AI SDK error for its `isInstance` checks. */
  readonly [AI_SDK_ERROR_MARKER] = true;
  /** @internal Marks a `NoSuchModelError` for its `isInstance` check. */
  readonly [AI_SDK_NO_SUCH_MODEL_MARKER] = true;
  /** The model id asked for. */
  readonly modelId: string;
  /** The kind of model asked for, e.g. `languageModel`. */
  readonly modelType: string;

  constructor(modelId: string, modelType: string, message: string) {
    super('NO_SUCH_MODEL', message);
    this.modelId = modelId;
    this.modelType = modelType;
  }
}
