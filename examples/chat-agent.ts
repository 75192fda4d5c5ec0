// The chatbot's retrieval, as LangChain v1 puts it: a search tool (retrieve, rerank, answer as content and artifact)
// that an agent built with `createAgent` calls when it needs passages. The example (chatbot.ts) and its test share
// these pieces.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ToolMessage, type BaseMessage } from '@langchain/core/messages';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { DynamicStructuredTool } from '@langchain/core/tools';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { createAgent } from 'langchain';

export const SYSTEM_PROMPT =
  'Answer questions about the documents. Call search_documents to find passages, then answer using only what the ' +
  'passages say, citing file names in square brackets, e.g. [watering.md]. If they do not contain the answer, say so.';

/** The .md and .txt files of a folder, split into passages of about 600 characters with their file as `source`. */
export async function loadFolder(dir: string): Promise<Document[]> {
  const names = (await readdir(dir)).filter((n) => /\.(md|txt)$/i.test(n)).sort();
  if (names.length === 0) throw new Error(`${dir} holds no .md or .txt files: pass --docs with a folder that does.`);
  const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 600, chunkOverlap: 60 });
  const files = await Promise.all(
    names.map(
      async (name) =>
        new Document({ pageContent: await readFile(path.join(dir, name), 'utf8'), metadata: { source: name } }),
    ),
  );
  return splitter.splitDocuments(files);
}

/** An agent that answers with the search tool. */
export function createChatAgent(model: BaseChatModel, search: DynamicStructuredTool) {
  return createAgent({ model, tools: [search], systemPrompt: SYSTEM_PROMPT });
}

/** Asks the agent one question: its answer, and the reranked passages its last search returned. */
export async function askAgent(
  agent: ReturnType<typeof createChatAgent>,
  question: string,
  config?: RunnableConfig,
): Promise<{ answer: string; passages: DocumentInterface[] }> {
  const { messages } = (await agent.invoke({ messages: [{ role: 'user', content: question }] }, config)) as {
    messages: BaseMessage[];
  };
  const searches = messages.filter((m): m is ToolMessage => ToolMessage.isInstance(m));
  const passages = (searches.at(-1)?.artifact as DocumentInterface[] | undefined) ?? [];
  const last = messages.at(-1);
  return { answer: typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content), passages };
}

/** Runs the search tool as the agent would call it, without a model: the passages it returns. */
export async function searchPassages(search: DynamicStructuredTool, question: string): Promise<DocumentInterface[]> {
  const message = (await search.invoke({
    type: 'tool_call',
    id: 'direct',
    name: search.name,
    args: { query: question },
  })) as ToolMessage;
  return message.artifact as DocumentInterface[];
}
