# Shared by the run-*.sh examples: the API address, the dev key, and small helpers.
API=${FERRYMAN_API:-http://127.0.0.1:8080}
KEY=${FERRYMAN_API_KEY:-$(cat "${FERRYMAN_DATA_DIR:-.ferryman}/dev-api-key")}
HERE=$(dirname "$0")

call() { # call METHOD PATH [JSON]: the response body
  curl -fsS -X "$1" -H "X-API-Key: $KEY" -H "Content-Type: application/json" "$API$2" ${3:+-d "$3"}
}

register() { # register FILE.yaml: create the job, or add a version if it exists
  local id yaml=(-H "X-API-Key: $KEY" -H "Content-Type: application/yaml" --data-binary @"$1")
  id=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))["id"])' "$1" 2>/dev/null ||
    sed -n 's/^id: *//p' "$1")
  # PUT adds a version; 404: create it; 409 then: another script created it meanwhile.
  curl -fsS "${yaml[@]}" -X PUT "$API/api/v1/workflows/$id" >/dev/null 2>&1 ||
    curl -fsS "${yaml[@]}" "$API/api/v1/workflows" >/dev/null 2>&1 ||
    curl -fsS "${yaml[@]}" -X PUT "$API/api/v1/workflows/$id" >/dev/null
}

field() { # field NAME: read one field of the JSON object on stdin
  python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

runs() { # runs QUERY: one line per run: id, status, started_at, and what the query asks
  call GET "/v1/runs?$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print("  {id}  {status:<10} priority={priority!s:<3} key={concurrency_key} started={started_at}".format(**r))'
}

await_status() { # await_status RUN_ID STATUS [SECONDS]: wait (30 s by default) until the run has it
  local status=""
  for _ in $(seq 1 $((${3:-30} * 2))); do
    status=$(call GET "/v1/runs/$1" | field status)
    [ "$status" = "$2" ] && return 0
    sleep 0.5
  done
  echo "run $1 is $status after ${3:-30} s, not $2: is a worker running?" >&2
  return 1
}
