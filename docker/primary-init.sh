#!/usr/bin/env bash
# docker/primary-init.sh — run once by the postgres:15 image when a compose primary ("postgres",
# or a shard primary "shard0"/"shard1") is first initialised (mounted into
# /docker-entrypoint-initdb.d): a replication role for the replica services, one physical
# replication slot per replica of that primary (so it keeps the WAL a stopped replica still needs)
# and the pg_hba line that lets the replicas stream. Nothing else.
# No `set -u`: the image's entrypoint sources (rather than runs) an init script that has lost its
# executable bit, and the rest of that entrypoint is not written for -u.
set -eo pipefail

# The slots of the replicas that copy this primary: PRIMARY_SERVICE is the compose service this
# runs in ("postgres" when unset; the shard primaries set it). Each slot is written out in full so
# that tests/integration/docker_compose_test.cpp can find it.
case "${PRIMARY_SERVICE:-postgres}" in
    postgres)
        slots="SELECT pg_create_physical_replication_slot('replica1', true);
SELECT pg_create_physical_replication_slot('replica2', true);"
        ;;
    shard0) slots="SELECT pg_create_physical_replication_slot('shard0r', true);" ;;
    *) slots="" ;;
esac

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD 'replicator';
$slots
SQL

# The image's own line (`host all all all scram-sha-256`) does not cover replication
# connections: "all" in the database column never matches them.
echo "host replication replicator all scram-sha-256" >>"$PGDATA/pg_hba.conf"
