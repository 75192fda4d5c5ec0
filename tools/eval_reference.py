"""Python reference for `langchain-cross-encoder eval`: rerank the same candidates with
sentence-transformers and compute the same measures, to check that the TypeScript pipeline
loses no quality.

Candidates come from a TREC run: a dataset's own run (e.g. runs/bm25.top100.trec) or the run
the TypeScript CLI wrote with --save-run (its BM25 or dense first stage). Each query's
candidates are put in trec_eval order (score descending, id descending), the top-k that have
text are scored with `CrossEncoder.predict` (or bi-encoder cosine), sorted by score with ties
keeping first-stage order, and the rest of the run follows unchanged, as in eval/evaluate.ts.

Usage (from the repo root):
  .venv/bin/python tools/eval_reference.py --data ../shared/data/trec-dl-2019-passage \\
      --run ../shared/data/trec-dl-2019-passage/runs/bm25.top100.trec --model models/ce-minilm-l6-dl21
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import offline_env  # noqa: E402,F401  (before anything imports transformers)
import ir_data  # noqa: E402


def trec_order(run_path: Path) -> dict[str, list[str]]:
    scored: dict[str, dict[str, float]] = {}
    with open(run_path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6:
                scored.setdefault(parts[0], {})[parts[2]] = float(parts[4])
    return {q: ir_data.rank_by_score(docs) for q, docs in scored.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="BEIR-layout dataset folder")
    ap.add_argument("--run", required=True, help="TREC run with the candidates")
    ap.add_argument("--model", required=True, help="model folder")
    ap.add_argument("--reranker", choices=("cross-encoder", "bi-encoder"), default="cross-encoder")
    ap.add_argument("--top-k", type=int, default=100)
    ap.add_argument("--max-queries", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threshold", type=int, help="relevance threshold for MRR/Recall (default 2 for TREC DL, else 1)")
    ap.add_argument("--json", help="write means and per-query values here")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    data = Path(args.data)
    corpus = ir_data.load_corpus(data)
    queries = ir_data.load_queries(data)
    qrels = ir_data.load_qrels(data)
    run = trec_order(Path(args.run))
    threshold = args.threshold if args.threshold is not None else (2 if "trec-dl" in data.name else 1)

    if args.reranker == "cross-encoder":
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(args.model, device="cpu")

        def score(query: str, passages: list[str]) -> list[float]:
            out = model.predict([(query, p) for p in passages], batch_size=args.batch_size, show_progress_bar=False)
            return [float(x) for x in out]

    else:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(args.model, device="cpu")

        def score(query: str, passages: list[str]) -> list[float]:
            q = model.encode([query], normalize_embeddings=True, convert_to_numpy=True)[0]
            p = model.encode(passages, batch_size=args.batch_size, normalize_embeddings=True, convert_to_numpy=True)
            return [float(x) for x in p @ q]

    order = [q for q in queries if q in qrels and q in run]
    if args.max_queries:
        order = order[: args.max_queries]
    t0 = time.time()
    per_query = {}
    for i, qid in enumerate(order):
        ranking = run[qid]
        head = [d for d in ranking[: args.top_k] if d in corpus]
        scores = score(queries[qid], [corpus[d] for d in head]) if head else []
        idx = sorted(range(len(head)), key=lambda j: -scores[j])  # stable: ties keep first-stage order
        reranked = [head[j] for j in idx] + ranking[args.top_k :]
        per_query[qid] = {
            "ndcg": ir_data.ndcg_at(reranked, qrels[qid], 10),
            "mrr": ir_data.mrr_at(reranked, qrels[qid], threshold, 10),
            "recall": ir_data.recall_at(reranked, qrels[qid], threshold, 100),
        }
        print(f"\rreference {i + 1}/{len(order)}", end="", file=sys.stderr, flush=True)
    print("", file=sys.stderr)
    n = max(1, len(per_query))
    mean = {k: sum(v[k] for v in per_query.values()) / n for k in ("ndcg", "mrr", "recall")}
    result = {
        "data": str(data),
        "run": args.run,
        "model": args.model,
        "reranker": args.reranker,
        "topK": args.top_k,
        "queries": len(per_query),
        "mean": mean,
        "perQuery": per_query,
        "seconds": round(time.time() - t0, 1),
    }
    print(f"nDCG@10 {mean['ndcg']:.4f}  MRR@10 {mean['mrr']:.4f}  Recall@100 {mean['recall']:.4f}  ({len(per_query)} queries)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
