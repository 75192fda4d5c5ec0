import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Reads a JSON body up to `limit` bytes: 413 past it (checked on `content-length` first), 400 when not JSON. When
 * `signal` fires first (the request's time limit, a drain), the upload is cut and the signal's reason thrown.
 */
export async function readJson(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<unknown> {
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
    // A request stream fails when its client goes away mid-upload: that is a hang-up, not the server's fault.
    const onError = () => stop(clientClosed());
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

/** What a request gets when its client closes the connection before its answer. */
export function clientClosed(): HttpError {
  return new HttpError(499, 'client_closed', 'the client closed the connection');
}

/**
 * The body limit also bounds what reaches the engine: records rendered to text can be far larger than their JSON
 * (nesting is indented), so the query and texts as scored are counted too, in UTF-8 bytes. Plain strings never
 * grow: their JSON form is at least as long.
 */
export function checkEngineBytes(query: string, texts: readonly string[], limit: number): void {
  let size = Buffer.byteLength(query);
  for (const text of texts) {
    size += Buffer.byteLength(text);
    if (size > limit) {
      throw new HttpError(
        413,
        'payload_too_large',
        `the documents are larger than this server's limit of ${limit} bytes once rendered as text; send fewer ` +
          'or smaller records, or name the fields to score with rank_fields',
      );
    }
  }
}
