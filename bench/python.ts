// A long-lived sentence-transformers process (bench/st_bench.py) driven one JSON line at a time.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './workloads.js';

export const PYTHON = process.env['BENCH_PYTHON'] ?? join(ROOT, '.venv', 'bin', 'python');
export const ST_SCRIPT = join(ROOT, 'bench', 'st_bench.py');

/** Thread variables so torch, numpy and ONNX Runtime in Python use the same thread count as the JS runners. */
export function threadEnv(threads: number): NodeJS.ProcessEnv {
  const n = String(threads);
  return {
    ...process.env,
    OMP_NUM_THREADS: n,
    MKL_NUM_THREADS: n,
    OPENBLAS_NUM_THREADS: n,
    TOKENIZERS_PARALLELISM: 'false',
    TRANSFORMERS_OFFLINE: '1',
    HF_HUB_OFFLINE: '1',
  };
}

export class PythonProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  constructor(threads: number) {
    this.#child = spawn(PYTHON, [ST_SCRIPT], { env: threadEnv(threads), stdio: 'pipe' });
    this.#child.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-4000);
    });
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async call<T extends Record<string, unknown>>(message: Record<string, unknown>): Promise<T> {
    this.#child.stdin.write(`${JSON.stringify(message)}\n`);
    const next = await this.#lines.next();
    if (next.done === true) throw new Error(`st_bench.py exited: ${this.#stderr}`);
    const reply = JSON.parse(next.value) as T & { ok: boolean; error?: string };
    if (!reply.ok) throw new Error(`st_bench.py ${String(message['cmd'])}: ${reply.error ?? 'failed'}`);
    return reply;
  }

  async close(): Promise<void> {
    try {
      await this.call({ cmd: 'quit' });
    } catch {
      this.#child.kill();
    }
  }
}
