// A Cloudflare Worker that reranks through a rerank server: `langchain-cross-encoder/remote` needs only fetch.
import { RemoteScorer } from 'langchain-cross-encoder/remote';

export default {
  async fetch(request, env) {
    try {
      const { query, documents } = await request.json();
      const ranked = await new RemoteScorer({ url: env.RERANK_URL }).rank(query, documents);
      return Response.json({ ranked });
    } catch (error) {
      return Response.json({ error: String(error?.stack ?? error) }, { status: 500 });
    }
  },
};
