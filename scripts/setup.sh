#!/usr/bin/env bash
# Creates .venv (Python 3.11) and installs neuromorph with the pinned constraints.
# Usage: bash scripts/setup.sh [EXTRAS]   e.g. EXTRAS=test  (default: none)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=${1:-}
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e "$target"
