"""Recipe `mined` (--recipe mined): the `ict` recipe's batched steps and data, started from a trained cross-encoder,
with negatives mined by a model, a fused distillation target and position-robust inputs. This module holds its
defaults, the smoke settings and the steps that come between loading the data and training."""

from __future__ import annotations

import random
from pathlib import Path

import hard_negatives
import teachers
from position_aug import PositionAugmenter
from training_sets import CRANFIELD

SHIPPED = "models/ce-minilm-l6-ict"

# What `--recipe mined` changes from the `ict` recipe's defaults. The fused teacher is the best mix measured on DL19
# (reciprocal-rank fusion of BM25, the bi-encoder and the shipped reranker: 0.648 against the bi-encoder's 0.642);
# starting from the shipped reranker, fewer steps at a lower rate refine what it already knows.
MINED_DEFAULTS = {
    "steps": 2000,
    "lr": 3e-5,
    "init": SHIPPED,
    "teacher": f"bi-encoder+bm25+{SHIPPED}",
    "miner": SHIPPED,
    "mine_depth": 50,
    "mine_range_min": 0,
    "mine_range_max": 30,
    "mine_margin": 1.0,
    "mine_sampling": "top",
    "position_rate": 0.5,
}

# --smoke: every stage of the recipe on a slice of the data, a few steps, the model saved; about a minute on a CPU.
SMOKE = {
    "steps": 2,
    "groups": 2,
    "group_size": 6,
    "pseudo_queries": 6,
    "pseudo_queries_cranfield": 6,
    "dev_queries": 2,
    "dev_depth": 8,
    "eval_every": 0,
    "mine_depth": 15,
    "log_every": 1,
    "budget_min": 0.0,
    "no_report": True,
    "judged_queries": 2,
    "judged_passages": 12,
}


def cap_passages(queries, count: int, rng: random.Random) -> None:
    """Smoke only: at most `count` passages per judged query, the best one and another label kept."""
    for q in queries:
        if len(q.passages) <= count:
            continue
        items = list(q.passages.items())
        best = max(items, key=lambda kv: kv[1])
        lower = next(kv for kv in items if kv[1] != best[1])
        rest = [kv for kv in items if kv is not best and kv is not lower]
        q.passages = dict([best, lower] + rng.sample(rest, count - 2))


def mine_queries(queries, args, device: str, bi_encoder_dir: Path, log) -> dict:
    """Replaces the label-0 candidates of each query (BM25 neighbours, Cranfield's unjudged hits) by negatives the
    miner ranks high, under the margin; positives (label > 0) stay, the source passage of a pseudo-query first."""
    if not queries:
        return {}
    settings = hard_negatives.MiningSettings(
        args.mine_range_min, args.mine_range_max, args.mine_margin, args.group_size - 1, args.mine_sampling
    )
    items = []
    for q in queries:
        positives = [p for p, v in q.passages.items() if v > 0]
        items.append((q.text, positives, [p for p, v in q.passages.items() if v <= 0]))

    def score(pairs):
        return teachers.cached_scores(args.miner, pairs, device, bi_encoder_dir, cache_dir(args), log)

    mined, stats = hard_negatives.mine(items, score, settings, random.Random(args.seed + 11))
    for q, (_, positives, _), negatives in zip(queries, items, mined):
        q.passages = {**{p: q.passages[p] for p in positives}, **{n: 0.0 for n in negatives}}
    log(f"mined negatives with {args.miner}: {stats}")
    return stats


def cache_dir(args) -> Path | None:
    return None if args.teacher_cache == "" else Path(args.teacher_cache).resolve()


def teacher_table(queries, args, device: str, bi_encoder_dir: Path, log) -> dict:
    """Listwise targets (softmax logits) for every (query, passage) of the taught queries."""
    pools: dict[str, list[str]] = {}
    for q in queries:
        pool = pools.setdefault(q.text, [])
        pool += [p for p in q.passages if p not in pool]
    return teachers.target_logits(
        pools,
        args.teacher,
        device=device,
        bi_encoder_dir=bi_encoder_dir,
        cosine_temp=args.teacher_temp,
        fusion_temp=args.fusion_temp,
        cache_dir=cache_dir(args),
        log=log,
    )


def augmenters(tokenizer, args, corpora: dict[str, list[str]], seed: int) -> dict[str, PositionAugmenter]:
    """One augmenter per query source, drawing filler from that source's own corpus."""
    if args.position_rate <= 0:
        return {}
    rng = random.Random(seed + 13)
    by_corpus = {name: PositionAugmenter(tokenizer, texts, args.max_length, args.position_rate, rng) for name, texts in corpora.items()}
    return {
        "dl21": by_corpus["dl21"],
        "ict-dl21": by_corpus["dl21"],
        CRANFIELD: by_corpus[CRANFIELD],
        "ict-cranfield": by_corpus[CRANFIELD],
    }
