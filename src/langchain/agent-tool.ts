import type { DocumentInterface } from '@langchain/core/documents';
import type { RunnableConfig } from '@langchain/core/runnables';
import { tool, type DynamicStructuredTool } from '@langchain/core/tools';
import { InvalidArgumentError } from '../errors.js';
import { describe, requireQuery } from '../validate.js';

/** How {@link createRerankingTool} finds, reranks and presents passages. */
export interface RerankingToolOptions {
  /** Finds candidates for a query: a retriever such as `vectorStore.asRetriever(20)`, or any runnable like one. */
  retriever: {
    /** The candidates for `query`, in the retriever's order. */
    invoke(query: string, config?: RunnableConfig): Promise<DocumentInterface[]>;
  };
  /** Keeps the best candidates: a `CrossEncoderReranker`, or any document compressor. */
  reranker: {
    /** The best of `documents` for `query`, best first; `callbacks` are the tool run's. */
    compressDocuments(
      documents: DocumentInterface[],
      query: string,
      callbacks?: RunnableConfig['callbacks'],
    ): Promise<DocumentInterface[]>;
  };
  /**
   * The tool's name, as the model calls it: letters, digits, `_` and `-`, at most 64.
   * @default 'search_documents'
   */
  name?: string;
  /**
   * What the model reads to decide when to call the tool.
   * @default 'Searches the documents for passages relevant to a query and returns the best ones, numbered.'
   */
  description?: string;
  /**
   * The text the model reads: the reranked passages as one string.
   * @default each passage numbered, with its `metadata.source` when it has one, separated by blank lines
   */
  formatContent?: (passages: DocumentInterface[]) => string;
}

const QUERY_SCHEMA = {
  type: 'object',
  properties: { query: { type: 'string', description: 'What to search the documents for.' } },
  required: ['query'],
} as const;

/**
 * A LangChain tool for agents (v1's `createAgent`, or any tool-calling model) that retrieves candidates, reranks
 * them and answers as `content_and_artifact`: the model reads the passages as text, the caller gets the reranked
 * Documents (with `metadata.relevanceScore`) as the ToolMessage's `artifact`. The retriever and the reranker run as
 * child runs of the tool's run, so both appear in callbacks and traces.
 *
 * @example
 * const search = createRerankingTool({ retriever: vectorStore.asRetriever(20), reranker: new CrossEncoderReranker() });
 * const agent = createAgent({ model: 'openai:gpt-4o-mini', tools: [search] });
 */
export function createRerankingTool(options: RerankingToolOptions): DynamicStructuredTool {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', `expected { retriever, reranker }, got ${describe(options)}.`);
  }
  const { retriever, reranker, name = 'search_documents', formatContent = numberedPassages } = options;
  const description =
    options.description ??
    'Searches the documents for passages relevant to a query and returns the best ones, numbered.';
  if (typeof retriever?.invoke !== 'function') {
    throw new InvalidArgumentError('retriever', `expected a retriever (with invoke), got ${describe(retriever)}.`);
  }
  if (typeof reranker?.compressDocuments !== 'function') {
    throw new InvalidArgumentError(
      'reranker',
      `expected a document compressor such as CrossEncoderReranker, got ${describe(reranker)}.`,
    );
  }
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new InvalidArgumentError('name', `expected letters, digits, _ and - (at most 64), got ${describe(name)}.`);
  }
  if (typeof formatContent !== 'function') {
    throw new InvalidArgumentError('formatContent', `expected a function, got ${describe(formatContent)}.`);
  }
  const search = async (input: unknown, config?: RunnableConfig): Promise<[string, DocumentInterface[]]> => {
    // A structured call passes { query }; a tool built without a structured schema (older cores) passes the string.
    const query = requireQuery(typeof input === 'string' ? input : (input as { query?: unknown })?.query, 'query');
    const candidates = await retriever.invoke(query, config);
    const passages = await reranker.compressDocuments(candidates, query, config?.callbacks);
    return [formatContent(passages), passages];
  };
  return tool(search, {
    name,
    description,
    schema: QUERY_SCHEMA,
    responseFormat: 'content_and_artifact',
  }) as unknown as DynamicStructuredTool;
}

/** `[1] (source) text`, one passage per paragraph; a note when nothing was found. */
function numberedPassages(passages: DocumentInterface[]): string {
  if (passages.length === 0) return 'No passage matched the query.';
  return passages
    .map((doc, i) => {
      const source = doc.metadata?.['source'];
      return `[${i + 1}]${typeof source === 'string' ? ` (${source})` : ''} ${doc.pageContent}`;
    })
    .join('\n\n');
}
