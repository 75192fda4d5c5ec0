import { ModelFormatError } from '../errors.js';

/** A token the template inserts around the two sequences. */
interface SpecialPiece {
  kind: 'special';
  ids: readonly number[];
  typeId: number;
}

/** A slot the query (`A`) or passage (`B`) fills. */
interface SequencePiece {
  kind: 'sequence';
  which: 'A' | 'B';
  typeId: number;
}

type Piece = SpecialPiece | SequencePiece;

/** The ids and segment ids of one assembled pair. */
export interface AssembledPair {
  ids: number[];
  typeIds: number[];
}

/**
 * Where special tokens go around a pair, read from `tokenizer.json`'s `post_processor`.
 * Truncation needs to know how many tokens this adds before it cuts; assembling
 * after the cut is what keeps the final separator that a naive tail cut loses.
 */
export class PairTemplate {
  readonly #pieces: readonly Piece[];
  readonly #single: readonly Piece[];
  /** Special tokens the template adds to a pair. */
  readonly addedTokens: number;
  /** Special tokens the template adds to a single text (embedding models encode one text at a time). */
  readonly addedTokensSingle: number;

  private constructor(pieces: readonly Piece[], single: readonly Piece[]) {
    this.#pieces = pieces;
    this.#single = single;
    this.addedTokens = countSpecial(pieces);
    this.addedTokensSingle = countSpecial(single);
  }

  /** Reads the template from a parsed `tokenizer.json`. `file` is named in errors. */
  static fromTokenizerJson(tokenizerJson: Record<string, unknown>, file: string): PairTemplate {
    const processor = findPairProcessor(tokenizerJson['post_processor']);
    // A lone ByteLevel processor (Qwen's and other byte-level decoders' files) only adjusts offsets: no tokens.
    if (processor === null || processor['type'] === 'ByteLevel') {
      return new PairTemplate([seq('A', 0), seq('B', 0)], [seq('A', 0)]);
    }
    switch (processor['type']) {
      case 'TemplateProcessing':
        return new PairTemplate(parseTemplate(processor, 'pair', file), parseTemplate(processor, 'single', file));
      case 'BertProcessing': {
        const cls = tokenId(processor['cls'], 'cls', file);
        const sep = tokenId(processor['sep'], 'sep', file);
        return new PairTemplate(
          [special([cls], 0), seq('A', 0), special([sep], 0), seq('B', 1), special([sep], 1)],
          [special([cls], 0), seq('A', 0), special([sep], 0)],
        );
      }
      case 'RobertaProcessing': {
        const cls = tokenId(processor['cls'], 'cls', file);
        const sep = tokenId(processor['sep'], 'sep', file);
        // RoBERTa-style models use a double separator between the sequences and no segment ids.
        return new PairTemplate(
          [special([cls], 0), seq('A', 0), special([sep, sep], 0), seq('B', 0), special([sep], 0)],
          [special([cls], 0), seq('A', 0), special([sep], 0)],
        );
      }
      default:
        throw new ModelFormatError(
          `${file}: post_processor type "${String(processor['type'])}" is not supported for sentence pairs. ` +
            'Supported: TemplateProcessing, BertProcessing, RobertaProcessing.',
          { file },
        );
    }
  }

  /** Joins a truncated query and passage with the template's special tokens. */
  assemble(query: readonly number[], passage: readonly number[]): AssembledPair {
    return fillTemplate(this.#pieces, query, passage);
  }

  /** Wraps one truncated text in the template's special tokens. */
  assembleSingle(text: readonly number[]): AssembledPair {
    return fillTemplate(this.#single, text, []);
  }
}

function fillTemplate(pieces: readonly Piece[], query: readonly number[], passage: readonly number[]): AssembledPair {
  const ids: number[] = [];
  const typeIds: number[] = [];
  for (const piece of pieces) {
    const part = piece.kind === 'special' ? piece.ids : piece.which === 'A' ? query : passage;
    for (const id of part) {
      ids.push(id);
      typeIds.push(piece.typeId);
    }
  }
  return { ids, typeIds };
}

function countSpecial(pieces: readonly Piece[]): number {
  return pieces.reduce((n, p) => n + (p.kind === 'special' ? p.ids.length : 0), 0);
}

function special(ids: readonly number[], typeId: number): SpecialPiece {
  return { kind: 'special', ids, typeId };
}

function seq(which: 'A' | 'B', typeId: number): SequencePiece {
  return { kind: 'sequence', which, typeId };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A `Sequence` post-processor wraps others (e.g. ByteLevel offsets, then a template); the pair layout lives in one of them. */
function findPairProcessor(value: unknown): Record<string, unknown> | null {
  if (!isRecord(value)) return null;
  if (value['type'] !== 'Sequence') return value;
  const inner = Array.isArray(value['processors']) ? value['processors'] : [];
  for (const candidate of inner) {
    const found = findPairProcessor(candidate);
    if (found !== null && found['type'] !== 'ByteLevel') return found;
  }
  return null;
}

function tokenId(value: unknown, field: string, file: string): number {
  if (Array.isArray(value) && typeof value[1] === 'number') return value[1];
  throw new ModelFormatError(`${file}: post_processor.${field} should be [token, id].`, { file });
}

function parseTemplate(processor: Record<string, unknown>, which: 'pair' | 'single', file: string): Piece[] {
  const pair = processor[which];
  const specials = isRecord(processor['special_tokens']) ? processor['special_tokens'] : {};
  if (!Array.isArray(pair)) {
    throw new ModelFormatError(`${file}: TemplateProcessing has no "${which}" template.`, {
      file,
    });
  }
  return pair.map((entry: unknown): Piece => {
    if (isRecord(entry) && isRecord(entry['Sequence'])) {
      const { id, type_id } = entry['Sequence'];
      if (id !== 'A' && id !== 'B')
        throw new ModelFormatError(`${file}: unknown template sequence "${String(id)}".`, { file });
      return seq(id, Number(type_id ?? 0));
    }
    if (isRecord(entry) && isRecord(entry['SpecialToken'])) {
      const { id, type_id } = entry['SpecialToken'];
      const known = specials[String(id)];
      if (!isRecord(known) || !Array.isArray(known['ids'])) {
        throw new ModelFormatError(
          `${file}: template uses special token "${String(id)}" missing from special_tokens.`,
          {
            file,
          },
        );
      }
      return special(known['ids'].map(Number), Number(type_id ?? 0));
    }
    throw new ModelFormatError(`${file}: unreadable entry in TemplateProcessing.pair.`, { file });
  });
}
