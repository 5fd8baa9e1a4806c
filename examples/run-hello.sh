#!/usr/bin/env bash
# Run examples/hello.yaml against a running `ferryman up`: start, approve, read the result.
set -euo pipefail
API=${FERRYMAN_API:-http://127.0.0.1:8080}
KEY=${FERRYMAN_API_KEY:-$(cat "${FERRYMAN_DATA_DIR:-.ferryman}/dev-api-key")}
auth=(-H "X-API-Key: $KEY")
json=(-H "Content-Type: application/json")

echo "==> registering examples/hello.yaml (a new version if it is already there)"
yaml=(-H "Content-Type: application/yaml" --data-binary @"$(dirname "$0")/hello.yaml")
curl -fsS "${auth[@]}" "${yaml[@]}" -X PUT "$API/api/v1/workflows/hello" >/dev/null 2>&1 ||
  curl -fsS "${auth[@]}" "${yaml[@]}" "$API/api/v1/workflows" >/dev/null

echo "==> starting an execution"
id=$(curl -fsS "${auth[@]}" "${json[@]}" "$API/api/v1/executions" \
  -d '{"workflow_id": "hello", "input_data": {"name": "Ada", "api_url": "'"$API"'"}}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "    $id"

echo "==> approving (the signal is buffered until the wait step is reached)"
curl -fsS "${auth[@]}" "${json[@]}" "$API/api/v1/executions/$id/signal" -d '{"name": "approve", "payload": {"approved": true, "by": "you"}}'
echo

echo "==> waiting for the result"
for _ in $(seq 1 60); do
  status=$(curl -sS "${auth[@]}" "$API/api/v1/executions/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = completed ] || [ "$status" = failed ] && break
  sleep 1
done
curl -sS "${auth[@]}" "$API/api/v1/executions/$id?include_step_results=true" | python3 -m json.tool
