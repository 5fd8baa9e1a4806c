#!/usr/bin/env bash
# Schedule examples/cron-report/report.yaml against a running `ferryman up`: every 10 seconds,
# show the first run the schedule starts by itself, then delete the schedule.
set -euo pipefail
API=${FERRYMAN_API:-http://127.0.0.1:8080}
KEY=${FERRYMAN_API_KEY:-$(cat "${FERRYMAN_DATA_DIR:-.ferryman}/dev-api-key")}
auth=(-H "X-API-Key: $KEY")
json=(-H "Content-Type: application/json")
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "==> registering the cron-report job (a new version if it is already there)"
yaml=(-H "Content-Type: application/yaml" --data-binary @"$(dirname "$0")/report.yaml")
curl -fsS "${auth[@]}" "${yaml[@]}" -X PUT "$API/api/v1/workflows/cron-report" >/dev/null 2>&1 ||
  curl -fsS "${auth[@]}" "${yaml[@]}" "$API/v1/jobs" >/dev/null

echo "==> scheduling it every 10 seconds (7 fields: second minute hour day month weekday year)"
schedule=$(curl -fsS "${auth[@]}" "${json[@]}" "$API/v1/schedules" \
  -d '{"job_id": "cron-report", "cron": "*/10 * * * * * *", "payload": {"team": "growth"}}')
echo "$schedule" | python3 -m json.tool
id=$(echo "$schedule" | field '["id"]')
since=$(echo "$schedule" | field '["created_at"]')
trap 'curl -fsS "${auth[@]}" -X DELETE "$API/v1/schedules/$id" >/dev/null && echo "==> deleted $id"' EXIT

echo "==> waiting for its first run (GET /v1/runs?triggered_by=cron&created_after=...)"
for _ in $(seq 1 30); do
  run=$(curl -fsS "${auth[@]}" "$API/v1/runs?job_id=cron-report&triggered_by=cron&status=completed&created_after=$since&limit=1" |
    python3 -c 'import json,sys; runs=json.load(sys.stdin); print(runs[0]["id"] if runs else "")')
  [ -n "$run" ] && break
  sleep 1
done
[ -n "$run" ] || { echo "no run yet: is a worker running?" >&2; exit 1; }
curl -fsS "${auth[@]}" "$API/v1/runs/$run" |
  python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps({k: r[k] for k in ("id", "status", "triggered_by", "payload", "result", "created_at")}, indent=2))'

echo "==> pausing: no run starts while paused (next_run_at is null)"
curl -fsS "${auth[@]}" -X POST "$API/v1/schedules/$id/pause" | python3 -m json.tool
