"""Small IR helpers shared by the training and reference-evaluation scripts.

BEIR-layout readers (corpus, queries, qrels), TREC run reader, a plain BM25 used
to mine negatives, and nDCG@10 / MRR@10 / Recall@100 with trec_eval semantics
(the same definitions as eval/metrics.ts).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path


def read_jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def doc_text(doc: dict) -> str:
    """The passage a ranker reads, exactly as eval/datasets.ts `passageText` builds it:
    title, a space, text; the title is not repeated when the text already starts with it."""
    title = (doc.get("title") or "").strip()
    text = (doc.get("text") or "").strip()
    if not title or text.startswith(title):
        return text
    return f"{title} {text}" if text else title


def load_corpus(folder: Path) -> dict[str, str]:
    return {str(d["_id"]): doc_text(d) for d in read_jsonl(folder / "corpus.jsonl")}


def load_queries(folder: Path) -> dict[str, str]:
    return {str(q["_id"]): q["text"] for q in read_jsonl(folder / "queries.jsonl")}


def load_qrels(folder: Path, split: str = "test") -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as f:
        header = True
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if header:
                header = False
                if parts[0] == "query-id":
                    continue
            if len(parts) < 3:
                continue
            qrels[parts[0]][parts[1]] = int(float(parts[2]))
    return dict(qrels)


def load_run(path: Path) -> dict[str, list[str]]:
    """TREC run -> candidates per query, in rank order (rank column, then file order)."""
    rows: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            parts = line.split()
            if len(parts) < 6:
                continue
            rows[parts[0]].append((int(parts[3]), i, parts[2]))
    return {q: [d for _, _, d in sorted(r)] for q, r in rows.items()}


# ----------------------------------------------------------------------------- BM25

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
    "they this to was will with what how which who whom why when where do does did can".split()
)


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOP]


class BM25:
    """Okapi BM25 (k1=0.9, b=0.4, Lucene idf) over an in-memory corpus; for negative mining only."""

    def __init__(self, docs: dict[str, str], k1: float = 0.9, b: float = 0.4):
        self.ids = list(docs)
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths = []
        for i, doc_id in enumerate(self.ids):
            tf = Counter(tokenize(docs[doc_id]))
            self.lengths.append(sum(tf.values()))
            for term, n in tf.items():
                self.postings[term].append((i, n))
        n_docs = len(self.ids)
        self.avg = sum(self.lengths) / max(1, n_docs)
        self.idf = {t: math.log(1 + (n_docs - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def search(self, query: str, k: int) -> list[str]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(tokenize(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in self.postings[term]:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.avg)
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        best = sorted(scores.items(), key=lambda kv: (-kv[1], self.ids[kv[0]]))[:k]
        return [self.ids[i] for i, _ in best]


# ----------------------------------------------------------------------------- metrics


def rank_by_score(scored: dict[str, float]) -> list[str]:
    """trec_eval order: score descending, then document id descending."""
    return [d for d, _ in sorted(scored.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


def ndcg_at(ranking: list[str], judged: dict[str, int], k: int = 10) -> float:
    """trec_eval ndcg_cut: gain = judged score, log2(rank + 1) discount, ideal from all judgments."""
    dcg = sum(max(0, judged.get(d, 0)) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def mrr_at(ranking: list[str], judged: dict[str, int], threshold: int, k: int = 10) -> float:
    for i, d in enumerate(ranking[:k]):
        if judged.get(d, 0) >= threshold:
            return 1.0 / (i + 1)
    return 0.0


def recall_at(ranking: list[str], judged: dict[str, int], threshold: int, k: int = 100) -> float:
    relevant = {d for d, g in judged.items() if g >= threshold}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)
