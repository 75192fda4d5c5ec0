// The two rerank protocols on the wire: what RemoteScorer sends and how it reads the answer. Kept apart from the
// client so the shapes are checked in one place; field names follow the servers, not our own style.

/** Which request and response shape a server speaks. */
export type RerankProtocol = 'tei' | 'cohere';

/** Text Embeddings Inference `POST /rerank` request. */
export interface TeiRerankRequest {
  /** The query every text is scored against. */
  query: string;
  /** The texts to score. */
  texts: string[];
  /** `false`: the server applies the model's activation (sigmoid for one logit). */
  raw_scores: boolean;
  /** Cut over-long pairs to the model's length instead of refusing them. */
  truncate: boolean;
  /** Whether each result carries its text. */
  return_text: boolean;
  /** The task description for a reranker on a language model; only `langchain-cross-encoder serve` is known to read it. */
  instruction?: string;
}

/** One entry of a TEI `/rerank` answer, sorted by score. */
export interface TeiRerankResult {
  /** Position in the request's `texts`. */
  index: number;
  /** The score, higher is more relevant. */
  score: number;
  /** The text, when `return_text` was set. */
  text?: string;
}

/** Cohere-style `POST /v1/rerank` or `/v2/rerank` request (Cohere, Infinity, vLLM, Jina and our own server). */
export interface CohereRerankRequest {
  /** The model name; servers that host one model ignore it. */
  model?: string;
  /** The query every document is scored against. */
  query: string;
  /** The documents to score. */
  documents: string[];
  /** Most results returned. */
  top_n: number;
  /** Whether each result carries its document. */
  return_documents: boolean;
  /** As on the TEI request. */
  instruction?: string;
}

/** One entry of a Cohere-style answer's `results`, sorted by relevance. */
export interface CohereRerankResult {
  /** Position in the request's `documents`. */
  index: number;
  /** The score, higher is more relevant. */
  relevance_score: number;
  /** The document, when `return_documents` was set. */
  document?:
    | {
        /** The document's text. */
        text: string;
      }
    | string;
}

/** A Cohere-style answer: `results` is the only field read. */
export interface CohereRerankResponse {
  /** The results, best first. */
  results: CohereRerankResult[];
}

/** The request body for one chunk of documents under one query; `instruction` only when set, so servers that refuse
 * unknown fields see the plain shape. */
export function rerankRequestBody(
  protocol: RerankProtocol,
  query: string,
  documents: string[],
  model: string | undefined,
  instruction?: string,
): TeiRerankRequest | CohereRerankRequest {
  const extra = instruction === undefined ? {} : { instruction };
  if (protocol === 'tei') {
    return { query, texts: documents, raw_scores: false, truncate: true, return_text: false, ...extra };
  }
  return {
    ...(model === undefined ? {} : { model }),
    query,
    documents,
    top_n: documents.length,
    return_documents: false,
    ...extra,
  };
}

/** Why an answer is not a usable rerank answer; the text names fields and indices, never document text. */
export class MalformedAnswer extends Error {}

/**
 * Reads a rerank answer into one score per document, in the order sent, whatever order the server listed them in.
 * Throws {@link MalformedAnswer} unless every document is scored exactly once with a finite number.
 */
export function readRerankAnswer(protocol: RerankProtocol, body: unknown, count: number): number[] {
  let entries: unknown;
  if (protocol === 'tei') {
    entries = body;
    if (!Array.isArray(entries))
      throw new MalformedAnswer(`expected a JSON array of {index, score}, got ${kind(body)}`);
  } else {
    entries = isRecord(body) ? body.results : undefined;
    if (!Array.isArray(entries)) {
      throw new MalformedAnswer(`expected a JSON object with a "results" array, got ${kind(body)}`);
    }
  }
  const scoreKey = protocol === 'tei' ? 'score' : 'relevance_score';
  const list = entries as unknown[];
  if (list.length !== count) {
    throw new MalformedAnswer(`sent ${count} documents, got ${list.length} results`);
  }
  const scores = new Array<number>(count);
  const seen = new Uint8Array(count);
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (!isRecord(entry)) throw new MalformedAnswer(`result ${i} is ${kind(entry)}, not an object`);
    const index = entry.index;
    const score = entry[scoreKey];
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count) {
      throw new MalformedAnswer(`result ${i} has index ${kind(index)}, expected an integer in [0, ${count})`);
    }
    if (seen[index] === 1) throw new MalformedAnswer(`index ${index} is listed twice`);
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new MalformedAnswer(`result ${i} has ${scoreKey} ${kind(score)}, expected a finite number`);
    }
    seen[index] = 1;
    scores[index] = score;
  }
  return scores;
}

/** The server's own error text from an error body: TEI's `error`, Cohere's `message`, FastAPI's `detail`. */
export function serverErrorText(body: string): string | undefined {
  const trimmed = body.trim();
  if (trimmed === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (isRecord(parsed)) {
      for (const key of ['error', 'message', 'detail']) {
        const value = parsed[key];
        if (typeof value === 'string') return clip(value);
        if (value !== undefined) return clip(JSON.stringify(value));
      }
    }
  } catch {
    // Not JSON: the start of the text is the best there is.
  }
  return clip(trimmed);
}

function clip(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Describes a value by its type only, so an answer that echoes documents never leaks them into a message.
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'number') return String(value);
  return `a ${typeof value}`;
}
