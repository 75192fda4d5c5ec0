#!/usr/bin/env bash
# Makes sure a Python venv holds a requirements file: creates the venv if needed and runs pip only when the file or
# the Python version changed since the last successful install (recorded in the venv). Every venv the project
# builds (the tooling one, Infinity's, Chroma's) goes through here.
# Usage: bash tools/ensure-venv.sh VENV_DIR REQUIREMENTS_FILE LABEL
set -euo pipefail

venv="$1" requirements="$2" label="$3"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
stamp="$venv/.requirements.sha256"

if [ ! -x "$venv/bin/python" ]; then
  echo "$label: creating $venv with $python"
  "$python" -m venv "$venv"
fi

want="$(sha256sum "$requirements" | cut -d' ' -f1) $("$venv/bin/python" --version 2>&1)"
if [ "$want" != "$(cat "$stamp" 2>/dev/null || true)" ]; then
  echo "$label: installing $requirements into $venv (log: $venv/pip-install.log)"
  rm -f "$stamp"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -r "$requirements" >"$venv/pip-install.log" 2>&1; then
    tail -n 30 "$venv/pip-install.log" >&2
    echo "$label: pip install failed (full log: $venv/pip-install.log)" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
fi
