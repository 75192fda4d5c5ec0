// LlamaIndex.TS pieces the postprocessor tests run a query engine with, all offline: a bag-of-words embedding, an
// embedding over OnnxEmbeddings, and an LLM that answers with the context it was given.
import {
  BaseEmbedding,
  BaseLLM,
  type ChatResponse,
  type ChatResponseChunk,
  type LLMChatParamsNonStreaming,
  type LLMChatParamsStreaming,
  type LLMMetadata,
} from 'llamaindex';
import type { OnnxEmbeddings } from '../../src/index.js';
import { words } from '../../src/testing/index.js';

const VOCABULARY_SIZE = 64;

/** Each word hashed into one of 64 buckets: texts sharing words are close, enough for a first stage. */
export class BagOfWordsEmbedding extends BaseEmbedding {
  constructor() {
    super();
  }

  async getTextEmbedding(text: string): Promise<number[]> {
    const vector = new Array<number>(VOCABULARY_SIZE).fill(0);
    for (const word of words(text)) {
      let hash = 0;
      for (const char of word) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) % VOCABULARY_SIZE;
      vector[hash] = (vector[hash] as number) + 1;
    }
    return vector;
  }
}

/** LlamaIndex's embedding interface over our LangChain embeddings. */
export class OnnxLlamaEmbedding extends BaseEmbedding {
  readonly #embeddings: OnnxEmbeddings;

  constructor(embeddings: OnnxEmbeddings) {
    super();
    this.#embeddings = embeddings;
  }

  getTextEmbedding(text: string): Promise<number[]> {
    return this.#embeddings.embedQuery(text);
  }
}

/** Answers every chat with the last message's text, so a query engine's response shows the context it got. */
export class EchoLLM extends BaseLLM {
  metadata: LLMMetadata = {
    model: 'echo',
    temperature: 0,
    topP: 1,
    contextWindow: 100_000,
    tokenizer: undefined,
    structuredOutput: false,
  };

  chat(params: LLMChatParamsStreaming): Promise<AsyncIterable<ChatResponseChunk>>;
  chat(params: LLMChatParamsNonStreaming): Promise<ChatResponse>;
  async chat(
    params: LLMChatParamsStreaming | LLMChatParamsNonStreaming,
  ): Promise<AsyncIterable<ChatResponseChunk> | ChatResponse> {
    const last = params.messages.at(-1)?.content;
    const text = typeof last === 'string' ? last : JSON.stringify(last);
    if (params.stream) throw new Error('EchoLLM does not stream');
    return { message: { role: 'assistant', content: text }, raw: null };
  }
}
