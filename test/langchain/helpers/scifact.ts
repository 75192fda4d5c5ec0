import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Document } from '@langchain/core/documents';
import { DATA_DIR } from '../../helpers/models.js';

/** SciFact as BEIR ships it, beside the repository. */
export const SCIFACT_DIR = path.join(DATA_DIR, 'scifact');

/** Why the SciFact tests cannot run here, or undefined when they can. */
export const scifactMissing: string | undefined = existsSync(path.join(SCIFACT_DIR, 'corpus.jsonl'))
  ? undefined
  : `no SciFact corpus at ${SCIFACT_DIR} (the shared data folder beside the repository)`;

async function readJsonl(file: string): Promise<Record<string, string>[]> {
  return (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, string>);
}

/**
 * The first `limit` abstracts, in corpus order. Each carries `title` and `shard` (its numeric id modulo 4) as
 * metadata, so that searches have something to filter on.
 */
export async function scifactDocs(limit: number): Promise<Document[]> {
  const corpus = await readJsonl(path.join(SCIFACT_DIR, 'corpus.jsonl'));
  return corpus.slice(0, limit).map((row) => {
    const id = row['_id'] as string;
    return new Document({
      pageContent: `${row['title'] ?? ''}\n${row['text'] ?? ''}`.trim(),
      metadata: { title: row['title'] ?? '', shard: Number(id) % 4 },
      id,
    });
  });
}

/** The first `count` test queries' texts. */
export async function scifactQueries(count: number): Promise<string[]> {
  return (await readJsonl(path.join(SCIFACT_DIR, 'queries.jsonl'))).slice(0, count).map((q) => q['text'] as string);
}
