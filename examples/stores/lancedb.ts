// LanceDB, embedded and on disk, through @langchain/community's LanceDB store: the variant to copy into an app.
//
// @langchain/community 1.1's LanceDB store drops the `filter` argument of its searches (its similaritySearch and
// similaritySearchWithScore do not pass it on, and the vector search has no filter) and reads a `score` column
// that LanceDB 0.31 does not return (it returns `_distance`). FilterableLanceDB keeps the community store for
// writing and replaces only the search: cosine distance, an SQL `where` filter applied before the nearest-neighbour
// search, scores as cosine similarity (like MemoryVectorStore's), and the document id kept in a column.
import { connect, type Table } from '@lancedb/lancedb';
import { LanceDB } from '@langchain/community/vectorstores/lancedb';
import { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';

/** The column that holds each document's id (LanceDB has no id field of its own). */
export const ID_COLUMN = 'docId';
const TEXT_COLUMN = 'text';

export class FilterableLanceDB extends LanceDB {
  /** An SQL predicate over the metadata columns, e.g. `shard = 0 AND year > 2010`. */
  declare FilterType: string;
  readonly #table: Table;

  constructor(embeddings: EmbeddingsInterface, table: Table) {
    super(embeddings, { table, textKey: TEXT_COLUMN });
    this.#table = table;
  }

  /** Creates (or overwrites) table `name` in the database folder `dir` from documents and their vectors. */
  static async create(
    embeddings: EmbeddingsInterface,
    dir: string,
    name: string,
    docs: readonly Document[],
    vectors: number[][],
  ): Promise<FilterableLanceDB> {
    const rows = docs.map((doc, i) => ({
      vector: vectors[i] as number[],
      [TEXT_COLUMN]: doc.pageContent,
      [ID_COLUMN]: doc.id ?? '',
      ...doc.metadata,
    }));
    const table = await (await connect(dir)).createTable(name, rows, { mode: 'overwrite' });
    return new FilterableLanceDB(embeddings, table);
  }

  /** Opens table `name` in `dir` as written by an earlier process; undefined when there is none. */
  static async open(
    embeddings: EmbeddingsInterface,
    dir: string,
    name: string,
  ): Promise<FilterableLanceDB | undefined> {
    const db = await connect(dir);
    if (!(await db.tableNames()).includes(name)) return undefined;
    return new FilterableLanceDB(embeddings, await db.openTable(name));
  }

  /** Rows stored so far. */
  count(): Promise<number> {
    return this.#table.countRows();
  }

  /** Appends documents and their vectors, the rows laid out as {@link create} lays them out. */
  async append(docs: readonly Document[], vectors: number[][]): Promise<void> {
    await this.#table.add(
      docs.map((doc, i) => ({
        vector: vectors[i] as number[],
        [TEXT_COLUMN]: doc.pageContent,
        [ID_COLUMN]: doc.id ?? '',
        ...doc.metadata,
      })),
    );
  }

  override async similaritySearch(query: string, k = 4, filter?: this['FilterType']): Promise<Document[]> {
    return (await this.similaritySearchWithScore(query, k, filter)).map(([doc]) => doc);
  }

  override async similaritySearchWithScore(
    query: string,
    k = 4,
    filter?: this['FilterType'],
  ): Promise<[Document, number][]> {
    return this.similaritySearchVectorWithScore(await this.embeddings.embedQuery(query), k, filter);
  }

  override async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: this['FilterType'],
  ): Promise<[Document, number][]> {
    let search = this.#table.query().nearestTo(query).distanceType('cosine').limit(k);
    if (filter !== undefined && filter !== '') search = search.where(filter);
    const rows = (await search.toArray()) as Record<string, unknown>[];
    return rows.map((row) => {
      const metadata: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(row)) {
        if (key !== 'vector' && key !== '_distance' && key !== TEXT_COLUMN && key !== ID_COLUMN) {
          metadata[key] = typeof value === 'bigint' ? Number(value) : value;
        }
      }
      const doc = new Document({ pageContent: String(row[TEXT_COLUMN]), metadata, id: String(row[ID_COLUMN]) });
      return [doc, 1 - Number(row['_distance'])];
    });
  }
}
