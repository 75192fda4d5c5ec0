// A retrieval-augmented chatbot over a folder of .md/.txt files: a vector store finds candidate passages, the
// cross-encoder reranks them, and an LLM (any OpenAI-compatible endpoint) answers from the best ones. Without an
// endpoint it answers offline, quoting the most relevant sentences with citations.
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
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { ContextualCompressionRetriever } from '@langchain/classic/retrievers/contextual_compression';
import { MemoryVectorStore } from '@langchain/classic/vectorstores/memory';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import { CrossEncoderReranker, OnnxEmbeddings } from '../src/index.js';
import { wordOverlapScore, words } from '../src/testing/index.js';
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

async function loadFolder(dir: string): Promise<Document[]> {
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

const prompt = ChatPromptTemplate.fromMessages([
  [
    'system',
    'Answer the question using only the numbered passages below. Cite the file names in square brackets, ' +
      'e.g. [watering.md]. If the passages do not contain the answer, say so.\n\n{context}',
  ],
  ['human', '{question}'],
]);

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
  const retriever = reranker
    ? new ContextualCompressionRetriever({ baseCompressor: reranker, baseRetriever: store.asRetriever(k) })
    : store.asRetriever(top);
  await reranker?.warmup(); // any download happens here, before the first question
  const llm = await chatModel();
  console.log(
    `Indexed ${chunks.length} passages from ${values.docs}. Answering ${llm ? 'with an LLM' : 'offline (extractive)'}.`,
  );

  const ask = async (question: string) => {
    const passages = await retriever.invoke(question);
    let answer: string;
    if (llm) {
      const context = passages.map((d, i) => `[${i + 1}] (${d.metadata['source']}) ${d.pageContent}`).join('\n\n');
      answer = await prompt.pipe(llm).pipe(new StringOutputParser()).invoke({ context, question });
    } else {
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
