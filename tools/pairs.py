"""Deterministic (query, passage) pairs for the golden files.

Real pairs come from the BEIR-layout data folder (TREC DL 2019/2021 BM25
candidates, SciFact, Cranfield); hand-written pairs cover truncation, unicode,
empty-ish strings, over-long words and other tokenizer edge cases.
Every pair carries a short `source` tag so failures are easy to locate.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

DATASETS = ("trec-dl-2019-passage", "trec-dl-2021-passage", "scifact", "cranfield")


def _read_jsonl(path: Path) -> dict[str, dict]:
    out = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                out[str(row["_id"])] = row
    return out


def _doc_text(doc: dict) -> str:
    title = (doc.get("title") or "").strip()
    text = (doc.get("text") or "").strip()
    return f"{title} {text}" if title and not text.startswith(title) else text


def _read_run(path: Path) -> dict[str, list[str]]:
    ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    with path.open() as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 4:
                ranked[parts[0]].append((int(parts[3]), parts[2]))
    return {q: [d for _, d in sorted(v)] for q, v in ranked.items()}


def _read_qrels(path: Path) -> dict[str, list[tuple[str, int]]]:
    rel: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with path.open() as fh:
        next(fh)  # header
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                rel[parts[0]].append((parts[1], int(parts[2])))
    return rel


def data_files(data_dir: Path) -> list[Path]:
    files = []
    for name in DATASETS:
        base = data_dir / name
        files += [base / "corpus.jsonl", base / "queries.jsonl", base / "qrels" / "test.tsv"]
        if name.startswith("trec"):
            files.append(base / "runs" / "bm25.top100.trec")
    return files


def corpus_texts(data_dir: Path, docs_per_dataset: int = 2000) -> list[dict]:
    """Real texts for tokenizer parity: the first documents of each corpus and every query, in file order."""
    texts = []
    for name in DATASETS:
        base = data_dir / name
        docs = list(_read_jsonl(base / "corpus.jsonl").values())[:docs_per_dataset]
        texts += [{"text": _doc_text(d), "source": f"{name}:doc"} for d in docs]
        texts += [{"text": q["text"], "source": f"{name}:query"} for q in _read_jsonl(base / "queries.jsonl").values()]
    return texts


def _run_pairs(base: Path, tag: str, n_queries: int, ranks: list[int], rng: random.Random):
    queries = _read_jsonl(base / "queries.jsonl")
    corpus = _read_jsonl(base / "corpus.jsonl")
    run = _read_run(base / "runs" / "bm25.top100.trec")
    qids = sorted(q for q in run if q in queries)
    out = []
    for qid in rng.sample(qids, n_queries):
        docs = run[qid]
        for r in ranks:
            if r <= len(docs) and docs[r - 1] in corpus:
                out.append((queries[qid]["text"], _doc_text(corpus[docs[r - 1]]), f"{tag}:q{qid}:rank{r}"))
    return out


def _qrel_pairs(base: Path, tag: str, n_queries: int, rng: random.Random):
    queries = _read_jsonl(base / "queries.jsonl")
    corpus = _read_jsonl(base / "corpus.jsonl")
    qrels = _read_qrels(base / "qrels" / "test.tsv")
    doc_ids = sorted(corpus)
    qids = sorted(q for q in qrels if q in queries)
    out = []
    for qid in rng.sample(qids, n_queries):
        relevant = sorted((d for d, s in qrels[qid] if s > 0 and d in corpus), key=lambda d: (-dict(qrels[qid])[d], d))
        if relevant:
            out.append((queries[qid]["text"], _doc_text(corpus[relevant[0]]), f"{tag}:q{qid}:relevant"))
        other = rng.choice(doc_ids)
        out.append((queries[qid]["text"], _doc_text(corpus[other]), f"{tag}:q{qid}:random"))
    return out, queries, corpus


def _synthetic() -> list[tuple[str, str, str]]:
    p = "The Eiffel Tower is a wrought-iron lattice tower in Paris, France."
    s = []

    def add(tag, q, d):
        s.append((q, d, f"synthetic:{tag}"))

    # unicode
    add("accents", "Café au lait à Zürich: naïve résumé", "Ångström, São Paulo, Crème brûlée, façade, Ærøskøbing.")
    add("greek", "Ελληνικά: τι είναι η φιλοσοφία;", "Η φιλοσοφία (ΦΙΛΟΣΟΦΊΑ) είναι η αγάπη για τη σοφία.")
    add("cjk-ja", "東京の天気は？", "東京は日本の首都です。今日は晴れ、気温は２５度です。")
    add("cjk-zh", "北京大学的历史", "北京大学创办于1898年，初名京师大学堂。")
    add("hangul", "한국어 문장 검색", "서울은 대한민국의 수도입니다.")
    add("kana-mixed", "カタカナとひらがな mixed with English", "ｶﾀｶﾅ half-width and ＡＢＣ１２３ full-width forms")
    add("emoji", "I ❤️ pizza 🍕🍕 and 👨‍👩‍👧 families", "Emoji 😀😃😄 with skin tones 👍🏽 and flags 🇫🇷🇯🇵")
    add("arabic", "ما هي عاصمة فرنسا؟", "باريس هي عاصمة فرنسا وأكبر مدنها. ١٢٣٤")
    add("hebrew", "מה השעה בתל אביב", "תל אביב היא עיר בישראל, על חוף הים התיכון.")
    add("rtl-mixed", "Paris باريس פריז", p + " \u200fباريس\u200e")
    add("combining", "e\u0301cole n\u0303 a\u0308 o\u0302", "cafe\u0301 re\u0301sume\u0301 Z\u0308urich")
    add("devanagari-thai", "हिन्दी भाषा", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ")
    add("zero-width", "zero\u200bwidth\u200cnon\u200djoiner\ufeffbom", "in\u200bvisible sep\u2060arators in text")
    add("controls", "tab\tsep\rcarriage\u0000null", "soft\u00adhyphen bell\u0007 esc\u001b del\u007f vt\u000b ff\u000c")
    add("spaces", "non\u00a0breaking\u3000ideographic\u2028line\u2029para", "em\u2003space en\u2002space thin\u2009space")
    add("math-alnum", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛", "Ligatures ﬁ ﬂ ﬀ and ß, Œuvre, Æther")
    add("turkish", "İstanbul ıĞüŞöÇ", "ISTANBUL istanbul İSTANBUL")
    add("cyrillic", "Привет, мир! Ёлка", "Москва — столица России. ЁЖИК")
    add("surrogates-astral", "𠀀𠀁 rare CJK ext B", "🀄 mahjong 𓀀 hieroglyph")
    add("crlf-multiline", "line one\r\nline two\nline three", "para one\n\n\npara two\r\n\tindented")
    # empty-ish passages and queries
    for tag, d in (("empty", ""), ("space", " "), ("newline", "\n"), ("period", "."), ("question", "?"),
                   ("tabs", "\t\t"), ("zwsp-only", "\u200b"), ("nul-only", "\u0000")):
        add(f"passage-{tag}", "what is the capital of france", d)
    add("query-empty", "", p)
    add("both-empty", "", "")
    add("query-space", " ", p)
    # over-long words (WordPiece max_input_chars_per_word = 100)
    add("word-100", "x" * 100, "y" * 100 + " fine")
    add("word-101", "a" * 101, "b" * 101 + " tail words")
    add("word-120-real", "supercalifragilistic" * 6, p)
    add("digits-150", "1" * 150, "number " + "9" * 130 + " end")
    add("url-long", "https://example.com/" + "path" * 30, "see " + "k" * 40 + "/" + "v" * 70)
    add("accented-101", "é" * 101, "résumé " + "ü" * 101)
    # misc hard cases
    add("special-literals", "[SEP] [CLS] [PAD] [MASK] [UNK]", "[sep] [cls] text [SEP]text[CLS]")
    add("html", "<p>Hello&nbsp;world</p>", "<div class=\"x\">a &amp; b</div><br/>")
    add("code", "def f(x): return x**2  # square", "for (let i = 0; i < n; i++) { sum += a[i]; }")
    add("punct", "U.S.A. e-mail don't it's 3.14 $1,000 50% #tag @user", "!!!???...,,,;;;:::---___***")
    add("caps", "WHAT IS THE TALLEST TOWER IN PARIS", p.upper())
    add("many-spaces", "a      b        c", "   leading and trailing spaces   ")
    add("identical", p, p)
    add("repeated", "tower " * 20, "tower " * 200)
    add("numbers", "1 2 3 4 5 6 7 8 9 10", "3.14159 2.71828 1e-10 0x1F 1,234,567.89")
    # every printable ASCII character, and ASCII words glued to non-ASCII ones (the tokenizer's fast path cuts there)
    add("ascii-printable", "".join(map(chr, range(32, 127))), "^caret^ `tick` ~tilde~ |pipe| {brace} \\back\\slash")
    add("ascii-unicode-glued", "café-au-lait naïve+ASCII x\u00a0y", "TELECOMMUNICATIONS\u200bnetwork, über$5 Σ^2 東京-tower")
    return s


def build_pairs(data_dir: Path) -> list[dict]:
    """Return [{"query", "passage", "source"}, ...] (about 270 pairs), fully deterministic."""
    rng = random.Random(0)
    rows: list[tuple[str, str, str]] = []
    rows += _run_pairs(data_dir / "trec-dl-2019-passage", "dl19-bm25", 10, [1, 2, 3, 5, 10, 20, 50, 100], rng)
    rows += _run_pairs(data_dir / "trec-dl-2021-passage", "dl21-bm25", 8, [1, 2, 10, 50, 100], rng)
    sci, sci_q, sci_c = _qrel_pairs(data_dir / "scifact", "scifact", 30, rng)
    cran, cran_q, cran_c = _qrel_pairs(data_dir / "cranfield", "cranfield", 15, rng)
    rows += sci + cran

    # long passages: several SciFact abstracts joined (truncated at 512; the
    # 12-abstract ones exceed 2000 tokens)
    sci_docs = sorted(sci_c)
    sci_qids = sorted(sci_q)
    for i, k in enumerate((4, 4, 4, 12, 12, 12)):
        docs = [_doc_text(sci_c[d]) for d in rng.sample(sci_docs, k)]
        q = sci_q[rng.choice(sci_qids)]["text"]
        rows.append((q, "\n\n".join(docs), f"long-passage:{k}-abstracts:{i}"))

    # long queries: an abstract used as the query, so longest_first also
    # truncates the query at small max_length
    cran_docs = sorted(cran_c)
    dl19_passages = [r[1] for r in rows if r[2].startswith("dl19")]
    for i in range(3):
        q = _doc_text(cran_c[rng.choice(cran_docs)])
        rows.append((q, dl19_passages[i * 7], f"long-query:cranfield-abstract:{i}"))
    for i in range(2):
        q = _doc_text(sci_c[rng.choice(sci_docs)])
        d = _doc_text(sci_c[rng.choice(sci_docs)])
        rows.append((q, d, f"long-query:both-long:{i}"))
    rows.append((_doc_text(sci_c[rng.choice(sci_docs)]), ".", "long-query:tiny-passage"))

    rows += _synthetic()
    return [{"query": q, "passage": d, "source": tag} for q, d, tag in rows]
