#!/usr/bin/env bash
# scripts/demo.sh — THE main command in the README. Installs packages, builds the pgrouter binary
# (Release, in build-demo/, without the test suite), starts the loopback topology (PostgreSQL 15
# primary on 127.0.0.1:5432, streaming replicas on 5433 and 5434; shard primaries on 5435, with a
# replica on 5436, and 5437) and pgrouter on 127.0.0.1:6432 with config/pgrouter.yaml, runs psql
# through pgrouter (a write, reads, a read after a write; rows written to the sharded database,
# looked up on each shard directly and with `pgrouter shard-of`, and a total gathered from both
# shards), then keeps everything running until Ctrl-C and removes everything it started. Owns that
# sequence only; the topology is scripts/local_topology.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly kPgPort=5432
readonly kReplicaPorts=(5433 5434)
# local_topology.sh: shard0 on BASE_PORT+3 (its replica shard0r on +4), shard1 on +5.
readonly kShardPorts=(5435 5437)
readonly kShardReplicaPort=5436
readonly kRouterPort=6432
readonly kConfig=config/pgrouter.yaml
# Its own build directory: only the binary, so a newcomer waits for pgrouter and not for the test
# suite, and build/ (scripts/test.sh) keeps its own configuration.
readonly kBuildDir=build-demo

./scripts/install_deps.sh

