// A route handler on the Node entry: the model (a folder traced into the build) is loaded once per server process,
// at the first request.
import { CrossEncoder } from 'langchain-cross-encoder';
import { join } from 'node:path';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

let encoder;

export async function POST(request) {
  const { query, documents } = await request.json();
  encoder ??= CrossEncoder.load(join(process.cwd(), 'models', process.env.RERANK_MODEL ?? 'tiny'));
  const ranked = await (await encoder).rank(query, documents);
  return Response.json({ ranked });
}
