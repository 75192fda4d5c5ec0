// A page as a user writes it: the browser build from the installed package, a model from the page's own origin.
import { CrossEncoder } from 'langchain-cross-encoder/web';

const pairs = JSON.parse(new URLSearchParams(location.search).get('pairs') ?? '[]');

async function run() {
  const encoder = await CrossEncoder.load(new URL('/models/tiny', location.href).href);
  try {
    const scores = await encoder.score(pairs, { activation: 'none' });
    return { scores, worker: encoder.info.worker };
  } finally {
    await encoder.dispose();
  }
}

run().then(
  (result) => {
    globalThis.lceResult = result;
    document.getElementById('out').textContent = JSON.stringify(result);
    document.title = 'done';
  },
  (error) => {
    globalThis.lceResult = { error: String(error?.stack ?? error) };
    document.title = 'failed';
  },
);
