#!/usr/bin/env bash
# Quick start: install, then run the embedded default (Temporal dev server + worker + API).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export FERRYMAN_WORKFLOWS_DIR=${FERRYMAN_WORKFLOWS_DIR:-examples}
exec .venv/bin/ferryman up "$@"
