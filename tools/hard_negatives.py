"""Hard negatives mined by a model: a query's first-stage candidates (BM25 top-k) are scored by a chosen model
(the bi-encoder, a cross-encoder folder); the negatives are taken from a rank range of that ordering, and any
candidate that scores within a margin of the query's weakest positive is skipped as a likely unjudged positive.
The selection follows what sentence-transformers' `mine_hard_negatives` does (range_min, range_max, an absolute
margin, top or random sampling); the code is ours and works on the training script's query groups."""

from __future__ import annotations

import random
from dataclasses import dataclass

from teachers import Pair, PairScorer


@dataclass(frozen=True)
class MiningSettings:
    """range_min/range_max: ranks (from 0, positives left out) of the miner's ordering that may be drawn;
    margin: a negative must score at most (best positive's score - margin), in the miner's own units
    (cosine for the bi-encoder, logits for a cross-encoder); count: negatives kept per query;
    sampling: `top` keeps the best-ranked ones left, `random` draws them from what is left."""

    range_min: int = 0
    range_max: int = 30
    margin: float = 0.0
    count: int = 15
    sampling: str = "top"

    def __post_init__(self):
        if self.range_min < 0 or self.range_max <= self.range_min:
            raise SystemExit(f"mining: need 0 <= range_min < range_max, got {self.range_min}, {self.range_max}")
        if self.count < 1:
            raise SystemExit("mining: count must be at least 1")
        if self.sampling not in ("top", "random"):
            raise SystemExit(f"mining: sampling is top or random, got {self.sampling!r}")


def select(
    scored: list[tuple[str, float]], positive_scores: list[float], settings: MiningSettings, rng: random.Random
) -> list[str]:
    """Negatives from one query's scored candidates (positives excluded): best first, ranks in
    [range_min, range_max), under the margin, `count` of them."""
    ranked = sorted(scored, key=lambda kv: -kv[1])[settings.range_min : settings.range_max]
    ceiling = max(positive_scores) - settings.margin if positive_scores else float("inf")
    allowed = [p for p, s in ranked if s <= ceiling]
    if settings.sampling == "random" and len(allowed) > settings.count:
        keep = set(rng.sample(range(len(allowed)), settings.count))
        return [p for i, p in enumerate(allowed) if i in keep]
    return allowed[: settings.count]


def mine(
    queries: list[tuple[str, list[str], list[str]]],
    scorer: PairScorer,
    settings: MiningSettings,
    rng: random.Random,
) -> tuple[list[list[str]], dict]:
    """queries: (query text, positives, candidates). All pairs are scored in one call (one pass of the model).
    Returns the negatives per query and counts for the log and the model card."""
    pairs: list[Pair] = []
    for text, positives, candidates in queries:
        pos = set(positives)
        pairs += [(text, p) for p in positives]
        pairs += [(text, c) for c in candidates if c not in pos]
    scores = dict(zip(pairs, scorer(pairs)))
    out, skipped_margin, short = [], 0, 0
    for text, positives, candidates in queries:
        pos = set(positives)
        scored = [(c, scores[(text, c)]) for c in dict.fromkeys(candidates) if c not in pos]
        chosen = select(scored, [scores[(text, p)] for p in positives], settings, rng)
        in_range = sorted(scored, key=lambda kv: -kv[1])[settings.range_min : settings.range_max]
        ceiling = max((scores[(text, p)] for p in positives), default=float("inf")) - settings.margin
        skipped_margin += sum(1 for _, s in in_range if s > ceiling)
        short += len(chosen) < settings.count
        out.append(chosen)
    stats = {
        "queries": len(queries),
        "pairs_scored": len(pairs),
        "negatives": sum(len(n) for n in out),
        "skipped_by_margin": skipped_margin,
        "queries_short_of_count": short,
    }
    return out, stats
