#!/usr/bin/env bash
# Concurrency limits and priority (examples/tenant-sync.yaml) against a running `ferryman up`:
# 5 syncs of tenant acme (the 5th urgent) and 1 of tenant globex. At most 2 of acme run at
# once; globex runs beside them; the urgent one overtakes the queued ones.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
register "$HERE/tenant-sync.yaml"
for n in 1 2 3 4; do call POST /v1/jobs/tenant-sync/trigger '{"payload": {"tenant": "acme"}}' >/dev/null; done
call POST /v1/jobs/tenant-sync/trigger '{"payload": {"tenant": "acme"}, "priority": 10}' >/dev/null
call POST /v1/jobs/tenant-sync/trigger '{"payload": {"tenant": "globex"}}' >/dev/null
for _ in 1 2 3 4; do
  echo "==> $(date +%T)"
  runs "job_id=tenant-sync&limit=6"
  sleep 4
done
