"""Golden reference files written by Python, read by the TypeScript parity tests."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

MAX_LENGTHS = (8, 16, 32, 128, 512)
SCHEMA_VERSION = 1
BI_ENCODER_TEXTS = [
    "what is the capital of france",
    "Paris is the capital and most populous city of France.",
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris.",
    "How do I bake sourdough bread at home?",
    "Sourdough relies on a fermented starter of flour and water instead of commercial yeast.",
    "Café au lait à Zürich: naïve résumé",
    "東京は日本の首都です。",
    "ما هي عاصمة فرنسا؟",
    "I ❤️ pizza 🍕 and 👨‍👩‍👧 families",
    "zero\u200bwidth\u200cjoin\u200dx soft\u00adhyphen tab\tend",
    "",
    " ",
    ".",
    "a" * 101 + " over-long word",
    "[SEP] [CLS] literal special tokens",
    "WHAT IS THE TALLEST TOWER IN PARIS",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The 2019 TREC Deep Learning track used MS MARCO passages.",
]


def versions() -> dict:
    import sentence_transformers
    import tokenizers
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
    }


def tokenize_texts(model_dir: Path, texts: list[str]) -> list[list[int]]:
    """Rust `tokenizers` ids of single texts, no special tokens and no truncation."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]


def tokenize_pairs(model_dir: Path, pairs: list[list[str]]) -> dict:
    """Rust `tokenizers` encodings, cross-checked against transformers' AutoTokenizer."""
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()  # the shipped tokenizer.json pads to a fixed 128
    hf = AutoTokenizer.from_pretrained(str(model_dir))

    by_len = {}
    for max_length in MAX_LENGTHS:
        tok.enable_truncation(max_length, strategy="longest_first")
        encs = tok.encode_batch([(q, p) for q, p in pairs])
        ids = [e.ids for e in encs]
        types = [e.type_ids for e in encs]
        ref = hf([q for q, _ in pairs], [p for _, p in pairs], truncation=True, max_length=max_length)
        for i in range(len(pairs)):
            if ids[i] != list(ref["input_ids"][i]) or types[i] != list(ref["token_type_ids"][i]):
                raise RuntimeError(f"tokenizers and transformers disagree on pair {i} at max_length {max_length}")
        by_len[str(max_length)] = {"input_ids": ids, "token_type_ids": types}

    tok.enable_truncation(32, strategy="only_second")
    only_second = {"input_ids": [], "token_type_ids": []}
    for q, p in pairs:
        try:
            e = tok.encode(q, p)
            only_second["input_ids"].append(e.ids)
            only_second["token_type_ids"].append(e.type_ids)
        except Exception:  # query alone does not fit: the Rust tokenizer refuses
            only_second["input_ids"].append(None)
            only_second["token_type_ids"].append(None)

    untruncated = tok
    untruncated.no_truncation()
    full_lengths = [len(e.ids) for e in untruncated.encode_batch([(q, p) for q, p in pairs])]
    return {"by_max_length": by_len, "only_second_32": only_second, "untruncated_lengths": full_lengths}


