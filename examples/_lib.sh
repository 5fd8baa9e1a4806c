# Shared by the run-*.sh examples: the API address, the dev key, and small helpers.
API=${FERRYMAN_API:-http://127.0.0.1:8080}
KEY=${FERRYMAN_API_KEY:-$(cat "${FERRYMAN_DATA_DIR:-.ferryman}/dev-api-key")}
HERE=$(dirname "$0")

call() { # call METHOD PATH [JSON]: the response body
  curl -fsS -X "$1" -H "X-API-Key: $KEY" -H "Content-Type: application/json" "$API$2" ${3:+-d "$3"}
}

register() { # register FILE.yaml: create the job, or add a version if it exists
  local id
  id=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["id"])' "$1" 2>/dev/null ||
    sed -n 's/^id: *//p' "$1")
  curl -fsS -H "X-API-Key: $KEY" -H "Content-Type: application/yaml" --data-binary @"$1" \
    -X PUT "$API/api/v1/workflows/$id" >/dev/null 2>&1 ||
    curl -fsS -H "X-API-Key: $KEY" -H "Content-Type: application/yaml" --data-binary @"$1" \
      "$API/api/v1/workflows" >/dev/null
}

field() { # field NAME: read one field of the JSON object on stdin
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

runs() { # runs QUERY: one line per run: id, status, started_at, and what the query asks
  call GET "/v1/runs?$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(f"  {r[\"id\"]}  {r[\"status\"]:<10} priority={r[\"priority\"]:<3} key={r[\"concurrency_key\"]} started={r[\"started_at\"]}")'
}
