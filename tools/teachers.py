"""Scores of (query, passage) pairs from the bi-encoder, a cross-encoder folder or BM25, and the listwise
distillation targets built from them: one teacher, or a z-score fusion of several. Scores are cached on disk, keyed
by the scorer and the exact pairs, so a rerun (or the next recipe on the same data) does not score twice.

A teacher spec is one name or several joined by `+`, each with an optional `@weight`:
  bi-encoder                                  cosine of all-MiniLM-L6-v2 embeddings (the `ict` recipe's teacher)
  models/ce-minilm-l6-ict                     raw logits of a cross-encoder folder
  bi-encoder+bm25@0.5+models/ce-minilm-l6-ict fusion: per query, each teacher's scores become z-scores over that
                                              query's passages, and the weighted mean is the target
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Callable

import ir_data
from training_sets import check_not_evaluation

Pair = tuple[str, str]
PairScorer = Callable[[list[Pair]], list[float]]


def parse_spec(spec: str) -> list[tuple[str, float]]:
    """`a+b@0.5` -> [("a", 1.0), ("b", 0.5)]; a name is `bi-encoder`, `bm25` or a cross-encoder folder."""
    out = []
    for part in spec.split("+"):
        name, _, weight = part.strip().partition("@")
        if not name:
            raise SystemExit(f"teacher spec {spec!r}: an empty name")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise SystemExit(f"teacher spec {spec!r}: weight {weight!r} of {name} is not a number") from None
        if not math.isfinite(w) or w <= 0:
            raise SystemExit(f"teacher spec {spec!r}: weight of {name} must be a positive number")
        if name not in ("bi-encoder", "bm25"):
            folder = check_not_evaluation(name, "a teacher or miner")
            if not (folder / "config.json").is_file():
                raise SystemExit(
                    f"teacher spec {spec!r}: {name} is neither bi-encoder, bm25 nor a model folder with config.json"
                )
        out.append((name, w))
    return out


# ----------------------------------------------------------------------------- scorers


def bi_encoder_scorer(model_dir: Path, device: str = "cpu", batch_size: int = 64) -> PairScorer:
    """Cosine of normalised sentence-transformers embeddings; each distinct text is embedded once per call."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device=device)

    def score(pairs: list[Pair]) -> list[float]:
        texts = sorted({t for pair in pairs for t in pair})
        emb = st.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
        index = {t: i for i, t in enumerate(texts)}
        return [float(emb[index[q]] @ emb[index[p]]) for q, p in pairs]

    return score


