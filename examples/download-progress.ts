// A fetch for the hub options (`fetch`) that reports each file's download as it streams, so a first run that
// downloads a model shows what it is waiting for. The library downloads through it unchanged.

/** Where progress goes: a terminal gets one line rewritten in place, a log one line per file when it is done. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
}

const size = (bytes: number) => (bytes < 1e6 ? `${Math.ceil(bytes / 1e3)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);

/** Wraps `fetch` so every successful response body reports its bytes to `sink` as they arrive. */
export function progressFetch(sink: ProgressSink = process.stderr, inner = globalThis.fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    if (!response.ok || response.body === null) return response;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    // `/<owner>/<name>/resolve/<revision>/<file>` → `<owner>/<name> <file>`
    const match = /\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(new URL(url).pathname);
    const name = match ? `${decodeURIComponent(match[1]!)} ${decodeURIComponent(match[2]!)}` : url;
    const total = Number(response.headers.get('content-length')) || undefined;
    let received = 0;
    let shown = 0;
    const line = () => `Downloading ${name}: ${size(received)}${total ? ` of ${size(total)}` : ''}`;
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.byteLength;
        const now = Date.now();
        if (sink.isTTY && now - shown > 200) {
          shown = now;
          sink.write(`\r${line()}`);
        }
        controller.enqueue(chunk);
      },
      flush() {
        sink.write(sink.isTTY ? `\r${line()}, done\n` : `${line()}, done\n`);
      },
    });
    return new Response(response.body.pipeThrough(counter), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
