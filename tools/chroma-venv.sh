#!/usr/bin/env bash
# Builds the Python venv holding the Chroma server (`chroma run`) that the LangChain vector-store integration tests
# start on 127.0.0.1. Reinstalls only when tools/chroma-requirements.txt changes.
#
#   bash tools/chroma-venv.sh            builds ./.venv-chroma
#   bash tools/chroma-venv.sh DIR        builds DIR (CI builds it in its cache and links .venv-chroma to it)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-chroma}"
bash tools/ensure-venv.sh "$venv" tools/chroma-requirements.txt chroma
"$venv/bin/chroma" --help >/dev/null
echo "chroma: $("$venv/bin/python" -c 'import chromadb; print("chromadb", chromadb.__version__)') in $venv"
