/**
 * What the tokenizer needs of a Hugging Face tokenizer implementation: each platform supplies one (the Rust library's
 * Node binding on Node, a browser build on the web), and everything above it (pair templates, truncation, windows)
 * is shared.
 */
export interface TokenizerBinding {
  /** Ids of each text with no special tokens added, and no truncation or padding. */
  encodeTexts(texts: readonly string[]): Promise<number[][]>;
  /** The id of a vocabulary or added token, or `undefined` when the tokenizer has none by that name. */
  tokenToId(token: string): number | undefined;
  /** Frees what the binding holds outside the JavaScript heap (the browser tokenizer's WebAssembly memory). */
  dispose?(): void;
}

/** Builds a binding from the text of a `tokenizer.json`. */
export type TokenizerLoader = (tokenizerJson: string) => Promise<TokenizerBinding>;
