#!/usr/bin/env bash
# A cron schedule (examples/cron-report.yaml) against a running `ferryman up`: it fires every
# 10 seconds, we follow the first run it starts by itself, pause it, then delete it.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
register "$HERE/cron-report.yaml"

echo "==> every 10 seconds (Temporal's 7 fields: second minute hour day month weekday year)"
schedule=$(call POST /v1/schedules '{"job_id": "cron-report", "cron": "*/10 * * * * * *", "payload": {"team": "growth"}}')
echo "$schedule" | python3 -m json.tool
id=$(echo "$schedule" | field id)
since=$(echo "$schedule" | field created_at)
trap 'call DELETE "/v1/schedules/$id" >/dev/null && echo "==> deleted $id"' EXIT

echo "==> its first run (GET /v1/runs?triggered_by=cron), no trigger call needed"
run=""
for _ in $(seq 1 30); do
  run=$(call GET "/v1/runs?job_id=cron-report&triggered_by=cron&status=completed&created_after=$since&limit=1" |
    python3 -c 'import json,sys; runs=json.load(sys.stdin); print(runs[0]["id"] if runs else "")')
  [ -n "$run" ] && break
  sleep 1
done
[ -n "$run" ] || { echo "no run yet: is a worker running?" >&2; exit 1; }
call GET "/v1/runs/$run" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("id", "status", "triggered_by", "payload", "result")}, indent=2))'

echo "==> paused: no run starts until unpaused (next_run_at is null)"
call POST "/v1/schedules/$id/pause" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("    paused:", s["paused"], "next_run_at:", s["next_run_at"])'
