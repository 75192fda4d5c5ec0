#!/usr/bin/env node
// The evaluation tool's command: `npm run eval -- --data <dir> [options]`. It lives beside the published package
// and loads models through the package's public entry only.
import { runCli } from './cli.js';
import { engineLoaders } from './engine.js';

process.exitCode = await runCli(process.argv.slice(2), {
  ...engineLoaders,
  stdout: process.stdout,
  stderr: process.stderr,
});
