import { createRequire } from 'node:module';
import { ContextualCompressionRetriever } from 'langchain/retrievers/contextual_compression';
import { DocumentCompressorPipeline } from 'langchain/retrievers/document_compressors';
import { MemoryVectorStore } from 'langchain/vectorstores/memory';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { awaitAllCallbacks } from '@langchain/core/callbacks/promises';
import { Document } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import * as pkg from 'langchain-cross-encoder';
import * as testing from 'langchain-cross-encoder/testing';
import { defineCompatSuite } from '../suite.mjs';

const coreVersion = createRequire(import.meta.url)('./package.json').dependencies['@langchain/core'];

defineCompatSuite(
  {
    cellUrl: import.meta.url,
    coreVersion,
    pkg,
    testing,
    BaseCallbackHandler,
    awaitAllCallbacks,
    ChatPromptTemplate,
    ContextualCompressionRetriever,
    Document,
    DocumentCompressorPipeline,
    FakeListChatModel,
    MemoryVectorStore,
    RecursiveCharacterTextSplitter,
    RunnablePassthrough,
    RunnableSequence,
    StringOutputParser,
  },
  'lc-0.3 (langchain 0.3)',
);
