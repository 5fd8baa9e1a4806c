#!/usr/bin/env bash
# Run examples/hello.yaml against a running `ferryman up`: start, approve, read the result.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"

echo "==> registering examples/hello.yaml (a new version if it is already there)"
register "$HERE/hello.yaml"

echo "==> starting an execution (its health step calls this API: $API)"
id=$(call POST /api/v1/executions \
  '{"workflow_id": "hello", "input_data": {"name": "Ada", "api_url": "'"$API"'"}}' | field id)
echo "    $id"

echo "==> approving (the signal is buffered until the wait step is reached)"
call POST "/api/v1/executions/$id/signal" '{"name": "approve", "payload": {"approved": true, "by": "you"}}'

echo "==> waiting for the result"
await_status "$id" completed 60
call GET "/api/v1/executions/$id?include_step_results=true" | python3 -m json.tool
