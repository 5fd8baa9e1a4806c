#!/usr/bin/env bash
# examples/ask.yaml against a running `ferryman up` whose worker has FERRYMAN_LLM_BASE_URL
# (and FERRYMAN_LLM_API_KEY) set: the tokens as they come, then usage, tool calls and the
# structured output. Usage: ./examples/run-llm.sh "Why is the sky blue?" [model]
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
register "$HERE/ask.yaml"
question=${1:-Why is the sky blue?}
# The model only when one is given: the job's default (gpt-4o-mini) otherwise.
payload=$(python3 -c 'import json,sys; print(json.dumps({"payload": {"question": sys.argv[1], **({"model": sys.argv[2]} if sys.argv[2:] else {})}}))' "$question" ${2:+"$2"})
id=$(call POST /v1/jobs/ask/trigger "$payload" | field id)
echo "==> $id: tokens as the model produces them"
curl -sN -H "X-API-Key: $KEY" "$API/v1/runs/$id/stream/chunks" |
  python3 -c '
import json, sys
for line in sys.stdin:
    if line.startswith("data:"):
        print(json.loads(line[5:])["text"], end="", flush=True)
print()'
echo "==> the run"
await_status "$id" completed
call GET "/v1/runs/$id" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(" ", r["status"], r["result"], r["usage"])'
for record in usage tool-calls outputs; do
  echo "==> $record"
  call GET "/v1/runs/$id/$record" | python3 -m json.tool
done
