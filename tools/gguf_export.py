"""A Qwen3-Reranker-style Hugging Face folder to GGUF with llama.cpp's own converter, for node-llama-cpp's ranking context.

The converter (convert_hf_to_gguf.py with the gguf-py it imports, from the llama-cpp-python source distribution on
PyPI, unpacked once beside the running venv; the tooling venv has every package it needs) treats a Qwen3ForCausalLM as a reranker when the folder's README.md has a "# Qwen3-Reranker" heading,
as the official model card does. It then keeps only the "yes" and "no" rows of the output head as a two-label
classifier, sets pooling RANK, and writes a fixed "rerank" chat template with the default instruction. The model
folder is never changed: the converter reads a staging folder of links to its files plus that README.md.

Usage: .venv/bin/python tools/gguf_export.py MODEL_DIR [--outtype f16 q8_0] [--out-dir MODEL_DIR/gguf] [--causal-lm]
Writes <out-dir>/model-<outtype>.gguf (with --causal-lm, <out-dir>/causal-lm-<outtype>.gguf: the language model
without the ranking head, which the engine refuses; the tests use it to check that).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# The llama-cpp-python release whose vendored llama.cpp converter is used; node-llama-cpp 3.21.1 reads its output.
LLAMA_CPP_PYTHON = "0.3.36"

# Qwen2's pre-tokenizer regex, which llama.cpp implements under the name "qwen2".
QWEN2_PRETOKENIZER = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
OUTTYPES = ("f16", "q8_0", "f32", "bf16")


def ensure_converter(home: Path | None = None) -> Path:
    """The converter's folder, unpacked from the llama-cpp-python source distribution the first time (pip downloads it
    from PyPI; nothing is built or installed)."""
    converter = (home or Path(sys.prefix)) / f"llama.cpp-{LLAMA_CPP_PYTHON}"
    if (converter / "convert_hf_to_gguf.py").is_file():
        return converter
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"llama-cpp-python=={LLAMA_CPP_PYTHON}", "-d", tmp],
            check=True,
        )
        prefix = f"llama_cpp_python-{LLAMA_CPP_PYTHON}/vendor/llama.cpp/"
        wanted = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/", "LICENSE")
        with tarfile.open(Path(tmp) / f"llama_cpp_python-{LLAMA_CPP_PYTHON}.tar.gz") as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix) and m.name[len(prefix):].startswith(wanted)]
            archive.extractall(tmp, members=members, filter="data")
        staged = converter.with_name(converter.name + ".tmp")
        shutil.rmtree(staged, ignore_errors=True)
        shutil.move(str(Path(tmp) / prefix), staged)
        staged.rename(converter)
    return converter


def pretokenizer_regexes(tokenizer_json: Path) -> list[str]:
    """Every Split pattern of the tokenizer's pre-tokenizer (a Sequence or a single Split)."""
    pre = json.loads(tokenizer_json.read_text(encoding="utf-8")).get("pre_tokenizer") or {}
    steps = pre.get("pretokenizers", [pre])
    return [s["pattern"]["Regex"] for s in steps if s.get("type") == "Split" and "Regex" in s.get("pattern", {})]


def map_unknown_pretokenizer(model_dir: Path) -> None:
    """llama.cpp names a BPE pre-tokenizer by a hash of the token ids it gives for a fixed text, so a tokenizer trained
    locally (our test models' 1,500-token BPE) is unknown to it and the converter stops. Ours splits with exactly
    Qwen2's regex, so it is mapped to "qwen2" here, and only when that regex is the one in tokenizer.json."""
    import logging

    from conversion import base

    original = base.TextModel.get_vocab_base_pre
    mapped = pretokenizer_regexes(model_dir / "tokenizer.json") == [QWEN2_PRETOKENIZER]

    def get_vocab_base_pre(self, tokenizer) -> str:
        # The converter warns at length before it gives up on an unknown hash; for the tokenizer mapped below that is
        # expected, so its warnings are held back during the lookup and shown only if the lookup fails for good.
        held: list[logging.LogRecord] = []
        converter_log = logging.getLogger("hf-to-gguf")

        def hold(record: logging.LogRecord) -> bool:
            held.append(record)
            return False

        if mapped:
            converter_log.addFilter(hold)
        try:
            return original(self, tokenizer)
        except NotImplementedError:
            if not mapped:
                raise
            return "qwen2"
        except Exception:
            converter_log.removeFilter(hold)
            for record in held:
                converter_log.handle(record)
            raise
        finally:
            converter_log.removeFilter(hold)

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre


def stage(model_dir: Path, into: Path, reranker: bool = True) -> Path:
    """Links to the model's top-level files, plus the README heading by which the converter recognises a reranker
    (left out for the plain language model)."""
    staged = into / model_dir.name
    staged.mkdir()
    for item in model_dir.iterdir():
        if item.is_file() and item.name != "README.md":
            (staged / item.name).symlink_to(item.resolve())
    if reranker:
        (staged / "README.md").write_text("# Qwen3-Reranker\n", encoding="utf-8")
    return staged


def export(model_dir: Path, out_dir: Path, outtypes: list[str], causal_lm: bool = False, log=print) -> list[Path]:
    """Converts `model_dir` (a Qwen3ForCausalLM reranker folder) once per outtype into `out_dir`; returns the files."""
    model_dir = model_dir.resolve()
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if config.get("architectures") != ["Qwen3ForCausalLM"]:
        raise SystemExit(f"{model_dir} is a {config.get('architectures')}; this tool converts Qwen3ForCausalLM rerankers")
    out_dir.mkdir(parents=True, exist_ok=True)
    converter = ensure_converter()
    if str(converter) not in sys.path:
        sys.path.insert(0, str(converter))
    import convert_hf_to_gguf

    map_unknown_pretokenizer(model_dir)
    # transformers 5 writes rope_type "default" for unscaled RoPE: the converter rightly writes no scaling for it, but
    # warns that it does not know the name, on every model.
    logging.getLogger("hf-to-gguf").addFilter(lambda record: record.getMessage() != "Unknown RoPE type: default")
    written = []
    argv = sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        staged = stage(model_dir, Path(tmp), reranker=not causal_lm)
        for outtype in outtypes:
            outfile = out_dir / f"{'causal-lm' if causal_lm else 'model'}-{outtype}.gguf"
            sys.argv = ["convert_hf_to_gguf.py", str(staged), "--outtype", outtype, "--outfile", str(outfile)]
            try:
                convert_hf_to_gguf.main()
            finally:
                sys.argv = argv
            log(f"wrote {outfile} ({outfile.stat().st_size / 2**20:.1f} MiB)")
            written.append(outfile)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="a Hugging Face folder with model.safetensors, config.json and tokenizer.json")
    ap.add_argument("--outtype", nargs="+", default=["f16", "q8_0"], choices=OUTTYPES)
    ap.add_argument("--out-dir", help="default: MODEL_DIR/gguf, where CrossEncoder's `ggufFile: 'gguf/...'` finds them")
    ap.add_argument("--causal-lm", action="store_true", help="convert as a plain language model, without ranking head")
    args = ap.parse_args(argv)
    model_dir = Path(args.model)
    out_dir = Path(args.out_dir or model_dir / "gguf").resolve()
    export(model_dir, out_dir, args.outtype, causal_lm=args.causal_lm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
