/** A request the server refuses: the status, and a JSON body `{error, error_type}` that says what to change. */
export class HttpError extends Error {
  readonly status: number;
  /** A stable kind, TEI-style: `validation`, `payload_too_large`, `overloaded`, `timeout`, `unauthorized`, ... */
  readonly type: string;
  /** Seconds to wait before retrying, sent as `Retry-After`. */
  readonly retryAfterS: number | undefined;

  constructor(status: number, type: string, message: string, retryAfterS?: number) {
    super(message);
    this.status = status;
    this.type = type;
    this.retryAfterS = retryAfterS;
  }
}
