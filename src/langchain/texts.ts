import { InvalidArgumentError } from '../errors.js';
import { isRecord, renderRecord, type RankFields } from '../documents/render.js';
import { describe } from '../validate.js';

/** The texts of `compressDocuments`' documents: each must be a Document (a string `pageContent`). */
export function documentTexts(documents: readonly unknown[], rankFields: RankFields | undefined): string[] {
  return Array.from(documents, (doc, i) => {
    const parameter = `documents[${i}]`;
    const pageContent = (doc as { pageContent?: unknown } | null)?.pageContent;
    if (typeof doc !== 'object' || doc === null || typeof pageContent !== 'string') {
      throw new InvalidArgumentError(
        parameter,
        `expected a Document or an object with a string pageContent, got ${describe(doc)}.`,
      );
    }
    return rankFields === undefined ? pageContent : textOf(doc, rankFields, parameter);
  });
}

/** The texts of `rerank`'s inputs: Documents, strings or any records. */
export function inputTexts(inputs: readonly unknown[], rankFields: RankFields | undefined): string[] {
  return Array.from(inputs, (doc, i) => textOf(doc, rankFields, `documents[${i}]`));
}

/**
 * The text the model reads for one document: a string as it is; a Document or record with a string `pageContent`
 * as that text, or with `rankFields` as its fields (a Document's metadata and `pageContent`); any other record
 * through `rankFields` or as `key: value` lines.
 */
function textOf(doc: unknown, rankFields: RankFields | undefined, parameter: string): string {
  if (typeof doc === 'string') return doc;
  if (!isRecord(doc)) {
    throw new InvalidArgumentError(
      parameter,
      `expected a Document, a string or a record, got ${describe(doc)}. Convert it to one of those first.`,
    );
  }
  const pageContent = doc['pageContent'];
  if (typeof pageContent === 'string') {
    if (rankFields === undefined) return pageContent;
    const metadata = doc['metadata'];
    if (isRecord(metadata)) return renderRecord({ ...metadata, pageContent }, rankFields, parameter);
  }
  return renderRecord(doc, rankFields, parameter);
}