port_in_use() {
    [ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}
# config/pgrouter.yaml names these ports, so the demo cannot move elsewhere (local_topology.sh
# puts the replicas on BASE_PORT+1 and +2, the shard nodes on +3, +4 and +5).
for port in "$kPgPort" "${kReplicaPorts[@]}" "${kShardPorts[@]}" "$kShardReplicaPort" \
    "$kRouterPort"; do
    if port_in_use "$port"; then
        echo "demo: port $port is already in use on this machine:" >&2
        ss -Hltnp "( sport = :$port )" >&2 || true
        echo "demo: stop that service (e.g. a packaged PostgreSQL or pgbouncer) and run again." >&2
        exit 1
    fi
done

cmake_args=(-DCMAKE_BUILD_TYPE=Release -DPGROUTER_TESTS=OFF)
[ -f "$kBuildDir/CMakeCache.txt" ] || cmake_args+=(-G "Unix Makefiles")
cmake -S . -B "$kBuildDir" "${cmake_args[@]}"
cmake --build "$kBuildDir" --target pgrouter -j "$(nproc)"

topology_dir=""
router_pid=""
cleaned=0
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    [ "$cleaned" -eq 0 ] || return 0
    cleaned=1
    trap - INT TERM
    echo
    if [ -n "$router_pid" ] && kill -0 "$router_pid" 2>/dev/null; then
        echo "demo: stopping pgrouter (pid $router_pid)"
        kill -TERM "$router_pid" 2>/dev/null || true
        # pgrouter drains on SIGTERM; with no client left that takes well under a second.
        for _ in $(seq 50); do
            kill -0 "$router_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$router_pid" 2>/dev/null || true
        wait "$router_pid" 2>/dev/null || true
    fi
    if [ -n "$topology_dir" ]; then
        echo "demo: stopping PostgreSQL"
        ./scripts/local_topology.sh stop "$topology_dir" || true
        rm -rf "$topology_dir"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Under /tmp so that the postgres user can reach it when this runs as root.
topology_dir=$(mktemp -d /tmp/pgrouter-demo.XXXXXX)
./scripts/local_topology.sh start "$topology_dir" "$kPgPort"

router_log="$topology_dir/pgrouter.log"
"./$kBuildDir/pgrouter" --config "$kConfig" >"$router_log" 2>&1 &
router_pid=$!

for _ in $(seq 50); do
    port_in_use "$kRouterPort" && break
    if ! kill -0 "$router_pid" 2>/dev/null; then
        break
    fi
    sleep 0.2
done
if ! kill -0 "$router_pid" 2>/dev/null || ! port_in_use "$kRouterPort"; then
    echo "demo: pgrouter did not start listening on 127.0.0.1:$kRouterPort; its log:" >&2
    cat "$router_log" >&2
    exit 1
fi

psql_router() {
    PGPASSWORD=app psql -X -h 127.0.0.1 -p "$kRouterPort" -U app -v ON_ERROR_STOP=1 "$@" app
}

# Every statement says which server ran it: inet_server_port() is 5432 on the primary and 5433 or
# 5434 on a replica, pg_is_in_recovery() is true only on a replica. The demo prints what the
# servers answer; which server that is, is pgrouter's routing decision (config: routing).
echo
echo "demo: (a) a write through pgrouter goes to the primary:"
psql_router -q <<'EOF'
CREATE TABLE IF NOT EXISTS demo (id serial PRIMARY KEY, note text NOT NULL);
INSERT INTO demo (note) VALUES ('written through pgrouter')
    RETURNING id, inet_server_port() AS server_port, pg_is_in_recovery() AS on_replica;
EOF

echo "demo: (b) reads from a client that has not written are spread over the replicas:"
psql_router -q <<'EOF'
SELECT 'read 1' AS read, inet_server_port() AS server_port, pg_is_in_recovery() AS on_replica;
SELECT 'read 2' AS read, inet_server_port() AS server_port, pg_is_in_recovery() AS on_replica;
SELECT 'read 3' AS read, inet_server_port() AS server_port, pg_is_in_recovery() AS on_replica;
SELECT 'read 4' AS read, inet_server_port() AS server_port, pg_is_in_recovery() AS on_replica;
EOF

echo "demo: (c) a read right after a write, on the same connection, sees that write:"
psql_router -q <<'EOF'
INSERT INTO demo (note) VALUES ('read your writes')
    RETURNING id, inet_server_port() AS server_port, pg_is_in_recovery() AS on_replica;
SELECT count(*) AS rows, max(id) AS last_id, inet_server_port() AS server_port,
       pg_is_in_recovery() AS on_replica
    FROM demo;
EOF

# Sharding: database "sharded" splits table accounts by user_id over two shard primaries
# (config/pgrouter.yaml: slots 0-511 on the first, 512-1023 on the second).
psql_sharded() {
    PGPASSWORD=app psql -X -h 127.0.0.1 -p "$kRouterPort" -U app -v ON_ERROR_STOP=1 "$@" sharded
}
psql_shard() {
    local port=$1
    shift
    PGPASSWORD=app psql -X -h 127.0.0.1 -p "$port" -U app -v ON_ERROR_STOP=1 "$@" sharded
}
readonly kDemoKeys=(1 2 3 42 1000)

echo "demo: (d) sharding: a table made through pgrouter exists on every shard; rows written"
echo "      through pgrouter go to the shard of their key (user_id):"
psql_sharded -q <<'EOF'
CREATE TABLE accounts (user_id bigint PRIMARY KEY, name text NOT NULL, balance numeric NOT NULL);
INSERT INTO accounts (user_id, name, balance) VALUES (1, 'alice', 100.00), (2, 'bob', 250.50),
    (3, 'carol', 75.25),
    (42, 'dave', 500.00), (1000, 'erin', 20.00);
EOF

echo "demo: (e) where the rows landed, asked of each shard directly (not through pgrouter):"
for port in "${kShardPorts[@]}"; do
    psql_shard "$port" -q -c "SELECT user_id, name, inet_server_port() AS shard_port
        FROM accounts ORDER BY user_id"
done
echo "demo:     and what 'pgrouter shard-of' computes for each key (the same shards):"
for key in "${kDemoKeys[@]}"; do
    printf '    user_id %-5s ' "$key"
    "./$kBuildDir/pgrouter" shard-of --config "$kConfig" --database sharded --table accounts \
        --key "$key"
done

echo
echo "demo: (f) a read without the key runs on both shards and pgrouter merges the answers:"
psql_sharded -q <<'EOF'
SELECT count(*) AS accounts, sum(balance) AS total, avg(balance) AS average FROM accounts;
SELECT user_id, name, balance FROM accounts ORDER BY balance DESC LIMIT 3;
EOF

cat <<EOF

pgrouter is running on 127.0.0.1:$kRouterPort in front of PostgreSQL 15: the primary on
127.0.0.1:$kPgPort, streaming replicas on ports ${kReplicaPorts[0]} and ${kReplicaPorts[1]}; database
"sharded" on the shards 127.0.0.1:${kShardPorts[0]} (replica $kShardReplicaPort) and 127.0.0.1:${kShardPorts[1]}.
Connect through it with:

    PGPASSWORD=app psql -h 127.0.0.1 -p $kRouterPort -U app app
    PGPASSWORD=app psql -h 127.0.0.1 -p $kRouterPort -U app sharded

pgrouter log: $router_log   (config: $kConfig)
Press Ctrl-C to stop pgrouter and PostgreSQL and remove $topology_dir.
EOF

# `wait` returns early when a trapped signal arrives, so Ctrl-C reaches cleanup at once.
if wait "$router_pid"; then
    router_rc=0
else
    router_rc=$?
fi
router_pid=""
echo "demo: pgrouter exited on its own (status $router_rc); its log:" >&2
tail -n 20 "$router_log" >&2
exit 1