def cross_encoder_scorer(model_dir: Path, device: str = "cpu", max_length: int = 256, batch_size: int = 0) -> PairScorer:
    """Raw logits of a 1-logit cross-encoder folder (transformers layout), pairs sorted by length to cut padding;
    bf16 on a GPU, 512 pairs a batch there (64 on a CPU) unless `batch_size` says otherwise."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    batch_size = batch_size or (512 if device == "cuda" else 64)

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_dir)).to(device).eval()
    if model.config.num_labels != 1:
        raise SystemExit(f"{model_dir}: a teacher or miner must have one logit, this one has {model.config.num_labels}")

    def score(pairs: list[Pair]) -> list[float]:
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = [0.0] * len(pairs)
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = tokenizer(
                    [pairs[i][0] for i in idx],
                    [pairs[i][1] for i in idx],
                    truncation="longest_first",
                    max_length=max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                for i, v in zip(idx, model(**enc).logits.float().view(-1).tolist()):
                    out[i] = v
        return out

    return score


def bm25_scorer(pairs_hint: list[Pair]) -> PairScorer:
    """BM25 (k1 0.9, b 0.4) of each pair, with document statistics over every distinct passage of `pairs_hint`."""
    from collections import Counter

    passages = sorted({p for _, p in pairs_hint})
    index = ir_data.BM25({str(i): p for i, p in enumerate(passages)})
    position = {p: i for i, p in enumerate(passages)}
    tfs: dict[int, Counter] = {}

    def score(pairs: list[Pair]) -> list[float]:
        out = []
        for q, p in pairs:
            i = position.get(p)
            if i is None:
                raise ValueError("bm25 teacher: a passage outside the pool it was built on")
            tf = tfs.setdefault(i, Counter(ir_data.tokenize(p)))
            norm = index.k1 * (1 - index.b + index.b * index.lengths[i] / index.avg)
            out.append(
                sum(
                    index.idf[t] * tf[t] * (index.k1 + 1) / (tf[t] + norm)
                    for t in set(ir_data.tokenize(q))
                    if tf[t] and t in index.idf
                )
            )
        return out

    return score


def make_scorer(name: str, pairs_hint: list[Pair], device: str, bi_encoder_dir: Path, max_length: int = 256) -> PairScorer:
    if name == "bi-encoder":
        return bi_encoder_scorer(bi_encoder_dir, device)
    if name == "bm25":
        return bm25_scorer(pairs_hint)
    return cross_encoder_scorer(check_not_evaluation(name, "a teacher or miner"), device, max_length)


def _identity(name: str, bi_encoder_dir: Path) -> str:
    """What a cache entry depends on besides the pairs: the scorer and the bytes of its weights (size + mtime)."""
    if name == "bm25":
        return "bm25"
    folder = bi_encoder_dir if name == "bi-encoder" else Path(name).resolve()
    files = sorted(f for f in folder.glob("*.safetensors"))
    return name + ";" + ";".join(f"{f.name}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in files)


def cached_scores(
    name: str, pairs: list[Pair], device: str, bi_encoder_dir: Path, cache_dir: Path | None, log=print, max_length: int = 256
) -> list[float]:
    """Scores of `pairs` by one scorer, from the cache when the same scorer scored the same pairs before."""
    h = hashlib.sha256(_identity(name, bi_encoder_dir).encode())
    h.update(str(max_length).encode())
    for q, p in pairs:
        h.update(q.encode() + b"\x00" + p.encode() + b"\x01")
    key = h.hexdigest()[:20]
    path = cache_dir / f"{Path(name).name}-{key}.json" if cache_dir else None
    if path and path.is_file():
        values = json.loads(path.read_text())
        if len(values) == len(pairs):
            log(f"teacher {name}: {len(pairs)} scores from {path}")
            return values
    log(f"teacher {name}: scoring {len(pairs)} pairs")
    values = make_scorer(name, pairs, device, bi_encoder_dir, max_length)(pairs)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(values))
        tmp.replace(path)
    return values


# ----------------------------------------------------------------------------- targets


def zscores(values: list[float]) -> list[float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    std = math.sqrt(var)
    return [0.0 if std < 1e-12 else (v - mean) / std for v in values]


def fuse(pools: dict[str, list[str]], tables: list[tuple[dict[Pair, float], float]]) -> dict[Pair, float]:
    """Weighted mean of per-query z-scores: each teacher's scores are standardised over the query's passages first,
    so teachers on different scales (cosine, logits, BM25) count by their weights only."""
    total = sum(w for _, w in tables)
    out: dict[Pair, float] = {}
    for q, passages in pools.items():
        fused = [0.0] * len(passages)
        for table, w in tables:
            for i, z in enumerate(zscores([table[(q, p)] for p in passages])):
                fused[i] += w * z / total
        out.update({(q, p): v for p, v in zip(passages, fused)})
    return out


def target_logits(
    pools: dict[str, list[str]],
    spec: str,
    *,
    device: str,
    bi_encoder_dir: Path,
    cosine_temp: float,
    fusion_temp: float,
    cache_dir: Path | None,
    log=print,
    raw: dict[str, dict[Pair, float]] | None = None,
) -> dict[Pair, float]:
    """(query, passage) -> the logit the listwise target softmaxes over a group. The bi-encoder alone keeps the
    `ict` recipe's form (cosine / cosine_temp); a cross-encoder alone or a fusion gives z-scores / fusion_temp (the
    cosines spread with a standard deviation of about 0.1 within a DL21 group, so 0.05 on them is about 0.5 on z).
    `raw`, when given, receives each teacher's own scores (for reports and tests)."""
    pairs = [(q, p) for q, ps in pools.items() for p in ps]
    parts = parse_spec(spec)
    tables = []
    for name, w in parts:
        values = cached_scores(name, pairs, device, bi_encoder_dir, cache_dir, log)
        table = dict(zip(pairs, values))
        if raw is not None:
            raw[name] = table
        tables.append((table, w))
    if len(parts) == 1 and parts[0][0] == "bi-encoder":
        return {k: v / cosine_temp for k, v in tables[0][0].items()}
    return {k: v / fusion_temp for k, v in fuse(pools, tables).items()}
