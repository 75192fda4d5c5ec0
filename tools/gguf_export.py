"""A Qwen3-Reranker-style Hugging Face folder to GGUF with llama.cpp's own converter, for node-llama-cpp's ranking context.

The converter (convert_hf_to_gguf.py, from the llama-cpp-python source distribution that tools/gguf-venv.sh unpacks
into venv-gguf) treats a Qwen3ForCausalLM as a reranker when the folder's README.md has a "# Qwen3-Reranker" heading,
as the official model card does. It then keeps only the "yes" and "no" rows of the output head as a two-label
classifier, sets pooling RANK, and writes a fixed "rerank" chat template with the default instruction. The model
folder is never changed: the converter reads a staging folder of links to its files plus that README.md.

Usage: ~/.cache/langchain-cross-encoder-ci/venv-gguf/bin/python tools/gguf_export.py MODEL_DIR
         [--outtype f16 q8_0] [--out-dir models-big/gguf/<name>]
Writes <out-dir>/model-f16.gguf and <out-dir>/model-q8_0.gguf.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

# Qwen2's pre-tokenizer regex, which llama.cpp implements under the name "qwen2".
QWEN2_PRETOKENIZER = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
OUTTYPES = ("f16", "q8_0", "f32", "bf16")


def find_converter() -> Path:
    found = sorted(Path(sys.prefix).glob("llama.cpp-*/convert_hf_to_gguf.py"))
    if not found:
        raise SystemExit(
            f"no llama.cpp converter under {sys.prefix}: run `bash tools/gguf-venv.sh` and this script with its python"
        )
    return found[-1].parent


def pretokenizer_regexes(tokenizer_json: Path) -> list[str]:
    """Every Split pattern of the tokenizer's pre-tokenizer (a Sequence or a single Split)."""
    pre = json.loads(tokenizer_json.read_text(encoding="utf-8")).get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre])
    return [s["pattern"]["Regex"] for s in steps if s.get("type") == "Split" and "Regex" in s.get("pattern", {})]


def map_unknown_pretokenizer(model_dir: Path) -> None:
    """llama.cpp names a BPE pre-tokenizer by a hash of the token ids it gives for a fixed text, so a tokenizer trained
    locally (our test models' 1,500-token BPE) is unknown to it and the converter stops. Ours splits with exactly
    Qwen2's regex, so it is mapped to "qwen2" here, and only when that regex is the one in tokenizer.json."""
    from conversion import base

    original = base.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer) -> str:
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            if pretokenizer_regexes(model_dir / "tokenizer.json") != [QWEN2_PRETOKENIZER]:
                raise
            print("gguf_export: pre-tokenizer hash unknown; its regex is Qwen2's, written as 'qwen2'", flush=True)
            return "qwen2"

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre


def stage(model_dir: Path, into: Path) -> Path:
    """Links to the model's top-level files, plus the README heading by which the converter recognises a reranker."""
    staged = into / model_dir.name
    staged.mkdir()
    for item in model_dir.iterdir():
        if item.is_file() and item.name != "README.md":
            (staged / item.name).symlink_to(item.resolve())
    (staged / "README.md").write_text("# Qwen3-Reranker\n", encoding="utf-8")
    return staged


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a Hugging Face folder with model.safetensors, config.json and tokenizer.json")
    ap.add_argument("--outtype", nargs="+", default=["f16", "q8_0"], choices=OUTTYPES)
    ap.add_argument("--out-dir", help="default: models-big/gguf/<model folder name>")
    args = ap.parse_args(argv)
    model_dir = Path(args.model).resolve()
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("architectures") != ["Qwen3ForCausalLM"]:
        raise SystemExit(f"{model_dir} is a {config.get('architectures')}; this tool converts Qwen3ForCausalLM rerankers")
    out_dir = Path(args.out_dir or Path("models-big") / "gguf" / model_dir.name).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    converter = find_converter()
    sys.path.insert(0, str(converter))
    import convert_hf_to_gguf

    map_unknown_pretokenizer(model_dir)
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage(model_dir, Path(tmp))
        for outtype in args.outtype:
            outfile = out_dir / f"model-{outtype}.gguf"
            sys.argv = ["convert_hf_to_gguf.py", str(staged), "--outtype", outtype, "--outfile", str(outfile)]
            convert_hf_to_gguf.main()
            print(f"wrote {outfile} ({outfile.stat().st_size / 2**20:.0f} MiB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
