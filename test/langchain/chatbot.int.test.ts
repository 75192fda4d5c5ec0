import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { AIMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages';
import { fakeModel } from '@langchain/core/testing';
import { describe, expect, it } from 'vitest';
import { askAgent, createChatAgent, loadFolder } from '../../examples/chat-agent.js';
import { createRerankingTool, CrossEncoderReranker, OnnxEmbeddings } from '../../src/index.js';
import { modelDir, noDistilled } from '../helpers/models.js';

const run = promisify(execFile);
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

// The chatbot's default reranker is models/ce-minilm-l6-ict, assembled by `npm run models` from ../shared/models.
const skip = noDistilled();

async function ask(question: string): Promise<string> {
  const { stdout } = await run(process.execPath, [tsx, 'examples/chatbot.ts', '--offline', '--question', question], {
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
  });
  return stdout;
}

const cited = (stdout: string) =>
  [...(/^A: (.*)$/m.exec(stdout)?.[1] ?? '').matchAll(/\[([^\]]+)\]/g)].map((m) => m[1]);
const sources = (stdout: string) => [...stdout.matchAll(/^\s+\d\. (\S+)\s+relevance (\d\.\d{4})$/gm)];

describe.skipIf(skip)('examples/chatbot.ts (offline mode, bundled documents)', () => {
  it('answers "How often should I water a cactus?" from watering.md, ranked first', async () => {
    const stdout = await ask('How often should I water a cactus?');
    expect(cited(stdout)).toContain('watering.md');
    expect(cited(stdout).every((file) => file === 'watering.md')).toBe(true);
    expect(sources(stdout)[0]?.[1]).toBe('watering.md');
  });

  it('answers "When should I repot?" from repotting.md, ranked first', async () => {
    const stdout = await ask('When should I repot?');
    expect(cited(stdout)).toContain('repotting.md');
    expect(cited(stdout).every((file) => file === 'repotting.md')).toBe(true);
    expect(sources(stdout)[0]?.[1]).toBe('repotting.md');
  });

  it('answers a --question from the right file and lists sources with relevance scores', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        tsx,
        'examples/chatbot.ts',
        '--offline',
        '--k',
        '3',
        '--top',
        '3',
        '--question',
        'what are the small black flies in the soil',
      ],
      { env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' } },
    );
    expect(stdout).toContain('Answering offline (extractive)');
    const answer = /^A: (.*)$/m.exec(stdout)?.[1] ?? '';
    expect(answer).toMatch(/^Fungus gnats .*\[pests\.txt\]/);
    const sources = [...stdout.matchAll(/^\s+\d\. (\S+)\s+relevance (\d\.\d{4})$/gm)];
    expect(sources).toHaveLength(3);
    expect(sources.map((m) => m[1])).toContain('pests.txt');
    const scores = sources.map((m) => Number(m[2]));
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('reads questions from stdin lines when no --question is given', async () => {
    const child = run(process.execPath, [tsx, 'examples/chatbot.ts', '--offline', '--k', '3', '--top', '3'], {});
    child.child.stdin?.end('How long until cuttings grow roots in water?\nWhich window gives the most light?\n');
    const { stdout } = await child;
    const answers = [...stdout.matchAll(/^A: (.*)$/gm)].map((m) => m[1]);
    expect(answers).toHaveLength(2);
    expect(answers[0]).toContain('[propagation.md]');
    expect(answers[1]).toContain('[light.md]');
  });
});

describe.skipIf(skip)('the chatbot agent (createAgent, fake tool-calling model, real models)', () => {
  it('calls the search tool, answers from the reranked passages and traces the reranker under the tool', async () => {
    const embeddings = new OnnxEmbeddings({ model: modelDir('all-MiniLM-L6-v2') });
    const reranker = new CrossEncoderReranker({ model: modelDir('ce-minilm-l6-ict'), topN: 3 });
    try {
      const store = await MemoryVectorStore.fromDocuments(
        await loadFolder(path.resolve('examples/data/docs')),
        embeddings,
      );
      const search = createRerankingTool({ retriever: store.asRetriever(8), reranker });
      const question = 'How often should I water a cactus?';
      // The model asks for passages, then cites the file of the first one, as an LLM following the prompt would.
      const model = fakeModel()
        .respondWithTools([{ name: 'search_documents', args: { query: question }, id: 'call-1' }])
        .respond((messages: BaseMessage[]) => {
          const found = String(messages.find((m) => ToolMessage.isInstance(m))?.content);
          return new AIMessage(`See [${/^\[1\] \(([^)]+)\)/.exec(found)?.[1]}].`);
        });
      const runs: { name?: string; runId: string; parentRunId?: string }[] = [];
      const recorder = BaseCallbackHandler.fromMethods({
        handleToolStart: (_tool, _input, runId, parentRunId) => void runs.push({ name: 'tool', runId, parentRunId }),
        handleRetrieverStart: (_r, _q, runId, parentRunId, _tags, _metadata, name) =>
          void runs.push({ name, runId, parentRunId }),
      });
      const { answer, passages } = await askAgent(createChatAgent(model as never, search), question, {
        callbacks: [recorder],
      });
      await awaitAllCallbacks();
      expect(answer).toBe('See [watering.md].');
      expect(passages[0]?.metadata['source']).toBe('watering.md');
      expect(passages.every((d) => typeof d.metadata['relevanceScore'] === 'number')).toBe(true);
      const toolRun = runs.find((r) => r.name === 'tool');
      expect(runs.find((r) => r.name === 'CrossEncoderReranker')?.parentRunId).toBe(toolRun?.runId);
    } finally {
      await reranker.dispose();
      await embeddings.dispose();
    }
  });
});
