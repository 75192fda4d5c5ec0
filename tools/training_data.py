"""Training data of tools/train_cross_encoder.py: judged DL21 and Cranfield groups, keyword and inverse-cloze
pseudo-queries, your own pairs. Every data set folder is opened through tools/training_sets.py, which refuses the
evaluation sets (TREC DL 2019, SciFact)."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import ir_data
from training_sets import CRANFIELD, DL21, training_folder


class Query:
    """One training query: its text and its labelled passages (passage text -> label)."""

    def __init__(self, source: str, qid: str, text: str):
        self.source, self.qid, self.text = source, qid, text
        self.passages: dict[str, float] = {}
        # Pseudo-queries have no judgments: only the teacher's scores train on them.
        self.teacher_only = False

    def usable(self) -> bool:
        return len(set(self.passages.values())) >= 2


def load_dl21(data: Path, dev_count: int, seed: int):
    folder = training_folder(data, DL21)
    corpus = ir_data.load_corpus(folder)
    queries = ir_data.load_queries(folder)
    qrels = ir_data.load_qrels(folder)
    runs = {name: ir_data.load_run(folder / "runs" / f"{name}.top100.trec") for name in ("bm25", "bm25-rm3")}
    qids = sorted(q for q in queries if q in qrels)
    rng = random.Random(seed)
    dev = set(rng.sample(qids, dev_count)) if dev_count > 0 else set()
    train, dev_set = [], []
    dev_docs: set[str] = set()
    for qid in qids:
        candidates = []
        for run in runs.values():
            candidates += [d for d in run.get(qid, []) if d not in candidates]
        if qid in dev:
            dev_set.append((qid, queries[qid], runs["bm25"].get(qid, []), qrels[qid]))
            dev_docs.update(candidates)
            dev_docs.update(qrels[qid])
            continue
        q = Query("dl21", qid, queries[qid])
        # Judged candidates only: DL21 is judged deeply, and an unjudged passage is not
        # necessarily irrelevant.
        for doc_id in candidates:
            if doc_id in qrels[qid] and doc_id in corpus:
                q.passages[corpus[doc_id]] = float(qrels[qid][doc_id])
        if q.usable():
            train.append(q)
    return train, dev_set, corpus, dev_docs


def load_cranfield(data: Path, negatives: int):
    folder = training_folder(data, CRANFIELD)
    corpus = ir_data.load_corpus(folder)
    queries = ir_data.load_queries(folder)
    qrels = ir_data.load_qrels(folder)
    bm25 = ir_data.BM25({d: t for d, t in corpus.items() if t.strip()})
    out = []
    for qid in sorted(queries, key=lambda x: int(x) if x.isdigit() else x):
        if qid not in qrels:
            continue
        q = Query("cranfield", qid, queries[qid])
        for doc_id, label in qrels[qid].items():
            if corpus.get(doc_id, "").strip():
                q.passages[corpus[doc_id]] = float(max(0, label))
        # Cranfield's judgments are close to exhaustive, so unjudged BM25 hits are taken as
        # non-relevant hard negatives.
        for doc_id in bm25.search(queries[qid], negatives + len(qrels[qid])):
            if doc_id not in qrels[qid] and len(q.passages) < len(qrels[qid]) + negatives:
                q.passages.setdefault(corpus[doc_id], 0.0)
        if q.usable():
            out.append(q)
    return out


def keyword_query(text: str, idf: dict[str, float], rng: random.Random) -> str:
    """3-6 distinct content words of a passage, drawn with weight idf and kept in passage order."""
    words = [w for w in ir_data.tokenize(text) if len(w) > 2 and not w.isdigit()]
    unique = list(dict.fromkeys(words))
    if len(unique) < 3:
        return ""
    k = min(len(unique), rng.randint(3, 6))
    weights = [idf.get(w, 0.0) + 1e-6 for w in unique]
    picked: set[str] = set()
    while len(picked) < k:
        picked.add(rng.choices(unique, weights=weights)[0])
    return " ".join(w for w in unique if w in picked)


def load_pseudo(corpus: dict[str, str], exclude: set[str], count: int, depth: int, seed: int) -> list[Query]:
    """Keyword pseudo-queries drawn from DL21 passages, each with its BM25 top-`depth` over the
    DL21 corpus as candidates. They widen the set of queries the cross-encoder sees beyond the 45
    judged ones; the bi-encoder teacher labels them. Passages of the dev queries are left out."""
    docs = {d: t for d, t in corpus.items() if t.strip()}
    bm25 = ir_data.BM25(docs)
    rng = random.Random(seed + 1)
    sources = sorted(d for d in docs if d not in exclude)
    rng.shuffle(sources)
    out = []
    for doc_id in sources:
        if len(out) >= count:
            break
        text = keyword_query(docs[doc_id], bm25.idf, rng)
        if not text:
            continue
        q = Query("pseudo", f"p{doc_id}", text)
        q.teacher_only = True
        q.passages[docs[doc_id]] = 1.0
        for hit in bm25.search(text, depth + 1):
            if hit != doc_id and len(q.passages) < depth:
                q.passages.setdefault(docs[hit], 0.0)
        if q.usable():
            out.append(q)
    return out


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def load_ict(
    docs: dict[str, str], exclude: set[str], count: int, depth: int, rng: random.Random, source: str
) -> list[Query]:
    """Inverse-cloze pseudo-queries: one sentence (5-30 words) of a passage is the query; the passage with that
    sentence cut out (left in one time in ten, so the model also sees exact matches) is its positive, and the
    passage's BM25 neighbours in the same corpus are the other candidates. Only the teacher labels them beyond the
    known positive, which comes first in the group."""
    docs = {d: t for d, t in docs.items() if t.strip()}
    bm25 = ir_data.BM25(docs)
    ids = sorted(d for d in docs if d not in exclude)
    rng.shuffle(ids)
    out: list[Query] = []
    for doc_id in ids:
        if len(out) >= count:
            break
        sentences = [x for x in SENTENCE_END.split(docs[doc_id]) if 5 <= len(x.split()) <= 30]
        if not sentences:
            continue
        sentence = rng.choice(sentences)
        positive = docs[doc_id] if rng.random() < 0.1 else docs[doc_id].replace(sentence, " ").strip()
        if len(positive.split()) < 8:
            continue
        neighbours = [h for h in bm25.search(sentence, depth + 2) if h != doc_id][:depth]
        if len(neighbours) < 7:
            continue
        q = Query(source, f"ict-{doc_id}", sentence)
        q.teacher_only = True
        q.passages[positive] = 1.0
        for hit in neighbours:
            q.passages.setdefault(docs[hit], 0.0)
        if q.usable():
            out.append(q)
    return out


def load_pairs(path: Path) -> list[Query]:
    """Own data: TSV (query, passage, label; optional header) or JSONL {query, passage, label}."""
    by_query: dict[str, Query] = {}

    def add(query: str, passage: str, label) -> None:
        q = by_query.setdefault(query, Query(path.name, str(len(by_query)), query))
        q.passages[passage] = float(label)

    if path.suffix in (".jsonl", ".json"):
        for row in ir_data.read_jsonl(path):
            add(row["query"], row["passage"], row["label"])
    else:
        with open(path, encoding="utf-8", newline="") as f:
            for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)):
                if len(row) < 3:
                    continue
                if i == 0:
                    try:
                        float(row[2])
                    except ValueError:
                        continue  # header
                add(row[0], row[1], row[2])
    queries = [q for q in by_query.values() if q.usable()]
    if not queries:
        raise SystemExit(f"{path}: no query has passages with two different labels")
    return queries
