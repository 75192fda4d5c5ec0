import { DisposedError, InvalidArgumentError, MissingDependencyError, ModelFormatError } from '../errors.js';
import { importBinding } from './import-binding.js';

import type { TokenizerBinding } from '../tokenize/binding.js';

export type { TokenizerBinding } from '../tokenize/binding.js';

/** The part of `@mlc-ai/web-tokenizers`' `Tokenizer` class this adapter uses. */
export interface WasmTokenizerClass {
  fromJSON(json: ArrayBuffer): Promise<WasmTokenizer>;
}

/** One tokenizer of `@mlc-ai/web-tokenizers`: its memory lives in WebAssembly until `dispose()`. */
interface WasmTokenizer {
  encode(text: string): Int32Array;
  dispose?(): void;
}

// The browser tokenizer is Hugging Face's Rust library compiled to WebAssembly (`@mlc-ai/web-tokenizers`, whose
// WebAssembly is embedded in its JavaScript, so no bundler has a file to locate). bench/web-tokenizers.ts measured
// it id-for-id against the Rust binding Node uses, over every test model's tokenizer: these are the pipeline parts
// it was measured on. Anything else is refused rather than risked, since its Rust is an older release than Node's
// and a wrong id gives a wrong score without any error.
const VERIFIED: Readonly<Record<'model' | 'normalizer' | 'pre_tokenizer', ReadonlySet<string>>> = {
  model: new Set(['WordPiece', 'BPE', 'Unigram']),
  normalizer: new Set(['BertNormalizer', 'Precompiled', 'Replace', 'NFC', 'Strip', 'Sequence']),
  pre_tokenizer: new Set(['BertPreTokenizer', 'ByteLevel', 'Metaspace', 'WhitespaceSplit', 'Split', 'Sequence']),
};
// Where a Sequence keeps its parts.
const SEQUENCE_PARTS = { normalizer: 'normalizers', pre_tokenizer: 'pretokenizers' } as const;

const FILE = 'tokenizer.json';
const ONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Loads a model's `tokenizer.json` (its text) into the browser tokenizer. Runs in browsers, web workers and Node
 * (no Node API is used). Throws `ModelFormatError` for a file that is not a tokenizer, or whose pipeline holds a part
 * this tokenizer was not verified to encode exactly.
 */
export async function loadWebTokenizer(tokenizerJson: string): Promise<TokenizerBinding> {
  const json = checkedTokenizerJson(tokenizerJson);
  // Loaded on first use: the module carries about 4.6 MB of WebAssembly, which bundlers can then split off.
  // A missing package is a missing dependency, not a damaged tokenizer.json: named as the other bindings are.
  const module = (await importBinding('@mlc-ai/web-tokenizers', () => import('@mlc-ai/web-tokenizers'))) as unknown as {
    Tokenizer?: WasmTokenizerClass;
    default?: { Tokenizer?: WasmTokenizerClass };
  };
  // Named export where the bundler reads the file as CommonJS (Vite, esbuild), the default's member under Node's
  // CommonJS interop, and the UMD global where it is read as strict ESM (webpack 5 honours `"type": "module"`).
  const umdGlobal = (globalThis as { tokenizers?: { Tokenizer?: WasmTokenizerClass } }).tokenizers;
  const wasm = module.Tokenizer ?? module.default?.Tokenizer ?? umdGlobal?.Tokenizer;
  if (wasm === undefined) {
    throw new ModelFormatError(
      '@mlc-ai/web-tokenizers loaded without its Tokenizer class: check that the bundler keeps its exports ' +
        '(it is a UMD file) and that one version of it is installed.',
    );
  }
  return createWebTokenizer(json, wasm);
}

/** `loadWebTokenizer` on a parsed, checked file and a given WebAssembly tokenizer class (tests and benchmarks). */
export async function createWebTokenizer(
  json: Readonly<Record<string, unknown>>,
  wasm: WasmTokenizerClass,
): Promise<TokenizerBinding> {
  // The engine cuts, pads and adds special tokens itself: the file's own settings for them must not apply.
  const plain = JSON.stringify({ ...json, truncation: null, padding: null, post_processor: null });
  const bytes = new TextEncoder().encode(plain);
  // The build reads the whole buffer, so it must hold exactly the file.
  const buffer = (bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()).buffer as ArrayBuffer;
  let tokenizer: WasmTokenizer;
  try {
    tokenizer = await wasm.fromJSON(buffer);
  } catch (cause) {
    // Some runtimes (Cloudflare Workers) refuse to compile WebAssembly at run time: the file is not at fault there.
    if (/WebAssembly|Wasm code generation/i.test(String(cause))) {
      throw new MissingDependencyError(
        '@mlc-ai/web-tokenizers',
        `This runtime refuses to compile the browser tokenizer's WebAssembly (${String(cause)}), so models cannot ` +
          'run here: score over a rerank server with RemoteScorer (langchain-cross-encoder/remote) instead.',
        { cause },
      );
    }
    throw new ModelFormatError(
      `${FILE} could not be loaded by the browser tokenizer (${String(cause)}). Re-save it with a current ` +
        'Hugging Face `tokenizers`, or use the Node entry, whose tokenizer reads every version.',
      { file: FILE, cause },
    );
  }
  let ids: Map<string, number> | undefined;
  let disposed = false;
  return {
    async encodeTexts(texts) {
      // A freed WebAssembly tokenizer would read released memory: refuse instead.
      if (disposed) throw new DisposedError();
      if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
        throw new InvalidArgumentError('texts', 'should be an array of strings.');
      }
      return texts.map((text) => Array.from(tokenizer.encode(wellFormed(text))));
    },
    tokenToId(token) {
      ids ??= vocabulary(json);
      return ids.get(token);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      tokenizer.dispose?.();
    },
  };
}

