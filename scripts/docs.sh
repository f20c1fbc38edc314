#!/usr/bin/env bash
# One command: build the project site (docs/*.md guides + the API reference generated from the
# docstrings) into site/ with mkdocs --strict; any warning (a broken link, a docstring that does
# not render) fails the build. Open site/index.html. Extra arguments go to `mkdocs build`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh docs
.venv/bin/mkdocs build --strict --site-dir site "$@"
