// A small LangChain vector store over hnswlib-node, persisted to a folder (index file + documents as JSON).
// It predates @langchain/community in this install; the community stores are tested in vector-stores.int.test.ts.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Document, type DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { VectorStore } from '@langchain/core/vectorstores';
import hnswlib from 'hnswlib-node';

const { HierarchicalNSW } = hnswlib;

interface Stored {
  pageContent: string;
  metadata: Record<string, unknown>;
  id?: string;
}

export class HnswlibStore extends VectorStore {
  declare FilterType: never;
  #index: InstanceType<typeof HierarchicalNSW> | undefined;
  #docs: Stored[] = [];

  _vectorstoreType(): string {
    return 'hnswlib-test';
  }

  async addVectors(vectors: number[][], documents: DocumentInterface[]): Promise<void> {
    if (vectors.length === 0) return;
    const dim = (vectors[0] as number[]).length;
    const needed = this.#docs.length + vectors.length;
    if (this.#index === undefined) {
      this.#index = new HierarchicalNSW('cosine', dim);
      this.#index.initIndex(Math.max(needed, 16));
    } else if (needed > this.#index.getMaxElements()) {
      this.#index.resizeIndex(needed * 2);
    }
    vectors.forEach((vector, i) => {
      const doc = documents[i] as DocumentInterface;
      this.#index?.addPoint(vector, this.#docs.length);
      this.#docs.push({
        pageContent: doc.pageContent,
        metadata: { ...doc.metadata },
        ...(doc.id ? { id: doc.id } : {}),
      });
    });
  }

  async addDocuments(documents: DocumentInterface[]): Promise<void> {
    await this.addVectors(await this.embeddings.embedDocuments(documents.map((d) => d.pageContent)), documents);
  }

  async similaritySearchVectorWithScore(query: number[], k: number): Promise<[DocumentInterface, number][]> {
    if (this.#index === undefined) return [];
    const found = this.#index.searchKnn(query, Math.min(k, this.#docs.length));
    return found.neighbors.map((label, i) => {
      const stored = this.#docs[label] as Stored;
      // hnswlib's cosine space returns distance = 1 - cosine.
      return [new Document({ ...stored, metadata: { ...stored.metadata } }), 1 - (found.distances[i] as number)];
    });
  }

  async save(directory: string): Promise<void> {
    if (this.#index === undefined) throw new Error('Nothing to save: add documents first.');
    await mkdir(directory, { recursive: true });
    await this.#index.writeIndex(path.join(directory, 'index.bin'));
    const dim = this.#index.getNumDimensions();
    await writeFile(path.join(directory, 'docs.json'), JSON.stringify({ dim, docs: this.#docs }));
  }

  static async load(directory: string, embeddings: EmbeddingsInterface): Promise<HnswlibStore> {
    const { dim, docs } = JSON.parse(await readFile(path.join(directory, 'docs.json'), 'utf8')) as {
      dim: number;
      docs: Stored[];
    };
    const store = new HnswlibStore(embeddings, {});
    store.#index = new HierarchicalNSW('cosine', dim);
    await store.#index.readIndex(path.join(directory, 'index.bin'));
    store.#docs = docs;
    return store;
  }

  static override async fromDocuments(
    documents: DocumentInterface[],
    embeddings: EmbeddingsInterface,
  ): Promise<HnswlibStore> {
    const store = new HnswlibStore(embeddings, {});
    await store.addDocuments(documents);
    return store;
  }
}
