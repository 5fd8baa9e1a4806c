#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping, so check a link tree shaped like the
# installed package: build/typecheck/ferryman/{api,workflows,activities,...}, next to the
# tests and the bench, which import it as `ferryman`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tree=build/typecheck
rm -rf "$tree"
mkdir -p "$tree/ferryman"
for file in ferryman/*.py; do ln -s "$root/$file" "$tree/ferryman/"; done
for folder in ferryman/*/; do
  [ "$(basename "$folder")" = __pycache__ ] || ln -s "$root/${folder%/}" "$tree/ferryman/"
done
for folder in api workflows activities; do ln -s "$root/$folder" "$tree/ferryman/$folder"; done
for folder in tests bench; do ln -s "$root/$folder" "$tree/$folder"; done
cd "$tree"
"$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" ferryman tests bench
