#!/usr/bin/env bash
# Make bench/.venv-dbos: DBOS Transact and its web stack for the bench's DBOS side, in a venv
# of its own (DBOS is no dependency of ferryman). `python -m bench` runs this on first use.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
if [ ! -x .venv-dbos/bin/python ]; then
  echo "==> creating bench/.venv-dbos with $($PYTHON --version)"
  "$PYTHON" -m venv .venv-dbos
fi
echo "==> installing bench/dbos-requirements.txt into bench/.venv-dbos"
.venv-dbos/bin/python -m pip install --quiet --upgrade pip
.venv-dbos/bin/python -m pip install --quiet -r dbos-requirements.txt
