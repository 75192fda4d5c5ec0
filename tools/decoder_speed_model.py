"""Random weights in the exact shape of Qwen3-Reranker-0.6B, exported to ONNX, for speed measurements only.

The weights do not matter for speed; the shape does (Qwen3-Reranker-0.6B's config.json: 28 layers, hidden 1024,
16 query and 8 key-value heads of 128, MLP 3072, a 151,669-word vocabulary tied to the embeddings). The tokenizer and
chat template are models/fam-qwen3's, so prompts are longer in tokens than with Qwen's own 151k vocabulary; compare
tokens per second rather than pairs per second with other measurements. The Hugging Face weights (model.safetensors)
are saved beside the ONNX files so that tools/gguf_export.py converts the same weights to GGUF. Never built by
`npm run models` or by tests: about 5 GB written and a few minutes of export.

Usage: .venv/bin/python tools/decoder_speed_model.py [--out models-big/qwen3-0.6b-shape]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

import offline_env  # noqa: E402,F401

SHAPE = dict(
    hidden_size=1024,
    num_hidden_layers=28,
    num_attention_heads=16,
    num_key_value_heads=8,
    head_dim=128,
    intermediate_size=3072,
    vocab_size=151669,
    max_position_embeddings=40960,
    rope_theta=1_000_000.0,
    tie_word_embeddings=True,
    rms_norm_eps=1e-6,
)
COPIED = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "sentence_bert_config.json", "modules.json")


def main(argv=None) -> int:
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="models-big/qwen3-0.6b-shape")
    ap.add_argument("--source", default="models/fam-qwen3", help="the tiny model whose tokenizer and template to use")
    ap.add_argument("--skip-int8", action="store_true", help="leave out onnx/model_quantized.onnx")
    ap.add_argument("--int8-only", action="store_true", help="only add onnx/model_quantized.onnx to a built folder")
    args = ap.parse_args(argv)
    if args.int8_only:
        quantize(Path(args.out))
        return 0
    out, source = Path(args.out), Path(args.source)
    shutil.rmtree(out, ignore_errors=True)
    (out / "onnx").mkdir(parents=True)
    for name in COPIED:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    # Qwen3-Reranker's own tokenizer limit, not the tiny model's.
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config["model_max_length"] = SHAPE["max_position_embeddings"]
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
    # The answer tokens of the tiny model's vocabulary, which the big one covers.
    shutil.copytree(source / "1_LogitScore", out / "1_LogitScore")
    torch.manual_seed(0)
    config = Qwen3Config(**SHAPE, pad_token_id=0, architectures=["Qwen3ForCausalLM"])
    t = time.time()
    model = Qwen3ForCausalLM(config).eval()
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M ({time.time() - t:.0f} s)", flush=True)
    # The same weights for llama.cpp's converter, which reads safetensors and config.json.
    model.save_pretrained(str(out), safe_serialization=True)

    # The hub's Transformers.js layout (positions and a past per layer in, full-vocabulary logits and presents out):
    # the naive graph the engine cuts at load time, and the one prefix sharing feeds a past to.
    from transformers import DynamicCache

    layers, kv_heads, head_dim = SHAPE["num_hidden_layers"], SHAPE["num_key_value_heads"], SHAPE["head_dim"]

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, position_ids, *past):
            cache = DynamicCache(config=model.config)
            for layer in range(layers):
                cache.update(past[2 * layer], past[2 * layer + 1], layer)
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=cache,
                use_cache=True,
            )
            presents = []
            for layer in range(layers):
                presents += [out.past_key_values.layers[layer].keys, out.past_key_values.layers[layer].values]
            return (out.logits, *presents)

    ids = torch.randint(10, 1000, (2, 12))
    mask = torch.ones(2, 13, dtype=torch.long)
    mask[0, 1:4] = 0
    positions = torch.arange(1, 13).unsqueeze(0).repeat(2, 1)
    past_names = [f"past_key_values.{n}.{kind}" for n in range(layers) for kind in ("key", "value")]
    present_names = [f"present.{n}.{kind}" for n in range(layers) for kind in ("key", "value")]
    past = tuple(torch.zeros(2, kv_heads, 1, head_dim) for _ in past_names)
    axes = {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {0: "batch_size", 1: "sequence_length"},
        "logits": {0: "batch_size", 1: "sequence_length"},
    }
    axes.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in past_names})
    axes.update({n: {0: "batch_size", 2: "total_sequence_length"} for n in present_names})
    t = time.time()
    with torch.no_grad():
        torch.onnx.export(
            Graph().eval(),
            (ids, mask, positions, *past),
            str(out / "onnx" / "model.onnx"),
            input_names=["input_ids", "attention_mask", "position_ids", *past_names],
            output_names=["logits", *present_names],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=False,
            dynamo=False,
        )
    print(f"exported in {time.time() - t:.0f} s", flush=True)
    if not args.skip_int8:
        quantize(out)
    return 0


def quantize(out: Path) -> None:
    """Dynamic int8 as the project's other int8 files are made: signed per-channel weights, 7-bit ranges."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    t = time.time()
    quantize_dynamic(
        str(out / "onnx" / "model.onnx"),
        str(out / "onnx" / "model_quantized.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        use_external_data_format=True,
    )
    print(f"quantized in {time.time() - t:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
