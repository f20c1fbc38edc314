#!/usr/bin/env bash
# One command: set up everything, then run the main job (phyll-vowels) on embedded data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/neuromorph run phyll-vowels "$@"   # a new folder each run: runs/phyll-vowels-<time>-<hash>
