// npm run example:browser [-- --port 8080]: builds the browser example and serves it on 127.0.0.1 until Ctrl-C.
// Open the printed URL in a browser; the page runs the two-stage search of `npm run example:search` over the bundled
// notes with the package's browser build, in a Web Worker. Needs the models of `npm run models`; no network.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildExample, serveExample } from './build.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  throw new Error(`--port expects an integer from 0 (any free port) to 65535, got ${values.port}.`);
}

const outDir = await mkdtemp(path.join(tmpdir(), 'lce-example-browser-'));
const { config, sizes } = await buildExample(outDir);
const server = await serveExample(outDir, port);
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`Embeddings: models${config.embeddings.slice('/models'.length)}`);
console.log(`Reranker: models${config.reranker.slice('/models'.length)} (${config.rerankerNote})`);
console.log(
  `Page: ${kb(sizes.jsBytes)} of JavaScript (page and worker, minified), ${kb(sizes.wasmBytes)} of WebAssembly`,
);
console.log(`\nOpen ${server.url}/app/index.html\n(Ctrl-C stops the server.)`);

const stop = async () => {
  await server.close();
  await rm(outDir, { recursive: true, force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
