#!/bin/sh
# The metadata database of ferryman (definitions, projects, API keys, idempotency keys) in
# the same PostgreSQL as Temporal, owned by a role of its own (Temporal's tables
# belong to the Temporal user and grant it nothing).
#
# The postgres image runs /docker-entrypoint-initdb.d/* once, when the data volume is empty:
# changing FERRYMAN_DB_PASSWORD later needs `ALTER ROLE ferryman PASSWORD '...'` by hand
# (docs/deployment.md).
set -eu

: "${FERRYMAN_DB_NAME:=ferryman}"
: "${FERRYMAN_DB_USER:=ferryman}"
: "${FERRYMAN_DB_PASSWORD:?FERRYMAN_DB_PASSWORD is required}"

# psql variables (:"name" quotes an identifier, :'name' a literal), so no value is pasted
# into SQL by the shell.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v db="$FERRYMAN_DB_NAME" -v role="$FERRYMAN_DB_USER" -v password="$FERRYMAN_DB_PASSWORD" \
    <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL
