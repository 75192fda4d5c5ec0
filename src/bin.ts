#!/usr/bin/env node
// The `langchain-cross-encoder` command. It needs only the package's own dependencies: each subcommand is loaded
// when it is asked for, so `--help` and `--version` never touch the engine.
import { readFileSync } from 'node:fs';

/** A subcommand: one line of help, and a runner that resolves to the exit code. */
interface Command {
  summary: string;
  run(argv: string[]): Promise<number>;
}

// Each entry imports its modules inside `run`, so `--help` and `--version` load nothing else.
const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'serve a model over HTTP: TEI /rerank, Cohere-style /v1|v2/rerank, /metrics',
    async run(argv) {
      const [{ runServe }, { CrossEncoder }] = await Promise.all([
        import('./serve/cli.js'),
        import('./cross-encoder.js'),
      ]);
      return runServe(argv, {
        loadScorer: (model, { variant, threads, ggufFile, maxLength }) =>
          CrossEncoder.load(model, {
            ...(ggufFile === undefined ? { variant } : { ggufFile }),
            ...(threads === undefined ? {} : { threads }),
            ...(maxLength === undefined ? {} : { maxLength }),
          }),
        stdout: process.stdout,
        stderr: process.stderr,
      });
    },
  },
};

function version(): string {
  // dist/bin.js and src/bin.ts both sit one folder below package.json.
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return String(manifest.version);
}

function help(): string {
  const names = Object.keys(COMMANDS);
  const commands = names.length
    ? ['', 'Commands:', ...names.map((name) => `  ${name.padEnd(22)} ${COMMANDS[name]?.summary ?? ''}`)]
    : [];
  return [
    'Usage: langchain-cross-encoder <command> [options]',
    '',
    'Local cross-encoder reranking for LangChain.js.',
    ...commands,
    '',
    'Options:',
    '  -h, --help             show this help',
    '  -v, --version          print the version',
    '',
    'Measuring relevance (the eval tool) lives in the source repository: npm run eval -- --help.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(help());
    return first === undefined ? 2 : 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[first];
  if (command === undefined) {
    const hint =
      first === 'eval'
        ? ' The eval tool is not part of the published package; in the source repository run `npm run eval -- --help`.'
        : '';
    process.stderr.write(
      `error: unknown command "${first}".${hint}\nRun "langchain-cross-encoder --help" for usage.\n`,
    );
    return 2;
  }
  return command.run(rest);
}

process.exitCode = await main(process.argv.slice(2));
