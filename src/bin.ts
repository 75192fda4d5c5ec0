#!/usr/bin/env node
// The `langchain-cross-encoder` command. Only `eval` exists today; models are loaded with the engine.
import { runCli } from './eval/cli.js';
import { OnnxEmbeddings } from './langchain/embeddings.js';
import { CrossEncoder } from './scoring/cross-encoder.js';

process.exitCode = await runCli(process.argv.slice(2), {
  loadScorer: (model, { variant }) => CrossEncoder.load(model, { variant }),
  loadEmbeddings: async (model, { variant }) => {
    const embeddings = new OnnxEmbeddings({ model, variant });
    await embeddings.warmup();
    return embeddings;
  },
  stdout: process.stdout,
  stderr: process.stderr,
});
