#!/usr/bin/env bash
# Build .venv-infinity: the Infinity rerank server (PyPI `infinity-emb`) that test/remote/infinity.int.test.ts
# starts against a model folder. Reinstalls only when tools/requirements-infinity.txt changes.
# Usage: bash tools/infinity-venv.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${INFINITY_VENV:-$ROOT/.venv-infinity}"
REQ="$ROOT/tools/requirements-infinity.txt"
STAMP="$VENV/.requirements.sha256"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "infinity: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "infinity: installing tools/requirements-infinity.txt into $VENV (log: $VENV/pip-install.log)"
  rm -f "$STAMP"
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -r "$REQ" >"$VENV/pip-install.log" 2>&1; then
    tail -n 30 "$VENV/pip-install.log" >&2
    echo "infinity: pip install failed (full log: $VENV/pip-install.log)" >&2
    exit 1
  fi
  echo "$want" >"$STAMP"
fi
"$VENV/bin/infinity_emb" --help >/dev/null
echo "infinity: $("$VENV/bin/python" -c 'import importlib.metadata as m; print("infinity-emb", m.version("infinity-emb"))')"
