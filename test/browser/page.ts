// The page the browser tests drive: the browser build's public API, LangChain's retriever, and a few helpers the
// tests call through `page.evaluate`. Bundled by test/helpers/browser.ts.
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { Document } from '@langchain/core/documents';
import { BaseRetriever } from '@langchain/core/retrievers';
import * as lce from '../../src/web.js';

/** A first stage that returns fixed documents in a fixed order, as a vector store would. */
class FixedRetriever extends BaseRetriever {
  override lc_namespace = ['test', 'fixed'];
  readonly #documents: Document[];
  constructor(documents: Document[]) {
    super();
    this.#documents = documents;
  }
  override async _getRelevantDocuments(): Promise<Document[]> {
    return this.#documents;
  }
}

/** Long tasks on this page's main thread, as the browser reports them. */
const longTasks: number[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longTasks.push(entry.duration);
}).observe({ type: 'longtask', buffered: true });

const api = {
  lce,
  /** Raw logits (or scores) of `pairs` under a model served at `model`, and what loaded. */
  async score(
    model: string,
    pairs: [string, string][],
    options: lce.CrossEncoderOptions & { activation?: lce.Activation },
  ) {
    const encoder = await lce.CrossEncoder.load(model, options);
    try {
      const scores = await encoder.score(pairs, { activation: options.activation ?? 'none' });
      return { scores, info: encoder.info };
    } finally {
      await encoder.dispose();
    }
  },
  /** `score` with the Cache API hidden from the page, as on a plain-HTTP page of another host than localhost. */
  async scoreWithoutCaches(
    model: string,
    pairs: [string, string][],
    options: lce.CrossEncoderOptions & { activation?: lce.Activation },
  ) {
    Object.defineProperty(globalThis, 'caches', { value: undefined, configurable: true });
    try {
      return await api.score(model, pairs, options);
    } finally {
      delete (globalThis as { caches?: unknown }).caches;
    }
  },
  /** Model input ids of each pair after truncation at `maxLength`. */
  async encode(model: string, pairs: [string, string][], options: lce.CrossEncoderOptions) {
    const encoder = await lce.CrossEncoder.load(model, options);
    try {
      const out: number[][] = [];
      for (const [query, passage] of pairs) out.push((await encoder.encode(query, passage)).ids);
      return out;
    } finally {
      await encoder.dispose();
    }
  },
  /** A two-stage retrieval in the page: fixed first stage, the reranker as LangChain's compressor. */
  async retrieve(model: string, query: string, texts: string[], topN: number) {
    const reranker = new lce.CrossEncoderReranker({ model, topN });
    try {
      const retriever = new ContextualCompressionRetriever({
        baseRetriever: new FixedRetriever(texts.map((text, i) => new Document({ pageContent: text, metadata: { i } }))),
        baseCompressor: reranker,
      });
      const documents = await retriever.invoke(query);
      return documents.map((d) => ({ pageContent: d.pageContent, metadata: d.metadata }));
    } finally {
      await reranker.dispose();
    }
  },
  /**
   * Reranks `texts` while the main thread keeps a 10 ms heartbeat, and reports the longest main-thread task and the
   * longest gap between heartbeats seen during the call.
   */
  async responsiveness(model: string, query: string, texts: string[]) {
    const encoder = await lce.CrossEncoder.load(model);
    try {
      await encoder.rank(query, texts.slice(0, 2)); // warm up outside the measured call
      longTasks.length = 0;
      let last = performance.now();
      let worstGap = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        worstGap = Math.max(worstGap, now - last);
        last = now;
      }, 10);
      const started = performance.now();
      const ranked = await encoder.rank(query, texts);
      const ms = performance.now() - started;
      clearInterval(timer);
      await new Promise((resolve) => setTimeout(resolve, 50)); // let the observer deliver
      return { ranked, ms, longestTask: Math.max(0, ...longTasks), worstGap };
    } finally {
      await encoder.dispose();
    }
  },
  /** Whether the page is cross-origin isolated (WebAssembly threads need it). */
  isolated: () => globalThis.crossOriginIsolated === true,
};

(globalThis as unknown as { lceTest: typeof api }).lceTest = api;
document.title = 'ready';
