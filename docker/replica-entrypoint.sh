#!/usr/bin/env bash
# docker/replica-entrypoint.sh — entrypoint of the compose services replica1 and replica2. On the
# first start (empty PGDATA) it copies the primary with pg_basebackup -R (a streaming standby:
# standby.signal plus primary_conninfo) through the slot named REPLICA_SLOT, then hands over to
# the postgres image's own entrypoint, which just runs the server on an existing data directory.
# Runs as the postgres user (compose `user: postgres`).
set -euo pipefail

: "${PRIMARY_HOST:?PRIMARY_HOST not set}"
: "${REPLICA_SLOT:?REPLICA_SLOT not set}"
: "${PGPASSWORD:?PGPASSWORD (password of the replication role) not set}"
PGDATA=${PGDATA:-/var/lib/postgresql/data}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    # depends_on waits for the primary's healthcheck, but the primary may still restart once
    # after its init scripts: retry for a while instead of failing the container.
    tries=0
    until pg_basebackup -h "$PRIMARY_HOST" -p "${PRIMARY_PORT:-5432}" \
        -U "${REPLICATION_USER:-replicator}" --no-password -D "$PGDATA" -R -S "$REPLICA_SLOT" \
        -X stream -c fast; do
        tries=$((tries + 1))
        if [ "$tries" -ge 30 ]; then
            echo "replica-entrypoint: pg_basebackup from $PRIMARY_HOST failed $tries times" >&2
            exit 1
        fi
        # pg_basebackup only writes into an empty directory.
        find "$PGDATA" -mindepth 1 -delete
        sleep 2
    done
    # The image makes PGDATA mode 1777; PostgreSQL refuses to start unless it is 0700 or 0750.
    chmod 700 "$PGDATA"
fi

# cluster_name names this replica in the primary's pg_stat_replication.
exec docker-entrypoint.sh postgres -c cluster_name="$REPLICA_SLOT" -c hot_standby_feedback=on
