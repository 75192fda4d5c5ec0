/**
 * A small English analyzer in the spirit of Lucene's `EnglishAnalyzer` (what Anserini's BM25
 * baselines use): drop possessive `'s`, lowercase, split on anything that is not a letter or a
 * digit, remove Lucene's default English stopwords, Porter-stem.
 *
 * Known differences from Lucene's `StandardTokenizer` (UAX #29 word breaks): `3.5`, `U.S.` and
 * `don't` are split into several tokens here, and no token length limit applies.
 */

/** Lucene's `EnglishAnalyzer.ENGLISH_STOP_WORDS_SET` (33 words). */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'but',
  'by',
  'for',
  'if',
  'in',
  'into',
  'is',
  'it',
  'no',
  'not',
  'of',
  'on',
  'or',
  'such',
  'that',
  'the',
  'their',
  'then',
  'there',
  'these',
  'they',
  'this',
  'to',
  'was',
  'will',
  'with',
]);

// Stemming dominates indexing time and vocabularies are small, so stems are memoised.
const STEM_CACHE_LIMIT = 500_000;
const stemCache = new Map<string, string>();

/** Lowercased, stopword-free, stemmed tokens of `text`. */
export function analyzeEnglish(text: string): string[] {
  const tokens: string[] = [];
  const lower = text.replace(/['\u2019\uFF07]s(?![\p{L}\p{N}])/gu, '').toLowerCase();
  for (const match of lower.matchAll(/[\p{L}\p{N}]+/gu)) {
    const token = match[0];
    if (ENGLISH_STOP_WORDS.has(token)) continue;
    let stem = stemCache.get(token);
    if (stem === undefined) {
      if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
      stemCache.set(token, (stem = porterStem(token)));
    }
    tokens.push(stem);
  }
  return tokens;
}

/**
 * The Porter (1980) stemmer as in Martin Porter's reference implementation and Lucene's
 * `PorterStemmer`, including their two departures from the paper (`-bli` → `-ble` instead of
 * `-abli` → `-able`, and `-logi` → `-log`). Expects a lowercase word; words of up to two
 * letters are returned unchanged.
 */
export function porterStem(word: string): string {
  if (word.length <= 2) return word;
  b = word.split('');
  k = b.length - 1;
  j = 0;

  // Step 1ab: plurals, -ed, -ing.
  if (b[k] === 's') {
    if (ends('sses')) k -= 2;
    else if (ends('ies')) setTo('i');
    else if (b[k - 1] !== 's') k--;
  }
  if (ends('eed')) {
    if (m() > 0) k--;
  } else if ((ends('ed') || ends('ing')) && vowelInStem()) {
    k = j;
    if (ends('at')) setTo('ate');
    else if (ends('bl')) setTo('ble');
    else if (ends('iz')) setTo('ize');
    else if (doubleC(k)) {
      const c = b[k];
      if (c !== 'l' && c !== 's' && c !== 'z') k--;
    } else if (m() === 1 && cvc(k)) setTo('e');
  }
  // Step 1c: terminal y → i when the stem has a vowel.
  if (ends('y') && vowelInStem()) b[k] = 'i';
  // Step 2: double suffixes to single ones.
  if (k > 0) firstRule(STEP2[b[k - 1]!]);
  // Step 3: -ic-, -full, -ness...
  firstRule(STEP3[b[k]!]);
  // Step 4: strip -ant, -ence... when m() > 1.
  const step4 = k > 0 ? STEP4[b[k - 1]!] : undefined;
  for (const suffix of step4 ?? []) {
    if (!ends(suffix)) continue;
    if (suffix === 'ion' && !(j >= 0 && (b[j] === 's' || b[j] === 't'))) continue;
    if (m() > 1) k = j;
    break;
  }
  // Step 5: final -e, and -ll → -l, when m() is large enough.
  j = k;
  if (b[k] === 'e') {
    const a = m();
    if (a > 1 || (a === 1 && !cvc(k - 1))) k--;
  }
  if (b[k] === 'l' && doubleC(k) && m() > 1) k--;
  return b.slice(0, k + 1).join('');
}

// Stemmer state, module-level rather than closures because stemming is the hot path of indexing.
let b: string[] = []; // the word being stemmed
let k = 0; // last index of the current stem
let j = 0; // end of the stem before a matched suffix, set by ends()

function cons(i: number): boolean {
  const c = b[i];
  if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
  if (c === 'y') return i === 0 ? true : !cons(i - 1);
  return true;
}

/** Number of vowel-consonant sequences in b[0..j]: [C](VC)^m[V]. */
function m(): number {
  let n = 0;
  let i = 0;
  while (i <= j && cons(i)) i++;
  while (i <= j) {
    while (i <= j && !cons(i)) i++;
    if (i > j) break;
    n++;
    while (i <= j && cons(i)) i++;
  }
  return n;
}

function vowelInStem(): boolean {
  for (let i = 0; i <= j; i++) if (!cons(i)) return true;
  return false;
}

function doubleC(i: number): boolean {
  return i >= 1 && b[i] === b[i - 1] && cons(i);
}

/** Consonant-vowel-consonant ending at i, the last not w, x or y (hop, not snow). */
function cvc(i: number): boolean {
  if (i < 2 || !cons(i) || cons(i - 1) || !cons(i - 2)) return false;
  return b[i] !== 'w' && b[i] !== 'x' && b[i] !== 'y';
}

function ends(s: string): boolean {
  const start = k - s.length + 1;
  if (start < 0) return false;
  for (let i = 0; i < s.length; i++) if (b[start + i] !== s[i]) return false;
  j = k - s.length;
  return true;
}

function setTo(s: string): void {
  for (let i = 0; i < s.length; i++) b[j + 1 + i] = s[i]!;
  k = j + s.length;
}

/** The first matching suffix wins, even when its m() > 0 condition then fails. */
function firstRule(rules: readonly (readonly [string, string])[] | undefined): void {
  for (const [suffix, replacement] of rules ?? []) {
    if (ends(suffix)) {
      if (m() > 0) setTo(replacement);
      return;
    }
  }
}

type Rules = Readonly<Record<string, readonly (readonly [string, string])[]>>;

// Keyed by the penultimate letter, as in the reference implementation.
const STEP2: Rules = {
  a: [
    ['ational', 'ate'],
    ['tional', 'tion'],
  ],
  c: [
    ['enci', 'ence'],
    ['anci', 'ance'],
  ],
  e: [['izer', 'ize']],
  l: [
    ['bli', 'ble'],
    ['alli', 'al'],
    ['entli', 'ent'],
    ['eli', 'e'],
    ['ousli', 'ous'],
  ],
  o: [
    ['ization', 'ize'],
    ['ation', 'ate'],
    ['ator', 'ate'],
  ],
  s: [
    ['alism', 'al'],
    ['iveness', 'ive'],
    ['fulness', 'ful'],
    ['ousness', 'ous'],
  ],
  t: [
    ['aliti', 'al'],
    ['iviti', 'ive'],
    ['biliti', 'ble'],
  ],
  g: [['logi', 'log']],
};

// Keyed by the last letter.
const STEP3: Rules = {
  e: [
    ['icate', 'ic'],
    ['ative', ''],
    ['alize', 'al'],
  ],
  i: [['iciti', 'ic']],
  l: [
    ['ical', 'ic'],
    ['ful', ''],
  ],
  s: [['ness', '']],
};

// Keyed by the penultimate letter; order matters (-ement before -ment before -ent).
const STEP4: Readonly<Record<string, readonly string[]>> = {
  a: ['al'],
  c: ['ance', 'ence'],
  e: ['er'],
  i: ['ic'],
  l: ['able', 'ible'],
  n: ['ant', 'ement', 'ment', 'ent'],
  o: ['ion', 'ou'],
  s: ['ism'],
  t: ['ate', 'iti'],
  u: ['ous'],
  v: ['ive'],
  z: ['ize'],
};
