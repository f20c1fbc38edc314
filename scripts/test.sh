#!/usr/bin/env bash
# One command: set up everything (with test extras), lint, then run the default test suite.
# Slow tests: bash scripts/test.sh -m slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"
