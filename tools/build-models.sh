#!/usr/bin/env bash
# Build the ONNX test models and golden files under models/ (see tools/README.md).
# Usage: bash tools/build-models.sh [--force] [--only NAME...] [--data DIR] [--out DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
REQ="$ROOT/tools/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "models: creating .venv with $PY"
  "$PY" -m venv "$VENV"
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "models: installing tools/requirements.txt into .venv (log: .venv/pip-install.log)"
  rm -f "$STAMP"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQ" >"$VENV/pip-install.log" 2>&1; then
    tail -n 30 "$VENV/pip-install.log" >&2
    echo "models: pip install failed (full log: .venv/pip-install.log)" >&2
    exit 1
  fi
  echo "$want" >"$STAMP"
fi

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
"$VENV/bin/python" "$ROOT/tools/build_models.py" --out models --data ../shared/data "$@"
# Deliberately broken graphs for the error-handling tests: a few hundred bytes, rebuilt every time.
"$VENV/bin/python" "$ROOT/tools/broken_models.py" --out models/broken
