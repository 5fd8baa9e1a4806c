#!/usr/bin/env bash
# Child runs (examples/gallery.yaml spawns examples/resize-image.yaml twice, and starts a
# detached examples/reminder.yaml run) against a running `ferryman up`.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
for job in resize-image reminder gallery; do register "$HERE/$job.yaml"; done
id=$(call POST /v1/jobs/gallery/trigger '{"payload": {"cover": "https://example.com/a.png"}}' | field id)
await_status "$id" completed
echo "==> the parent"
call GET "/v1/runs/$id" | python3 -m json.tool
echo "==> its children (triggered_by spawn, parent_run_id, workflow_step_run_id)"
for _ in $(seq 1 20); do # lists come from Temporal's visibility, a moment behind
  [ "$(call GET "/v1/runs/$id/children" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 3 ] && break
  sleep 0.5
done
call GET "/v1/runs/$id/children" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(" ", r["id"], r["job_id"], r["status"], r["triggered_by"], r["workflow_step_run_id"])'
