#!/usr/bin/env bash
# Delayed runs, reschedule and expiry (examples/reminder.yaml) against a running `ferryman up`.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
register "$HERE/reminder.yaml"
at() { python3 -c 'import sys,datetime as d; print((d.datetime.now(d.UTC)+d.timedelta(seconds=float(sys.argv[1]))).isoformat())' "$1"; }

echo "==> a reminder for in an hour: delayed"
id=$(call POST /v1/jobs/reminder/trigger '{"payload": {"who": "ada", "what": "review"}, "scheduled_at": "'"$(at 3600)"'"}' | field id)
call GET "/v1/runs/$id" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   ", r["status"], "until", r["scheduled_at"])'

echo "==> moved to in 2 seconds"
call POST "/v1/runs/$id/reschedule" '{"scheduled_at": "'"$(at 2)"'"}' >/dev/null
await_status "$id" completed
call GET "/v1/runs/$id" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   ", r["status"], r["result"])'

echo "==> one due in 5 seconds that must start within 6, moved to an hour later: expired"
id=$(call POST /v1/jobs/reminder/trigger '{"payload": {"who": "bob", "what": "lunch"}, "scheduled_at": "'"$(at 5)"'", "expires_at": "'"$(at 6)"'"}' | field id)
call POST "/v1/runs/$id/reschedule" '{"scheduled_at": "'"$(at 3600)"'"}' >/dev/null
await_status "$id" expired
call GET "/v1/runs/$id" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("   ", r["status"], "-", r["error"])'
