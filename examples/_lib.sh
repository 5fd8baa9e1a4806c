# Shared by the run-*.sh examples: the API's address, the dev key, and small helpers.
# `ferryman up` writes both into its data dir (`api-url`, `dev-api-key`); FERRYMAN_API_URL and
# FERRYMAN_API_KEY override them (FERRYMAN_DATA_DIR says where the data dir is).
DATA_DIR=${FERRYMAN_DATA_DIR:-.ferryman}
HERE=$(dirname "$0")

from_data_dir() { # from_data_dir FILE VARIABLE: what `ferryman up` wrote in FILE
  cat "$DATA_DIR/$1" 2>/dev/null && return 0
  echo "no $DATA_DIR/$1: start \`ferryman up\` first (or set $2)" >&2
  return 1
}
API=${FERRYMAN_API_URL:-$(from_data_dir api-url FERRYMAN_API_URL)}
KEY=${FERRYMAN_API_KEY:-$(from_data_dir dev-api-key FERRYMAN_API_KEY)}

call() { # call METHOD PATH [JSON]: the response body; an error answer is printed, and fails
  local body status
  body=$(curl -sS -w '\n%{http_code}' -X "$1" -H "X-API-Key: $KEY" \
    -H "Content-Type: application/json" "$API$2" ${3:+-d "$3"})
  status=${body##*$'\n'}
  body=${body%$'\n'*}
  if [ "${status:0:1}" != 2 ]; then
    echo "$1 $2 answered $status: $body" >&2
    return 1
  fi
  printf '%s\n' "$body"
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

# The statuses a run does not leave (on `/v1`).
FINAL=" completed failed timed_out crashed system_failed canceled expired dead_letter "

await_status() { # await_status RUN_ID STATUS [SECONDS]: wait (30 s by default) until the run
  # has STATUS; a run that ends otherwise, or never gets there, ends the script (exit 1)
  # with its status and error.
  local run status=""
  for _ in $(seq 1 $((${3:-30} * 2))); do
    run=$(call GET "/v1/runs/$1")
    status=$(field status <<<"$run")
    [ "$status" = "$2" ] && return 0
    if [[ $FINAL == *" $status "* ]]; then
      echo "run $1 ended $status, not $2: $(field error <<<"$run")" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "run $1 is $status after ${3:-30} s, not $2: is a worker running?" >&2
  exit 1
}
