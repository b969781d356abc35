#!/usr/bin/env bash
# scripts/demo.sh — THE main command in the README. Installs packages, builds Release, starts the
# loopback topology (PostgreSQL 15 primary on 127.0.0.1:5432) and pgrouter on 127.0.0.1:6432 with
# config/pgrouter.yaml, runs psql through pgrouter, then keeps both running until Ctrl-C and
# removes everything it started. Owns that sequence only; the topology is scripts/local_topology.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

readonly kPgPort=5432
readonly kRouterPort=6432
readonly kConfig=config/pgrouter.yaml

./scripts/install_deps.sh

port_in_use() {
    [ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}
# config/pgrouter.yaml names these two ports, so the demo cannot move elsewhere.
for port in "$kPgPort" "$kRouterPort"; do
    if port_in_use "$port"; then
        echo "demo: port $port is already in use on this machine:" >&2
        ss -Hltnp "( sport = :$port )" >&2 || true
        echo "demo: stop that service (e.g. a packaged PostgreSQL or pgbouncer) and run again." >&2
        exit 1
    fi
done

./scripts/build.sh release

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
./build/pgrouter --config "$kConfig" >"$router_log" 2>&1 &
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

echo
echo "demo: who answered, asked through pgrouter:"
psql_router -c "select inet_server_port(), pg_is_in_recovery(), current_user, version()"

echo "demo: a small transaction through pgrouter:"
psql_router <<'EOF'
BEGIN;
CREATE TABLE IF NOT EXISTS demo_counter (id int PRIMARY KEY, hits int NOT NULL);
INSERT INTO demo_counter VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET hits = demo_counter.hits + 1;
SELECT id, hits FROM demo_counter;
COMMIT;
EOF

cat <<EOF

pgrouter is running on 127.0.0.1:$kRouterPort in front of PostgreSQL 15 on 127.0.0.1:$kPgPort.
Connect through it with:

    PGPASSWORD=app psql -h 127.0.0.1 -p $kRouterPort -U app app

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
