#!/usr/bin/env bash
# Dependencies (examples/publish.yaml waits on examples/extract.yaml) against a running
# `ferryman up`: publish is `waiting` until extract's latest run has completed.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
register "$HERE/extract.yaml"
register "$HERE/publish.yaml"
call POST /v1/jobs/publish/dependencies '{"depends_on_job_id": "extract", "condition": "completed"}' >/dev/null 2>&1 ||
  echo "    (the dependency exists already)"
call GET /v1/jobs/publish/dependencies | python3 -m json.tool

publish=$(call POST /v1/jobs/publish/trigger '{"payload": {"day": "2026-12-01"}}' | field id)
sleep 1
echo "==> publish waits"
call GET "/v1/runs/$publish/dependency-status" | python3 -m json.tool
echo "==> extract runs (3 s); publish follows"
call POST /v1/jobs/extract/trigger '{"payload": {}}' >/dev/null
await_status "$publish" completed
echo "    publish: completed"
call GET "/v1/runs/$publish/dependency-status" | python3 -m json.tool
