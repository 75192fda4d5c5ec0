// LangChain v1 agents: the reranker called inside a tool or a runnable, with no callbacks handed over, is a child
// run of the run it is called from; createRerankingTool is the retrieve-rerank-answer tool of createAgent.
// Importing `langchain` (v1) sets up @langchain/core's async context, as it does in an app built on it.
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import { AIMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { BaseRetriever } from '@langchain/core/retrievers';
import { RunnableLambda } from '@langchain/core/runnables';
import { fakeModel } from '@langchain/core/testing';
import { tool, type DynamicStructuredTool } from '@langchain/core/tools';
import { createAgent } from 'langchain';
import { describe, expect, it } from 'vitest';
import { createRerankingTool, CrossEncoderReranker, InvalidArgumentError } from '../../src/index.js';
import { FakeScorer } from '../../src/testing/index.js';

const DOCS = [
  ['sky.md', 'the sky is blue'],
  ['apples.md', 'red apples grow on trees'],
  ['pears.md', 'green pears and red apples'],
  ['sea.md', 'the sea is deep'],
];
const docs = () => DOCS.map(([source, text]) => new Document({ pageContent: text as string, metadata: { source } }));

class ListRetriever extends BaseRetriever {
  override lc_namespace = ['test'];
  override async _getRelevantDocuments(): Promise<DocumentInterface[]> {
    return docs();
  }
}

interface RunEvent {
  kind: 'tool' | 'retriever' | 'chain';
  name: string | undefined;
  runId: string;
  parentRunId: string | undefined;
}

/** Records the start of every tool, retriever and chain run with its parent. */
class Recorder extends BaseCallbackHandler {
  name = 'recorder';
  readonly runs: RunEvent[] = [];
  override handleToolStart(tool: { id?: string[] }, _input: string, runId: string, parentRunId?: string) {
    this.runs.push({ kind: 'tool', name: tool.id?.at(-1), runId, parentRunId });
  }
  override handleRetrieverStart(
    _retriever: unknown,
    _query: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Record<string, unknown>,
    name?: string,
  ) {
    this.runs.push({ kind: 'retriever', name: name ?? 'retriever', runId, parentRunId });
  }
  override handleChainStart(
    _chain: unknown,
    _inputs: unknown,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: unknown,
    _runType?: string,
    name?: string,
  ) {
    this.runs.push({ kind: 'chain', name, runId, parentRunId });
  }
  reranker(): RunEvent | undefined {
    return this.runs.find((r) => r.name === 'CrossEncoderReranker');
  }
}

describe('the reranker inside a tool or runnable, no callbacks handed over', () => {
  it('is a child run of the tool that calls it, as a retriever called there is', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 2 });
    const search = tool(
      async ({ query }: { query: string }) => {
        const found = await new ListRetriever().invoke(query);
        const best = await reranker.compressDocuments(found, query); // no callbacks passed
        return best.map((d) => d.pageContent).join('\n');
      },
      {
        name: 'search',
        description: 'searches',
        schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
      },
    ) as DynamicStructuredTool;
    const recorder = new Recorder();
    const out = await search.invoke({ query: 'red apples' }, { callbacks: [recorder] });
    await awaitAllCallbacks();
    expect(out).toBe('red apples grow on trees\ngreen pears and red apples');
    const toolRun = recorder.runs.find((r) => r.kind === 'tool');
    const retrieverRun = recorder.runs.find((r) => r.kind === 'retriever' && r.name !== 'CrossEncoderReranker');
    expect(retrieverRun?.parentRunId).toBe(toolRun?.runId);
    expect(recorder.reranker()?.parentRunId).toBe(toolRun?.runId);
  });

  it('is a child run of a RunnableLambda, and callbacks passed by hand still win', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 1 });
    const recorder = new Recorder();
    const chain = RunnableLambda.from(async (query: string) => reranker.compressDocuments(docs(), query));
    const [best] = await chain.invoke('deep sea', { callbacks: [recorder] });
    await awaitAllCallbacks();
    expect(best?.metadata['source']).toBe('sea.md');
    const lambda = recorder.runs.find((r) => r.kind === 'chain');
    expect(recorder.reranker()?.parentRunId).toBe(lambda?.runId);

    const own = new Recorder();
    await RunnableLambda.from(async (query: string) => reranker.compressDocuments(docs(), query, [own])).invoke(
      'deep sea',
      { callbacks: [recorder] },
    );
    await awaitAllCallbacks();
    expect(own.reranker()?.parentRunId).toBeUndefined();
  });

  it('outside any run, reports nothing and still reranks', async () => {
    const reranker = new CrossEncoderReranker({ model: new FakeScorer(), topN: 1 });
    const [best] = await reranker.compressDocuments(docs(), 'blue sky');
    expect(best?.metadata['source']).toBe('sky.md');
  });
});

