// The AI SDK's reranking model specification, as much of it as this provider implements, written out here so the
// entry loads nothing from @ai-sdk/provider and its types fit both generations in use: RerankingModelV3 (`ai` 6,
// @ai-sdk/provider 3.x) and RerankingModelV4 (`ai` 7, 4.x), which differ only in their version tag. The models say
// 'v3', the version both take: `ai` 6 as it is, `ai` 7 through its own adapter for v3 models.

/** The specification version the provider and its models report. */
export const SPECIFICATION_VERSION = 'v3';

/** JSON as the provider writes it into `providerMetadata` (3.x's mutable type, which 4.x's readonly one accepts). */
export type JSONValue = null | string | number | boolean | JSONObject | JSONValue[];
/** A JSON object as the provider writes it; `undefined` values are left out when serialised. */
export type JSONObject = { [key: string]: JSONValue | undefined };
/** JSON as the provider reads it from a call: either generation's (4.x marks it readonly). */
export type ReadonlyJSONObject = Readonly<Record<string, unknown>>;

/** What `rerank()` from `ai` passes to a reranking model. */
export interface RerankingCallOptions {
  /** The documents to rank: all texts or all JSON objects. */
  documents:
    | {
        /** Plain text documents. */
        type: 'text';
        /** The texts, as the model reads them. */
        values: readonly string[];
      }
    | {
        /** Structured documents. */
        type: 'object';
        /** The objects, read through `rankFields` or rendered as `key: value` lines. */
        values: readonly ReadonlyJSONObject[];
      };
  /** What the documents are ranked against. */
  query: string;
  /** How many results to answer at most; unset answers every document. */
  topN?: number;
  /** Stops the ranking; the call rejects. */
  abortSignal?: AbortSignal;
  /** Per-call options by provider; this one reads those under `crossEncoder`. */
  providerOptions?: Readonly<Record<string, ReadonlyJSONObject>>;
  /** HTTP headers for a remote provider; a local model has no use for them. */
  headers?: Readonly<Record<string, string | undefined>>;
}

/** What a reranking model answers: every document's index and score, best first. */
export interface RerankingResult {
  /** The documents ranked, best first. */
  ranking: Array<{
    /** Position in the documents given. */
    index: number;
    /** The model's score; higher is more relevant. */
    relevanceScore: number;
  }>;
  /** Extra results by provider; this one writes, under `crossEncoder`, which window of each split document scored. */
  providerMetadata?: Record<string, JSONObject>;
  /** About the call, as a remote provider would report its response. */
  response?: {
    /** The response's id, when the provider has one. */
    id?: string;
    /** When the call started. */
    timestamp?: Date;
    /** The model that answered. */
    modelId?: string;
    /** Response headers, when the provider has any. */
    headers?: Record<string, string>;
  };
}
