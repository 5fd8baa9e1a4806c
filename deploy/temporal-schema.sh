#!/bin/sh
# Create or upgrade Temporal's two PostgreSQL databases (persistence and SQL visibility);
# run by the one-shot `temporal-schema` service of docker-compose.temporal.yml
# (temporalio/admin-tools image) before the server starts. Idempotent: an existing
# database is kept, and update-schema applies only the versions the image ships beyond
# the current one, which is how a Temporal upgrade migrates its schema.
#
# temporal-sql-tool reads the password from SQL_PASSWORD (never on the command line).
set -eu

: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
SQL_PORT="${SQL_PORT:-5432}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12
MAX_ATTEMPTS="${SETUP_MAX_ATTEMPTS:-60}"

attempt=1
until nc -z -w 5 "$SQL_HOST" "$SQL_PORT"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
        echo "temporal-schema: PostgreSQL at $SQL_HOST:$SQL_PORT never answered" >&2
        exit 1
    fi
    attempt=$((attempt + 1))
    sleep 2
done

sql_tool() {
    temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
    db="${pair%%:*}"
    schema="${pair#*:}"
    echo "temporal-schema: database $db"
    sql_tool --db "$db" create
    sql_tool --db "$db" setup-schema -v 0.0
    sql_tool --db "$db" update-schema -d "$SCHEMA_DIR/$schema/versioned"
done
echo "temporal-schema: done"
