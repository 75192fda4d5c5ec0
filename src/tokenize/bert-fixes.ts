/**
 * Corrections applied to text before `@huggingface/tokenizers` sees it, where its BertNormalizer parts from the Rust
 * `tokenizers` one that sentence-transformers runs. Each fix only does what the Rust normalizer would do anyway, so
 * applying it before the JS normalizer leaves the result the Rust one gives.
 *
 * - CJK ideographs outside the Basic Multilingual Plane (Extension B and later) get spaces around them in Rust;
 *   the JS version tests UTF-16 code units, never sees the code point, and merges neighbouring ideographs into one word.
 * - Unassigned code points (general category Cn) are dropped by Rust's `clean_text` but kept by the JS one.
 */
export type TextFix = (text: string) => string;

// The supplementary-plane ranges of Rust's `is_chinese_char`; the BMP ranges already work in JS.
const ASTRAL_CJK =
  /[\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B920}-\u{2CEAF}\u{2F800}-\u{2FA1F}]/gu;
const UNASSIGNED = /\p{Cn}/gu;

const identity: TextFix = (text) => text;

/** The fix-up a tokenizer needs, read from its `tokenizer.json`; identity when its normalizer is not BERT's. */
export function textFixFor(tokenizerJson: Record<string, unknown>): TextFix {
  const bert = findBertNormalizer(tokenizerJson['normalizer']);
  if (bert === undefined) return identity;
  const cjk = bert['handle_chinese_chars'] !== false;
  const clean = bert['clean_text'] !== false;
  if (!cjk && !clean) return identity;
  return (text) => {
    let fixed = text;
    if (clean) fixed = fixed.replace(UNASSIGNED, '');
    if (cjk) fixed = fixed.replace(ASTRAL_CJK, ' $& ');
    return fixed;
  };
}

function findBertNormalizer(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const normalizer = value as Record<string, unknown>;
  if (normalizer['type'] === 'BertNormalizer') return normalizer;
  if (normalizer['type'] === 'Sequence' && Array.isArray(normalizer['normalizers'])) {
    for (const inner of normalizer['normalizers']) {
      const found = findBertNormalizer(inner);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
