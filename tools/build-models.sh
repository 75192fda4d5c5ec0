#!/usr/bin/env bash
# Build the ONNX test models and golden files under models/ (see tools/README.md).
# Usage: bash tools/build-models.sh [--force] [--only NAME...] [--data DIR] [--out DIR]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
bash "$ROOT/tools/ensure-venv.sh" "$VENV" "$ROOT/tools/requirements.txt" models

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false PYTHONWARNINGS="${PYTHONWARNINGS:-ignore}"
"$VENV/bin/python" "$ROOT/tools/build_models.py" --out models --data ../shared/data "$@"
# Deliberately broken graphs for the error-handling tests: a few hundred bytes, rebuilt every time.
"$VENV/bin/python" "$ROOT/tools/broken_models.py" --out models/broken
