import { HttpError } from './http-error.js';
import { InvalidArgumentError } from '../errors.js';
import { isRecord, renderRecord, validateRankFields, type RankFields } from '../documents/render.js';

/** What every rerank route asks of the engine, whatever its wire shape. */
export interface RerankJob {
  query: string;
  texts: string[];
  /** Results to return, best first. */
  topN: number;
  returnText: boolean;
  /** TEI's `raw_scores`: logits instead of activated scores. */
  rawScores: boolean;
  /** Documents sent as records other than `{ text }`, by index: returned as sent with `return_documents`. */
  records?: Map<number, unknown>;
  /** The task description for a reranker on a language model (`instruction` on every route); unset keeps the model's. */
  instruction?: string | undefined;
}

/** Caps on one request's content. */
export interface ContentLimits {
  maxTexts: number;
  maxTextChars: number;
}

type Route = 'tei' | 'cohere-v1' | 'cohere-v2';

/** Reads and checks a parsed JSON body of a rerank route; a 422 names the field at fault. */
export function parseRerankBody(route: Route, body: unknown, limits: ContentLimits): RerankJob {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the body must be a JSON object');
  }
  const fields = body as Record<string, unknown>;
  const query = fields.query;
  if (typeof query !== 'string') throw invalid(`"query" must be a string, got ${kind(query)}`);
  if (query.trim() === '') throw invalid('"query" is empty');
  checkLength(query, 'query', limits);
  const listKey = route === 'tei' ? 'texts' : 'documents';
  const list = fields[listKey];
  if (!Array.isArray(list)) {
    // The other family's body shape on this route is the likeliest cause: say where it goes.
    const hint =
      route === 'tei' && Array.isArray(fields.documents)
        ? "; this route takes TEI's {query, texts}: send Cohere-style {query, documents} to /v2/rerank"
        : route !== 'tei' && Array.isArray(fields.texts)
          ? "; this route takes Cohere's {query, documents}: send TEI-style {query, texts} to /rerank"
          : '';
    throw invalid(`"${listKey}" must be an array, got ${kind(list)}${hint}`);
  }
  if (list.length === 0) throw invalid(`"${listKey}" is empty`);
  if (list.length > limits.maxTexts) {
    throw invalid(
      `"${listKey}" holds ${list.length} entries, more than this server's limit of ${limits.maxTexts}; split the request`,
    );
  }
  const rankFields = route === 'tei' ? undefined : readRankFields(fields.rank_fields);
  const records = new Map<number, unknown>();
  const texts = list.map((entry: unknown, i) => {
    let text: unknown = entry;
    // Cohere also takes documents as records: `{ text }`, or any fields read through `rank_fields`.
    if (route !== 'tei' && isRecord(entry)) {
      const plain = rankFields === undefined && typeof entry.text === 'string';
      // JSON has no cycles or functions; depth and length are bounded while rendering, as the body was.
      text = plain ? entry.text : renderBounded(entry, rankFields, `${listKey}[${i}]`, limits);
      if (!plain) records.set(i, entry);
    }
    if (typeof text !== 'string') throw invalid(`"${listKey}[${i}]" must be a string, got ${kind(text)}`);
    checkLength(text, `${listKey}[${i}]`, limits);
    return text;
  });
  const topKey = route === 'tei' ? undefined : 'top_n';
  let topN = texts.length;
  if (topKey !== undefined && fields[topKey] !== undefined && fields[topKey] !== null) {
    const value = fields[topKey];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw invalid(`"top_n" must be a positive integer, got ${kind(value)}`);
    }
    topN = Math.min(value, texts.length);
  }
  const returnKey = route === 'tei' ? 'return_text' : 'return_documents';
  const returnText = flag(fields, returnKey, false);
  const rawScores = route === 'tei' ? flag(fields, 'raw_scores', false) : false;
  const instruction = fields.instruction ?? undefined;
  if (instruction !== undefined && typeof instruction !== 'string') {
    throw invalid(`"instruction" must be a string, got ${kind(instruction)}`);
  }
  if (instruction !== undefined) checkLength(instruction, 'instruction', limits);
  // TEI's `truncate` is accepted but not needed: the engine always cuts pairs to the model's length.
  const job: RerankJob = { query, texts, topN, returnText, rawScores, instruction };
  if (records.size > 0) job.records = records;
  return job;
}

/** Ranks scores best first, ties in input order, and writes the route's answer. */
export function rerankAnswer(route: Route, job: RerankJob, scores: readonly number[], model: string): unknown {
  const order = scores
    .map((score, index) => ({ index, score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, job.topN);
  if (route === 'tei') {
    return order.map(({ index, score }) =>
      job.returnText ? { index, score, text: job.texts[index] } : { index, score },
    );
  }
  return {
    id: crypto.randomUUID(),
    results: order.map(({ index, score }) =>
      job.returnText
        ? { index, relevance_score: score, document: job.records?.get(index) ?? { text: job.texts[index] } }
        : { index, relevance_score: score },
    ),
    meta: { api_version: { version: route === 'cohere-v1' ? '1' : '2' }, billed_units: { search_units: 1 } },
    model,
  };
}

/** Cohere's `rank_fields`: the fields of record documents to score, in order. */
function readRankFields(value: unknown): RankFields | undefined {
  if (value === undefined || value === null) return undefined;
  // Said without the names sent, as every refusal here is.
  const refusal = invalid(`"rank_fields" must be a non-empty array of distinct, non-empty field names`);
  if (!Array.isArray(value)) throw refusal;
  try {
    return validateRankFields(value, 'rank_fields');
  } catch (error) {
    if (InvalidArgumentError.isInstance(error)) throw refusal;
    throw error;
  }
}

/** A record's text within this server's limits, or a 422 saying which limit it passed (never its content). */
function renderBounded(
  record: Record<string, unknown>,
  rankFields: RankFields | undefined,
  field: string,
  limits: ContentLimits,
) {
  try {
    return renderRecord(record, rankFields, field, { maxChars: limits.maxTextChars });
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    const reason = error.message.slice(`${field}: `.length).replace('(rankFields)', 'with rank_fields');
    throw invalid(`"${field}": ${reason}`);
  }
}

function flag(fields: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = fields[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalid(`"${key}" must be true or false, got ${kind(value)}`);
  return value;
}

function checkLength(text: string, field: string, limits: ContentLimits): void {
  if (text.length > limits.maxTextChars) {
    throw invalid(`"${field}" is ${text.length} characters, more than this server's limit of ${limits.maxTextChars}`);
  }
}

function invalid(message: string): HttpError {
  return new HttpError(422, 'validation', message);
}

// By type, and the value only for numbers and booleans: a refused request never has its text echoed back or logged.
function kind(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