/** Parses the file and refuses what the browser tokenizer cannot be trusted with; the caller's text is not kept. */
function checkedTokenizerJson(text: string): Record<string, unknown> {
  if (typeof text !== 'string') {
    throw new InvalidArgumentError('tokenizerJson', "should be the text of the model's tokenizer.json.");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelFormatError(`${FILE} is not valid JSON (${(cause as Error).message}). Re-download the model.`, {
      file: FILE,
      cause,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelFormatError(`${FILE} should hold a JSON object.`, { file: FILE });
  }
  const unverified = [
    ...unverifiedParts(json as Record<string, unknown>, 'model'),
    ...unverifiedParts(json as Record<string, unknown>, 'normalizer'),
    ...unverifiedParts(json as Record<string, unknown>, 'pre_tokenizer'),
  ];
  if (unverified.length > 0) {
    throw new ModelFormatError(
      `${FILE} uses ${unverified.join(', ')}, which the browser tokenizer is not verified to encode exactly ` +
        'like the Rust tokenizer, so it would risk wrong token ids. Use the Node entry for this model, or a model ' +
        'whose tokenizer is WordPiece, BPE or Unigram with the BERT, byte-level or Metaspace pipeline parts.',
      { file: FILE },
    );
  }
  return json as Record<string, unknown>;
}

/** `kind` parts of the file (Sequence members included) outside the verified set, as `kind "Type"`. */
function unverifiedParts(json: Record<string, unknown>, kind: keyof typeof VERIFIED): string[] {
  const part = json[kind];
  if (part === null || (part === undefined && kind !== 'model')) return [];
  const type = (part as { type?: unknown } | undefined)?.type;
  if (typeof type !== 'string') return [`a ${kind} without a type`];
  if (!VERIFIED[kind].has(type)) return [`${kind} "${type}"`];
  // Measured as Qwen2 and Qwen3 use it: a regex whose matches are kept as pieces of their own.
  if (type === 'Split') {
    const split = part as { pattern?: { Regex?: unknown }; behavior?: unknown; invert?: unknown };
    const measured = typeof split.pattern?.Regex === 'string' && split.behavior === 'Isolated' && split.invert !== true;
    return measured ? [] : [`${kind} "Split" other than an isolating regex`];
  }
  if (type !== 'Sequence' || kind === 'model') return [];
  const members = (part as Record<string, unknown>)[SEQUENCE_PARTS[kind]];
  if (!Array.isArray(members)) return [`a ${kind} Sequence without its parts`];
  return members.flatMap((member) => unverifiedParts({ [kind]: member }, kind));
}

/** Token to id as the Rust library looks it up: added tokens first, then the model's vocabulary. */
function vocabulary(json: Readonly<Record<string, unknown>>): Map<string, number> {
  const ids = new Map<string, number>();
  const vocab = (json['model'] as { vocab?: unknown }).vocab;
  if (Array.isArray(vocab)) {
    // Unigram: [piece, score] pairs, the id being the position.
    vocab.forEach((entry, id) => {
      if (Array.isArray(entry) && typeof entry[0] === 'string') ids.set(entry[0], id);
    });
  } else if (typeof vocab === 'object' && vocab !== null) {
    for (const [token, id] of Object.entries(vocab)) if (typeof id === 'number') ids.set(token, id);
  }
  const added = json['added_tokens'];
  if (Array.isArray(added)) {
    for (const token of added as { content?: unknown; id?: unknown }[]) {
      if (typeof token.content === 'string' && typeof token.id === 'number') ids.set(token.content, token.id);
    }
  }
  return ids;
}

/** A lone UTF-16 surrogate becomes U+FFFD, as the Rust binding's string conversion makes it. */
function wellFormed(text: string): string {
  return text.replace(ONE_SURROGATE, '\ufffd');
}
