#!/usr/bin/env bash
# Builds the Python venv holding the Chroma server (`chroma run`) that the LangChain vector-store integration tests
# start on 127.0.0.1. Skips the work when the venv was already built from the same requirements and Python.
#
#   bash tools/chroma-venv.sh            builds ./.venv-chroma
#   bash tools/chroma-venv.sh DIR        builds DIR (CI builds it in its cache and links .venv-chroma to it)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-chroma}"
requirements=tools/chroma-requirements.txt
python="$(command -v python3.11 || command -v python3)"
want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$python" --version 2>&1)"
stamp="$venv/.built-from"
if [ -x "$venv/bin/chroma" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$venv is up to date ($(cat "$stamp"))"
  exit 0
fi
started=$SECONDS
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
"$venv/bin/chroma" --help >/dev/null
echo "$want" >"$stamp"
echo "built $venv in $((SECONDS - started)) s: $("$venv/bin/python" -c 'import chromadb; print("chromadb", chromadb.__version__)')"