def _onnx_logits(model_dir: Path, enc: dict, input_names: list[str]) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(model_dir / "onnx" / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    rows = []
    order = np.argsort([len(x) for x in enc["input_ids"]], kind="stable")
    ids_all = [enc["input_ids"][i] for i in order]
    types_all = [enc["token_type_ids"][i] for i in order]
    for start in range(0, len(ids_all), 32):
        ids, types = ids_all[start : start + 32], types_all[start : start + 32]
        width = max(len(x) for x in ids)
        feeds = {
            "input_ids": np.array([x + [0] * (width - len(x)) for x in ids], dtype=np.int64),
            "attention_mask": np.array([[1] * len(x) + [0] * (width - len(x)) for x in ids], dtype=np.int64),
            "token_type_ids": np.array([x + [0] * (width - len(x)) for x in types], dtype=np.int64),
        }
        rows.append(sess.run(None, {k: feeds[k] for k in input_names})[0])
    return np.concatenate(rows)[np.argsort(order, kind="stable")]


def _as_list(arr: np.ndarray, num_labels: int) -> list:
    arr = np.asarray(arr, dtype=np.float32)
    if num_labels == 1:
        arr = arr.reshape(-1)
    return arr.tolist()


def cross_encoder_golden(
    name: str, model_dir: Path, pairs: list[dict], tokenization: dict, input_names: list[str], log=print
) -> dict:
    from sentence_transformers import CrossEncoder
    from sentence_transformers.util import fullname

    texts = [[p["query"], p["passage"]] for p in pairs]
    # Predict in length order (less padding, much faster on CPU), then restore order.
    order = np.argsort(tokenization["untruncated_lengths"], kind="stable")
    inverse = np.argsort(order, kind="stable")
    sorted_texts = [texts[i] for i in order]

    def predict(ce, **kw):
        out = ce.predict(sorted_texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True, **kw)
        return np.asarray(out)[inverse]

    ce = CrossEncoder(str(model_dir), max_length=512, device="cpu")
    num_labels = ce.num_labels
    logits = predict(ce, activation_fn=torch.nn.Identity())
    scores = predict(ce)  # the model's own default activation
    ce128 = CrossEncoder(str(model_dir), max_length=128, device="cpu")
    logits_128 = predict(ce128, activation_fn=torch.nn.Identity())

    # The ONNX graph, fed the Rust tokenizer's ids, must agree with sentence-transformers.
    onnx_512 = _onnx_logits(model_dir, tokenization["by_max_length"]["512"], input_names)
    onnx_128 = _onnx_logits(model_dir, tokenization["by_max_length"]["128"], input_names)
    ref = np.asarray(logits, dtype=np.float32).reshape(onnx_512.shape)
    ref128 = np.asarray(logits_128, dtype=np.float32).reshape(onnx_128.shape)
    diff = float(max(np.abs(onnx_512 - ref).max(), np.abs(onnx_128 - ref128).max()))
    if diff > 1e-4:
        raise RuntimeError(f"{name}: ONNX logits on golden pairs differ from sentence-transformers by {diff:.2e}")
    flat = ref[:, 0] if num_labels == 1 else ref[:, 1] - ref[:, 0]
    distinct = {}
    for i, ids in enumerate(tokenization["by_max_length"]["512"]["input_ids"]):
        distinct.setdefault(tuple(ids), i)  # identical token ids give identical scores
    gaps = np.diff(np.sort(flat[sorted(distinct.values())]))
    log(
        f"    {name}: logits range [{flat.min():.3f}, {flat.max():.3f}], std {flat.std():.3f}, "
        f"min gap between distinct pairs {gaps.min():.2e}, onnx vs st max diff {diff:.2e}"
    )

    return {
        "schema_version": SCHEMA_VERSION,
        "model": name,
        "kind": "cross-encoder",
        "num_labels": num_labels,
        "onnx_inputs": input_names,
        "default_activation_fn": fullname(ce.activation_fn),
        "max_length": 512,
        "versions": versions(),
        "onnx_fp32_max_abs_diff": diff,
        "pairs": texts,
        "sources": [p["source"] for p in pairs],
        "tokenization": tokenization,
        "logits": _as_list(logits, num_labels),
        "scores": _as_list(scores, num_labels),
        "logits_128": _as_list(logits_128, num_labels),
    }


def bi_encoder_golden(name: str, model_dir: Path, log=print) -> dict:
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    texts = list(BI_ENCODER_TEXTS)
    long_text = " ".join(f"sentence number {i} talks about towers, bread and physics." for i in range(40))
    texts.append(long_text)  # > 256 tokens: exercises max_seq_length truncation
    emb = st.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)

    # tokenization the way sentence-transformers does it (max_seq_length from sentence_bert_config.json)
    tokenizer = st.tokenizer
    enc = tokenizer(texts, truncation=True, max_length=st.max_seq_length)
    ids = [list(x) for x in enc["input_ids"]]

    # check: ONNX last_hidden_state + mean pooling + L2 norm reproduces the embeddings
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(model_dir / "onnx" / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    width = max(len(x) for x in ids)
    input_ids = np.array([x + [0] * (width - len(x)) for x in ids], dtype=np.int64)
    mask = np.array([[1] * len(x) + [0] * (width - len(x)) for x in ids], dtype=np.int64)
    hidden = sess.run(None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)})[0]
    pooled = (hidden * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
    pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    diff = float(np.abs(pooled - emb).max())
    if diff > 1e-5:
        raise RuntimeError(f"{name}: ONNX mean-pooled embeddings differ from sentence-transformers by {diff:.2e}")
    log(f"    {name}: {len(texts)} embeddings, onnx vs st max diff {diff:.2e}")

    return {
        "schema_version": SCHEMA_VERSION,
        "model": name,
        "kind": "bi-encoder",
        "pooling": "mean",
        "normalize": True,
        "max_seq_length": st.max_seq_length,
        "dimension": int(emb.shape[1]),
        "versions": versions(),
        "onnx_fp32_max_abs_diff": diff,
        "texts": texts,
        "input_ids": ids,
        "embeddings": np.asarray(emb, dtype=np.float32).tolist(),
    }


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
