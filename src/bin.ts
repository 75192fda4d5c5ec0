#!/usr/bin/env node
// The `langchain-cross-encoder` command. Only `eval` exists today; the model is loaded with the engine.
import { runCli } from './eval/cli.js';
import { CrossEncoder } from './scoring/cross-encoder.js';

process.exitCode = await runCli(process.argv.slice(2), {
  loadScorer: (model) => CrossEncoder.load(model),
  stdout: process.stdout,
  stderr: process.stderr,
});
