#!/bin/sh
# Prepare a Temporal namespace for ferryman; run by the one-shot `temporal-setup` service of
# docker-compose.temporal.yml (temporalio/admin-tools image, busybox sh) after every
# `docker compose up`. Safe to re-run:
#
#   1. wait until the Temporal frontend answers;
#   2. create the namespace, or update it, with a retention of NAMESPACE_RETENTION
#      (never below ferryman's 24 h idempotency window);
#   3. register every custom search attribute ferryman uses, tolerating "already exists"
#      (a different type on an existing attribute stops the deployment instead);
#   4. wait until the namespace lists them all, so the API and workers (which refuse to
#      start without them) find them at once.
set -eu

TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-720h}"
MAX_ATTEMPTS="${SETUP_MAX_ATTEMPTS:-90}"
SLEEP_SECS="${SETUP_SLEEP_SECS:-2}"

# BEGIN search attributes: `Name Type`, one a line, exactly ferryman.search_attributes.ALL
# (see cli_flags()). tests/deploy/test_compose.py fails until this list matches the module.
SEARCH_ATTRIBUTES='
FerrymanStatus Keyword
FerrymanWorkflow Keyword
FerrymanProject Keyword
FerrymanVersion Keyword
FerrymanBatch Keyword
FerrymanTriggeredBy Keyword
FerrymanParent Keyword
FerrymanContinuationOf Keyword
FerrymanConcurrencyKey Keyword
FerrymanSupersedes Keyword
FerrymanTags KeywordList
FerrymanPayloadIndex KeywordList
FerrymanPriority Int
FerrymanAttempt Int
FerrymanLineageDepth Int
FerrymanScheduledAt Datetime
FerrymanExpiresAt Datetime
FerrymanNextRetryAt Datetime
'
# END search attributes

log() { echo "temporal-setup: $*"; }
fail() { echo "temporal-setup: $*" >&2; exit 1; }

# Retention as Temporal's CLI takes it: hours (720h) or days (30d), at least 24 h.
case "$RETENTION" in
    *h) retention_hours="${RETENTION%h}" ;;
    *d) retention_hours="${RETENTION%d}" ;;
    *) fail "NAMESPACE_RETENTION must be hours (720h) or days (30d), not '$RETENTION'" ;;
esac
case "$retention_hours" in
    '' | *[!0-9]*) fail "NAMESPACE_RETENTION must be hours (720h) or days (30d), not '$RETENTION'" ;;
esac
case "$RETENTION" in
    *d) retention_hours=$((retention_hours * 24)) ;;
esac
if [ "$retention_hours" -lt 24 ]; then
    fail "NAMESPACE_RETENTION=$RETENTION is below ferryman's 24 h idempotency window"
fi

# retry CMD ARGS...: run until it succeeds, at most MAX_ATTEMPTS times.
retry() {
    attempt=1
    until "$@"; do
        if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
            fail "gave up after $MAX_ATTEMPTS attempts: $*"
        fi
        attempt=$((attempt + 1))
        sleep "$SLEEP_SECS"
    done
}

server_healthy() {
    temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1
}

ensure_namespace() {
    if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" >/dev/null 2>&1; then
        temporal operator namespace update --address "$TEMPORAL_ADDRESS" \
            --namespace "$NAMESPACE" --retention "$RETENTION"
    else
        temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
            --namespace "$NAMESPACE" --retention "$RETENTION"
    fi
}

create_search_attribute() {  # NAME TYPE
    if output=$(temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" --name "$1" --type "$2" 2>&1); then
        log "search attribute $1 ($2) registered"
        return 0
    fi
    case "$output" in
        *"different type"*)
            # Not retried: ferryman would write values of the wrong type into it.
            fail "search attribute $1 exists with another type than $2: $output" ;;
        *"already exists"*)
            log "search attribute $1 ($2) already registered"
            return 0 ;;
    esac
    log "search attribute $1 not registered yet: $output"
    return 1
}

all_listed() {
    listed=$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" 2>&1) || return 1
    set -- $SEARCH_ATTRIBUTES
    while [ "$#" -ge 2 ]; do
        if ! printf '%s\n' "$listed" | grep -qw "$1"; then
            log "waiting for search attribute $1 to be listed"
            return 1
        fi
        shift 2
    done
}

log "waiting for Temporal at $TEMPORAL_ADDRESS"
retry server_healthy

log "namespace $NAMESPACE: retention $RETENTION"
retry ensure_namespace

set -- $SEARCH_ATTRIBUTES
while [ "$#" -ge 2 ]; do
    retry create_search_attribute "$1" "$2"
    shift 2
done

retry all_listed
log "namespace $NAMESPACE is ready for ferryman"
