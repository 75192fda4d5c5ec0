#!/usr/bin/env bash
# Build .venv-infinity: the Infinity rerank server (PyPI `infinity-emb`) that test/remote/infinity.int.test.ts
# starts against a model folder. Reinstalls only when tools/requirements-infinity.txt changes.
# Usage: bash tools/infinity-venv.sh      (INFINITY_VENV=DIR builds it elsewhere; CI keeps it in its cache)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INFINITY_VENV:-$ROOT/.venv-infinity}"
bash "$ROOT/tools/ensure-venv.sh" "$VENV" "$ROOT/tools/requirements-infinity.txt" infinity
"$VENV/bin/infinity_emb" --help >/dev/null
