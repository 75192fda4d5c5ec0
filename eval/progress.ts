/** Where progress goes: `process.stderr` or anything with `write` (tests). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

/** A progress reporter for a known amount of work. */
export interface Progress {
  /** Reports `done` units finished out of the total. */
  update(done: number): void;
  /** Ends the line (TTY) or prints the final count if it was not printed yet. */
  finish(): void;
}

const WIDTH = 24;

/**
 * A progress bar. On a TTY it redraws one line in place; elsewhere (CI logs, files) it prints a
 * plain line each time another ~10% is done, so logs stay short.
 */
export function createProgress(label: string, total: number, stream: ProgressStream): Progress {
  const started = Date.now();
  let lastDecile = -1;
  let last = 0;
  const line = (done: number): string => {
    const fraction = total > 0 ? Math.min(done / total, 1) : 1;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
    return `${label} ${pct} ${done}/${total} ${seconds}s`;
  };
  return {
    update(done) {
      last = done;
      if (stream.isTTY) {
        const filled = total > 0 ? Math.round((Math.min(done, total) / total) * WIDTH) : WIDTH;
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
        stream.write(`\r\x1b[2K${line(done).replace(label, `${label} ${bar}`)}`);
        return;
      }
      const decile = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${line(done)}\n`);
      }
    },
    finish() {
      if (stream.isTTY) stream.write('\n');
      else if (lastDecile < 10) stream.write(`${line(last)}\n`);
    },
  };
}
