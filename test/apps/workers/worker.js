// A Cloudflare Worker on the browser build: Workers have no Web Worker to score in, so the model runs inline
// (`worker: false`), and its files come over fetch from MODEL_URL.
import { CrossEncoder } from 'langchain-cross-encoder/web';

// The tokenizer's Emscripten loader locates itself through `location`, which Workers lack.
globalThis.location ??= new URL('https://worker.invalid/');

let encoder;

export default {
  async fetch(request, env) {
    try {
      const { pairs } = await request.json();
      encoder ??= CrossEncoder.load(env.MODEL_URL, { worker: false, wasmPaths: env.WASM_URL });
      const scores = await (await encoder).score(pairs, { activation: 'none' });
      return Response.json({ scores });
    } catch (error) {
      encoder = undefined;
      return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
