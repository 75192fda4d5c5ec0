// Which models the examples can reach, best first, and one line saying which they use: the project's own build
// in models/, else the hub default (already cached, or downloaded on this first run with progress), else none.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CrossEncoder, DEFAULT_EMBEDDING_MODEL, DEFAULT_MODEL, OnnxEmbeddings } from '../src/index.js';
import { progressFetch, type ProgressSink } from './download-progress.js';

export interface ModelChoice {
  /** What to pass as `model`, or undefined when no model can be reached. */
  model: string | undefined;
  /** Where it comes from. */
  source: 'flag' | 'local' | 'cache' | 'hub' | 'none';
  /** Hub options to load it with: a fetch that shows download progress when the model will be downloaded. */
  hub: { fetch?: typeof fetch };
  /** One line for the example to print: the model and where it comes from, or both ways to get one. */
  line: string;
}

export interface PickOptions {
  /** The model named on the command line, used as given. */
  flag?: string | undefined;
  /** The repository's models/ folder. */
  modelsDir: string;
  /** Where download progress goes. @default process.stderr */
  progress?: ProgressSink;
  /** Used to ask the hub whether it answers, and for downloads. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** How long to wait for the hub's answer in milliseconds. @default 5000 */
  hubTimeoutMs?: number;
}

interface Kind {
  label: 'Reranker' | 'Embeddings';
  local: string;
  hubId: string;
  /** What the example does without one, and the start of the sentence naming both ways to get one. */
  without: string;
  /** Loads the hub model from the cache alone; rejects when any file is missing there. */
  loadCached(id: string): Promise<void>;
}

const RERANKER: Kind = {
  label: 'Reranker',
  local: 'ce-minilm-l6-ict',
  hubId: DEFAULT_MODEL,
  without: 'none, so this shows the vector search alone. To rerank,',
  async loadCached(id) {
    await (await CrossEncoder.load(id, { localFilesOnly: true, worker: false })).dispose();
  },
};

const EMBEDDINGS: Kind = {
  label: 'Embeddings',
  local: 'all-MiniLM-L6-v2',
  hubId: DEFAULT_EMBEDDING_MODEL,
  without: 'none, so there is nothing to search with. To get one,',
  async loadCached(id) {
    const embeddings = new OnnxEmbeddings({ model: id, localFilesOnly: true });
    try {
      await embeddings.warmup();
    } finally {
      await embeddings.dispose();
    }
  },
};

/** The reranker: models/ce-minilm-l6-ict (distilled, built from ../shared), else the hub default, else none. */
export function pickReranker(options: PickOptions): Promise<ModelChoice> {
  return pick(RERANKER, options);
}

/** The embedding model: models/all-MiniLM-L6-v2, else the hub default, else none. */
export function pickEmbeddings(options: PickOptions): Promise<ModelChoice> {
  return pick(EMBEDDINGS, options);
}

/**
 * Both models of a search example, embeddings first: without them there is nothing to search, and a line about the
 * reranker would only confuse, so then only that is printed, the exit code is set to 1 and `undefined` is returned.
 */
export async function pickSearchModels(
  flags: { embeddingModel?: string | undefined; model?: string | undefined },
  modelsDir: string,
): Promise<{ embeddings: ModelChoice & { model: string }; reranker: ModelChoice } | undefined> {
  const embeddings = await pickEmbeddings({ flag: flags.embeddingModel, modelsDir });
  if (embeddings.model === undefined) {
    console.log(embeddings.line);
    process.exitCode = 1;
    return undefined;
  }
  const reranker = await pickReranker({ flag: flags.model, modelsDir });
  return { embeddings: embeddings as ModelChoice & { model: string }, reranker };
}

/** Why the hub cannot be used now, or undefined when it answers for `id`. */
async function hubUnreachable(id: string, options: PickOptions): Promise<string | undefined> {
  if (/^(1|true|yes|on)$/i.test(process.env['HF_HUB_OFFLINE'] ?? '')) return 'HF_HUB_OFFLINE is set';
  const endpoint = (process.env['HF_ENDPOINT'] || 'https://huggingface.co').replace(/\/+$/, '');
  const url = `${endpoint}/${id}/resolve/main/config.json`;
  try {
    const response = await (options.fetch ?? globalThis.fetch)(url, {
      method: 'HEAD',
      signal: AbortSignal.timeout(options.hubTimeoutMs ?? 5000),
    });
    return response.ok ? undefined : `${endpoint} answered ${response.status} for ${id}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return `${endpoint} did not answer: ${cause ?? (error as Error).message}`;
  }
}

async function pick(kind: Kind, options: PickOptions): Promise<ModelChoice> {
  if (options.flag !== undefined) {
    return {
      model: options.flag,
      source: 'flag',
      hub: { fetch: progressFetch(options.progress, options.fetch) },
      line: `${kind.label}: ${options.flag}`,
    };
  }
  const local = path.join(options.modelsDir, kind.local);
  if (existsSync(path.join(local, 'onnx', 'model.onnx'))) {
    return { model: local, source: 'local', hub: {}, line: `${kind.label}: ${local}` };
  }
  const notBuilt = `models/${kind.local} is not built`;
  const cached = await kind.loadCached(kind.hubId).then(
    () => true,
    () => false,
  );
  if (cached) {
    return {
      model: kind.hubId,
      source: 'cache',
      hub: {},
      line: `${kind.label}: ${kind.hubId} from the model cache (${notBuilt})`,
    };
  }
  const reason = await hubUnreachable(kind.hubId, options);
  if (reason === undefined) {
    return {
      model: kind.hubId,
      source: 'hub',
      hub: { fetch: progressFetch(options.progress, options.fetch) },
      line: `${kind.label}: ${kind.hubId} from the Hugging Face hub (${notBuilt}; this first run downloads it into the cache)`,
    };
  }
  return {
    model: undefined,
    source: 'none',
    hub: {},
    line:
      `${kind.label}: ${kind.without} either build models/${kind.local} with \`npm run models\`` +
      ` (Python 3.11${kind === RERANKER ? ', and ../shared beside the clone' : ''}) or run once where the hub answers, ` +
      `which downloads ${kind.hubId} (${reason}).`,
  };
}
