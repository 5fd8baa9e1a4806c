#!/usr/bin/env bash
# Install, lint, type-check and run the whole test suite against a real Temporal dev server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
bash scripts/typecheck.sh
echo "==> pytest"
.venv/bin/pytest "$@"
