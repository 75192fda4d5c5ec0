'use client';
// A client component on the browser build: the model is served from this app's public/ folder.
import { useEffect, useState } from 'react';
import { CrossEncoder } from 'langchain-cross-encoder/web';

export default function WebPage() {
  const [result, setResult] = useState('scoring');
  useEffect(() => {
    const pairs = JSON.parse(new URLSearchParams(location.search).get('pairs') ?? '[]');
    let encoder;
    CrossEncoder.load(new URL('/models/tiny', location.href).href)
      .then(async (loaded) => {
        encoder = loaded;
        const scores = await encoder.score(pairs, { activation: 'none' });
        globalThis.lceResult = { scores, worker: encoder.info.worker };
        setResult(JSON.stringify(globalThis.lceResult));
        document.title = 'done';
      })
      .catch((error) => {
        globalThis.lceResult = { error: String(error?.stack ?? error) };
        document.title = 'failed';
      })
      .finally(() => encoder?.dispose());
  }, []);
  return <pre id="out">{result}</pre>;
}
