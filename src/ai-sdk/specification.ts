// The AI SDK's reranking model specification, as much of it as this provider implements, written out here so the
// entry loads nothing from @ai-sdk/provider and its types fit both generations in use: RerankingModelV3 (`ai` 6,
// @ai-sdk/provider 3.x) and RerankingModelV4 (`ai` 7, 4.x), which differ only in their version tag. The models say
// 'v3', the version both take: `ai` 6 as it is, `ai` 7 through its own adapter for v3 models.

/** The specification version the provider and its models report. */
export const SPECIFICATION_VERSION = 'v3';

/** JSON as the provider writes it into `providerMetadata` (3.x's mutable type, which 4.x's readonly one accepts). */
export type JSONValue = null | string | number | boolean | JSONObject | JSONValue[];
export type JSONObject = { [key: string]: JSONValue | undefined };
/** JSON as the provider reads it from a call: either generation's (4.x marks it readonly). */
export type ReadonlyJSONObject = Readonly<Record<string, unknown>>;

/** What `rerank()` from `ai` passes to a reranking model. */
export interface RerankingCallOptions {
  documents: { type: 'text'; values: readonly string[] } | { type: 'object'; values: readonly ReadonlyJSONObject[] };
  query: string;
  topN?: number;
  abortSignal?: AbortSignal;
  providerOptions?: Readonly<Record<string, ReadonlyJSONObject>>;
  headers?: Readonly<Record<string, string | undefined>>;
}

/** What a reranking model answers: every document's index and score, best first. */
export interface RerankingResult {
  ranking: Array<{ index: number; relevanceScore: number }>;
  providerMetadata?: Record<string, JSONObject>;
  response?: { id?: string; timestamp?: Date; modelId?: string; headers?: Record<string, string> };
}
