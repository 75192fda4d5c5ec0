// An AWS Lambda handler (Node.js 20 or 22 runtime, handler `index.handler`), also the shape of any serverless Node
// function. MODEL is a folder shipped in the zip (the default, ./model) or a hub id, downloaded at the first cold
// start into a writable cache (the temporary folder when HOME cannot be written, as on Lambda).
import { CrossEncoder } from 'langchain-cross-encoder';
import { fileURLToPath } from 'node:url';

const MODEL = process.env.MODEL ?? fileURLToPath(new URL('./model', import.meta.url));

// Loaded once per container, at its first request; later requests on a warm container reuse it. Lambda runs one
// request at a time per container, so the model scores on the calling thread (no worker thread to start).
let encoder;

export async function handler(event) {
  const { query, documents } = typeof event.body === 'string' ? JSON.parse(event.body) : event;
  encoder ??= CrossEncoder.load(MODEL, { worker: false });
  const ranked = await (await encoder).rank(query, documents);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ranked }) };
}