describe('createRerankingTool', () => {
  const reranker = () => new CrossEncoderReranker({ model: new FakeScorer(), topN: 2 });

  it('answers a tool call as content_and_artifact: numbered passages for the model, Documents for the caller', async () => {
    const search = createRerankingTool({ retriever: new ListRetriever(), reranker: reranker() });
    const recorder = new Recorder();
    const message = (await search.invoke(
      { type: 'tool_call', id: 'call-1', name: 'search_documents', args: { query: 'red apples' } },
      { callbacks: [recorder] },
    )) as ToolMessage;
    await awaitAllCallbacks();
    expect(message).toBeInstanceOf(ToolMessage);
    expect(message.content).toBe(
      '[1] (apples.md) red apples grow on trees\n\n[2] (pears.md) green pears and red apples',
    );
    const artifact = message.artifact as DocumentInterface[];
    expect(artifact.map((d) => d.metadata['source'])).toEqual(['apples.md', 'pears.md']);
    expect(artifact.every((d) => typeof d.metadata['relevanceScore'] === 'number')).toBe(true);
    const toolRun = recorder.runs.find((r) => r.kind === 'tool');
    expect(recorder.reranker()?.parentRunId).toBe(toolRun?.runId);
    expect(recorder.runs.filter((r) => r.kind === 'retriever' && r.parentRunId === toolRun?.runId)).toHaveLength(2);
  });

  it('takes a name, description and formatter, and refuses what it cannot use', () => {
    const search = createRerankingTool({
      retriever: new ListRetriever(),
      reranker: reranker(),
      name: 'plant_docs',
      description: 'Plant care notes.',
      formatContent: (passages) => passages.map((d) => d.pageContent).join(' | '),
    });
    expect(search.name).toBe('plant_docs');
    expect(search.description).toBe('Plant care notes.');
    expect(() => createRerankingTool({ retriever: {} as never, reranker: reranker() })).toThrow(/^retriever:/);
    expect(() => createRerankingTool({ retriever: new ListRetriever(), reranker: null as never })).toThrow(
      /^reranker:/,
    );
    expect(() => createRerankingTool({ retriever: new ListRetriever(), reranker: reranker(), name: 'a b' })).toThrow(
      InvalidArgumentError,
    );
  });

  it("drives LangChain v1's createAgent with a fake tool-calling model; the reranker is traced under the tool", async () => {
    const search = createRerankingTool({ retriever: new ListRetriever(), reranker: reranker() });
    // The model calls the tool, then answers from the passages the tool gave it.
    const model = fakeModel()
      .respondWithTools([{ name: 'search_documents', args: { query: 'red apples' }, id: 'call-1' }])
      .respond((messages: BaseMessage[]) => {
        const passages = messages.find((m) => ToolMessage.isInstance(m));
        return new AIMessage(`From the notes: ${String(passages?.content).split('\n\n')[0]}`);
      });
    const agent = createAgent({ model, tools: [search] });
    const recorder = new Recorder();
    const result = await agent.invoke(
      { messages: [{ role: 'user', content: 'Where do red apples grow?' }] },
      { callbacks: [recorder] },
    );
    await awaitAllCallbacks();
    const answer = result.messages.at(-1);
    expect(answer?.content).toBe('From the notes: [1] (apples.md) red apples grow on trees');
    const toolMessage = result.messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage;
    expect((toolMessage.artifact as DocumentInterface[]).map((d) => d.metadata['source'])).toEqual([
      'apples.md',
      'pears.md',
    ]);
    const toolRun = recorder.runs.find((r) => r.kind === 'tool');
    expect(toolRun).toBeDefined();
    expect(recorder.reranker()?.parentRunId).toBe(toolRun?.runId);
  });
});
