import { describe, expect, it } from 'vitest';
import { textFixFor } from './bert-fixes.js';

const bert = { normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true } };

describe('textFixFor', () => {
  it('spaces out supplementary-plane ideographs the way the Rust normalizer does', () => {
    const fix = textFixFor(bert);
    expect(fix('a𠀀𠀁b')).toBe('a 𠀀  𠀁 b');
    // U+2B820..U+2B91F is not in the Rust list, so it stays glued to its neighbours.
    expect(fix('a\u{2B820}b')).toBe('a\u{2B820}b');
  });

  it('drops unassigned code points and nothing else', () => {
    expect(textFixFor(bert)('ab\u0378cd é 東')).toBe('abcd é 東');
  });

  it('leaves other normalizers alone', () => {
    expect(textFixFor({ normalizer: { type: 'NFKC' } })('a\u0378𠀀')).toBe('a\u0378𠀀');
    expect(textFixFor({ normalizer: null })('x')).toBe('x');
  });
});
