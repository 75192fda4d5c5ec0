// A retrieval-augmented chatbot over a folder of .md/.txt files, built as LangChain v1 builds agents: a search tool
// (createRerankingTool: a vector store finds candidate passages, the cross-encoder reranks them) that an agent made
// with `createAgent` calls, answering with an LLM (any OpenAI-compatible endpoint) from the best passages. The
// reranker shows up as a child run of the tool in callbacks and traces. Without an endpoint it calls the tool itself
// and answers offline, quoting the most relevant sentences with citations.
//
//   npm run example:chatbot                                   interactive, over examples/data/docs
//   npm run example:chatbot -- --question "How often should I water a cactus?"
//   echo "When should I repot?" | npm run example:chatbot
//   OPENAI_API_KEY=... npm run example:chatbot                answers with an LLM (OPENAI_MODEL, OPENAI_BASE_URL)
//   OPENAI_BASE_URL=http://localhost:11434/v1 OPENAI_MODEL=llama3.2 npm run example:chatbot   (local Ollama)
//
// The reranker is the best one it can reach (examples/pick-models.ts): models/ce-minilm-l6-ict (`npm run models`
// assembles it from ../shared/models), else the hub default (cached, or downloaded on the first run with
// progress), else none: the chatbot then keeps the vector store's top passages unreranked and says how to get one.
// The embedding model is chosen the same way (models/all-MiniLM-L6-v2, else the hub's).
//
// Flags: --docs DIR, --question TEXT (repeatable), --model ID|DIR (reranker), --embedding-model ID|DIR,
//        --k N (candidates from the vector store, default 8), --top N (passages kept after reranking, default 3),
//        --offline (never call an LLM).
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import type { DocumentInterface } from '@langchain/core/documents';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { BaseDocumentCompressor } from '@langchain/core/retrievers/document_compressors';
import { createRerankingTool, CrossEncoderReranker, OnnxEmbeddings } from '../src/index.js';
import { wordOverlapScore, words } from '../src/testing/index.js';
import { askAgent, createChatAgent, loadFolder, searchPassages } from './chat-agent.js';
import { pickSearchModels } from './pick-models.js';
import { statsLine } from './stats-line.js';

const repoRoot = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: path.join(import.meta.dirname, 'data/docs') },
    question: { type: 'string', multiple: true },
    model: { type: 'string' },
    'embedding-model': { type: 'string' },
    k: { type: 'string', default: '8' },
    top: { type: 'string', default: '3' },
    offline: { type: 'boolean', default: false },
    stats: { type: 'boolean', default: false },
  },
});
const k = positiveInt(values.k, '--k');
const top = positiveInt(values.top, '--top');

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${flag} expects a positive integer, got ${JSON.stringify(text)}.`);
  return n;
}

/** An LLM when one is configured: `@langchain/openai` is loaded only then, so it stays optional. */
async function chatModel(): Promise<BaseChatModel | undefined> {
  if (values.offline || (!process.env['OPENAI_API_KEY'] && !process.env['OPENAI_BASE_URL'])) return undefined;
  try {
    const { ChatOpenAI } = await import('@langchain/openai');
    return new ChatOpenAI({
      model: process.env['OPENAI_MODEL'] ?? 'gpt-4o-mini',
      apiKey: process.env['OPENAI_API_KEY'] ?? 'not-needed-for-local-servers',
      configuration: process.env['OPENAI_BASE_URL'] ? { baseURL: process.env['OPENAI_BASE_URL'] } : {},
    }) as unknown as BaseChatModel;
  } catch (error) {
    console.error(`Answering offline: @langchain/openai could not be loaded (${(error as Error).message}).`);
    return undefined;
  }
}

/** Offline answer: the sentences of the reranked passages that share the most words with the question, cited. */
function extractiveAnswer(question: string, passages: DocumentInterface[]): string {
  const sentences = passages.flatMap((doc, rank) =>
    doc.pageContent
      .replace(/^#.*$/gm, '')
      .split(/(?<=[.!?])\s+|\n+/)
      .map((s) => s.trim())
      .filter((s) => words(s).length > 3)
      .map((sentence) => ({ sentence, source: String(doc.metadata['source']), rank })),
  );
  const scored = sentences
    .map((s) => ({ ...s, overlap: wordOverlapScore(question, s.sentence) }))
    .filter((s) => s.overlap > 0)
    .sort((a, b) => b.overlap - a.overlap || a.rank - b.rank)
    .slice(0, 2);
  if (scored.length === 0) return 'The documents do not seem to answer that.';
  return scored.map((s) => `${s.sentence} [${s.source}]`).join(' ');
}

/** Without a reranker model, the vector store's top passages as they come. */
class KeepAll extends BaseDocumentCompressor {
  override async compressDocuments(documents: DocumentInterface[]): Promise<DocumentInterface[]> {
    return documents;
  }
}

async function main(): Promise<void> {
  const chunks = await loadFolder(values.docs);
  const picked = await pickSearchModels(
    { embeddingModel: values['embedding-model'], model: values.model },
    path.join(repoRoot, 'models'),
  );
  if (picked === undefined) return;
  const { embeddings: embeddingChoice, reranker: rerankerChoice } = picked;
  console.log(`${rerankerChoice.line}\n${embeddingChoice.line}`);
  const embeddings = new OnnxEmbeddings({ model: embeddingChoice.model, ...embeddingChoice.hub });
  const store = await MemoryVectorStore.fromDocuments(chunks, embeddings);
  const model = rerankerChoice.model;
  const reranker =
    model === undefined
      ? undefined
      : new CrossEncoderReranker({
          model,
          ...rerankerChoice.hub,
          topN: top,
          ...(values.stats ? { onStats: (s) => console.log(statsLine(s)) } : {}),
        });
  const search = createRerankingTool({
    retriever: store.asRetriever(reranker ? k : top),
    reranker: reranker ?? new KeepAll(),
  });
  await reranker?.warmup(); // any download happens here, before the first question
  const llm = await chatModel();
  const agent = llm ? createChatAgent(llm, search) : undefined;
  console.log(
    `Indexed ${chunks.length} passages from ${values.docs}. Answering ${llm ? 'with an LLM' : 'offline (extractive)'}.`,
  );

  const ask = async (question: string) => {
    let answer: string;
    let passages: DocumentInterface[];
    if (agent) {
      ({ answer, passages } = await askAgent(agent, question));
    } else {
      passages = await searchPassages(search, question);
      answer = extractiveAnswer(question, passages);
    }
    console.log(`\nQ: ${question}\nA: ${answer}\nSources:`);
    passages.forEach((d, i) => {
      const score = d.metadata['relevanceScore'] as number | undefined;
      console.log(`  ${i + 1}. ${d.metadata['source']}${score === undefined ? '' : `  relevance ${score.toFixed(4)}`}`);
    });
  };

  try {
    if (values.question?.length) {
      for (const q of values.question) await ask(q);
    } else {
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
      if (process.stdin.isTTY) console.log('Ask a question (empty line or Ctrl-D to quit).');
      for await (const line of rl) {
        const q = line.trim();
        if (q === '' && process.stdin.isTTY) break;
        if (q !== '') await ask(q);
      }
    }
  } finally {
    await reranker?.dispose();
    await embeddings.dispose();
  }
}

await main();
