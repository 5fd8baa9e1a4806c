#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so check a link tree shaped like the
# installed package: build/typecheck/ferryman/{api,workflows,activities,...}.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/ferryman"
for file in ferryman/*.py; do ln -s "$root/$file" "$tree/ferryman/"; done
for folder in api workflows activities; do ln -s "$root/$folder" "$tree/ferryman/$folder"; done
ln -s "$root/bench" "$tree/bench"
cd "$tree"
"$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" ferryman bench
