"""ONNX export, parity check, int8 quantization and fp16 conversion.

Used by build_models.py; not meant to be run on its own.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

OPSET = 14
PARITY_ATOL = 1e-5
PARITY_RTOL = 1e-5
ALL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class _NoTokenTypes(torch.nn.Module):
    """Wraps a BERT model so the graph only takes input_ids and attention_mask.

    token_type_ids are fixed to zeros inside the graph, like rerankers built on
    XLM-R or DeBERTa whose exported graphs have no such input.
    """

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        token_type_ids = torch.zeros_like(input_ids)
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits


class _Logits(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits


class _LastHidden(torch.nn.Module):
    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state


def _wrap(model: torch.nn.Module, kind: str, with_token_types: bool):
    if kind == "encoder":
        return _LastHidden(model), ALL_INPUTS, "last_hidden_state"
    if with_token_types:
        return _Logits(model), ALL_INPUTS, "logits"
    return _NoTokenTypes(model), ALL_INPUTS[:2], "logits"


def _sample_batches(vocab_size: int, seed: int = 1234):
    """A few batches of different shapes, with padding and both segments."""
    g = torch.Generator().manual_seed(seed)
    batches = []
    for batch, seq in ((1, 5), (3, 17), (4, 64), (2, 200)):
        ids = torch.randint(999, vocab_size, (batch, seq), generator=g)
        ids[:, 0] = 101
        mask = torch.ones_like(ids)
        types = torch.zeros_like(ids)
        for row in range(batch):
            length = seq - (row * seq) // (batch + 1)
            ids[row, length - 1] = 102
            ids[row, length:] = 0
            mask[row, length:] = 0
            types[row, length // 2 : length] = 1
        batches.append({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    return batches


def export(
    model: torch.nn.Module,
    onnx_dir: Path,
    *,
    kind: str = "cross-encoder",
    with_token_types: bool = True,
    fp16: bool = False,
    log=print,
) -> dict:
    """Export `model` to onnx_dir/model.onnx (+ quantized, + fp16) and check parity.

    kind: "cross-encoder" (output `logits`) or "encoder" (output `last_hidden_state`).
    Returns a small summary dict.
    """
    onnx_dir.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    wrapped, input_names, output_name = _wrap(model, kind, with_token_types)
    wrapped.eval()  # a fresh wrapper is in training mode (dropout on)
    example = _sample_batches(model.config.vocab_size)[1]
    args = tuple(example[name] for name in input_names)
    axes = {name: {0: "batch_size", 1: "sequence_length"} for name in input_names}
    axes[output_name] = {0: "batch_size", 1: "sequence_length"} if kind == "encoder" else {0: "batch_size"}

    fp32_path = onnx_dir / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            # The TorchScript exporter writes one self-contained file (no
            # external .data), which is the layout transformers.js expects.
            torch.onnx.export(
                wrapped,
                args,
                str(fp32_path),
                input_names=list(input_names),
                output_names=[output_name],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
    onnx.checker.check_model(str(fp32_path))

    max_diff = _check_parity(wrapped, fp32_path, input_names)
    log(f"    fp32 export ok, max |onnx - torch| = {max_diff:.2e}")

    quant_path = onnx_dir / "model_quantized.onnx"
    _quantize(fp32_path, quant_path)
    q_diff = _compare(fp32_path, quant_path, input_names)
    log(f"    int8 (QInt8 per-channel weights, dynamic) ok, max |q - fp32| = {q_diff:.2e}")

    summary = {
        "inputs": list(input_names),
        "output": output_name,
        "fp32_max_abs_diff_vs_torch": max_diff,
        "int8_max_abs_diff_vs_fp32": q_diff,
    }
    if fp16:
        fp16_path = onnx_dir / "model_fp16.onnx"
        _to_fp16(fp32_path, fp16_path)
        h_diff = _compare(fp32_path, fp16_path, input_names)
        log(f"    fp16 ok, max |fp16 - fp32| = {h_diff:.2e}")
        summary["fp16_max_abs_diff_vs_fp32"] = h_diff
    return summary


def _session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _check_parity(wrapped, path: Path, input_names) -> float:
    wrapped.eval()  # torch.onnx.export restores the caller's mode afterwards
    sess = _session(path)
    got_names = [i.name for i in sess.get_inputs()]
    if got_names != list(input_names):
        raise RuntimeError(f"{path}: inputs {got_names}, expected {list(input_names)}")
    worst = 0.0
    for batch in _sample_batches(wrapped.model.config.vocab_size):
        with torch.no_grad():
            ref = wrapped(*(batch[n] for n in input_names)).numpy()
        out = sess.run(None, {n: batch[n].numpy().astype(np.int64) for n in input_names})[0]
        if out.shape != ref.shape:
            raise RuntimeError(f"{path}: output shape {out.shape} != torch {ref.shape}")
        mask = batch["attention_mask"].numpy().astype(bool)
        if ref.ndim == 3:  # hidden states: padded positions are irrelevant
            out, ref = out[mask], ref[mask]
        if not np.allclose(out, ref, atol=PARITY_ATOL, rtol=PARITY_RTOL):
            raise RuntimeError(
                f"{path}: ONNX differs from PyTorch by {np.abs(out - ref).max():.3e} "
                f"(allowed {PARITY_ATOL})"
            )
        worst = max(worst, float(np.abs(out - ref).max()))
    return worst


def _compare(ref_path: Path, path: Path, input_names) -> float:
    a, b = _session(ref_path), _session(path)
    worst = 0.0
    for batch in _sample_batches(30522, seed=99)[:3]:
        feeds = {n: batch[n].numpy().astype(np.int64) for n in input_names}
        x, y = a.run(None, feeds)[0], b.run(None, feeds)[0]
        if not np.all(np.isfinite(y)):
            raise RuntimeError(f"{path}: non-finite outputs")
        worst = max(worst, float(np.abs(x - y).max()))
    return worst


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # silence the "consider pre-processing" hint
    try:
        # Signed weights take ONNX Runtime's u8s8 kernels, about 15 % faster than u8u8 on AVX2 without VNNI;
        # per-channel scales halve the error, and 7-bit ranges keep those kernels from saturating.
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
        )
    finally:
        root.setLevel(level)


def _to_fp16(src: Path, dst: Path) -> None:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))
