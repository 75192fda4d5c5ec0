#!/usr/bin/env bash
# Build venv-gguf: llama.cpp's Hugging Face -> GGUF converter (convert_hf_to_gguf.py and its `conversion` package) for
# tools/gguf_export.py. llama.cpp is not on PyPI as such; its converter ships in the llama-cpp-python source
# distribution under vendor/llama.cpp/ with the gguf-py it imports, which are unpacked once into the venv. Only the GGUF benchmark peer needs it.
# Usage: bash tools/gguf-venv.sh      (GGUF_VENV=DIR builds it elsewhere; prints the converter's folder)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GGUF_VENV:-$HOME/.cache/langchain-cross-encoder-ci/venv-gguf}"
LLAMA_CPP_PYTHON=0.3.36
bash "$ROOT/tools/ensure-venv.sh" "$VENV" "$ROOT/tools/requirements-gguf.txt" gguf

converter="$VENV/llama.cpp-$LLAMA_CPP_PYTHON"
if [ ! -f "$converter/convert_hf_to_gguf.py" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  "$VENV/bin/python" -m pip download --disable-pip-version-check --quiet --no-deps --no-binary :all: \
    "llama-cpp-python==$LLAMA_CPP_PYTHON" -d "$work" >&2
  tar -xzf "$work/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz" -C "$work" \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/convert_hf_to_gguf.py" \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/conversion" \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/gguf-py" \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/LICENSE"
  rm -rf "$converter.tmp" && mv "$work/llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp" "$converter.tmp"
  mv "$converter.tmp" "$converter"
fi
echo "$converter"
