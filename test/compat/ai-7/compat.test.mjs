import { createRequire } from 'node:module';
import * as ai from 'ai';
import * as adapter from 'langchain-cross-encoder/ai-sdk';
import * as core from 'langchain-cross-encoder/core';
import { defineAiSuite } from '../ai-suite.mjs';

const aiVersion = createRequire(import.meta.url)('./package.json').dependencies.ai;

defineAiSuite({ cellUrl: import.meta.url, ai, adapter, core, aiVersion, providerMajor: 4 }, 'ai-7');
