#!/usr/bin/env bash
# tests/drivers/run_driver.sh — runs one real driver's case file twice, directly against
# PostgreSQL and through a pgrouter it starts (transaction mode, pool of 3), and fails unless both
# transcripts are identical and both runs exit 0. Owns that comparison and pgrouter's lifetime;
# what is tested lives in the case files, never here.
#
#   run_driver.sh DRIVER PGROUTER_BINARY TOPOLOGY_ENV
#   DRIVER: psycopg2 | psycopg3 | asyncpg | pgjdbc | node_pg | pgbench
#
# A case file reads PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE and DRV_TAG (unique per run; it
# goes into table, channel and lock names, never into the transcript) and prints lines
# "<case> | <result>" on stdout, deterministic for a given server behaviour. It exits non-zero if a
# result differed from what PostgreSQL itself does. PGROUTER_DRIVERS_KEEP=1 keeps the work dir;
# PGROUTER_BINARY and PGROUTER_TOPOLOGY_ENV override the arguments (as for the integration tests).
set -uo pipefail

readonly kPoolSize=3
# Per-run limits: a proxy that loses a reply must fail the run, not hang ctest until its timeout.
readonly kRunTimeout=240

here=$(cd "$(dirname "$0")" && pwd)

die() {
    echo "run_driver: $*" >&2
    exit 1
}

[ $# -eq 3 ] || die "usage: $0 DRIVER PGROUTER_BINARY TOPOLOGY_ENV"
driver=$1
binary=${PGROUTER_BINARY:-$2}
topology_env=${PGROUTER_TOPOLOGY_ENV:-$3}
[ -x "$binary" ] || die "pgrouter binary not found: $binary"
[ -f "$topology_env" ] || die "topology env not found: $topology_env (is the pg fixture up?)"

# topology.env holds raw KEY=VALUE lines (a SCRAM verifier contains '$'): parse, never source.
env_value() {
    local key=$1 line
    while IFS= read -r line; do
        if [ "${line%%=*}" = "$key" ]; then
            printf '%s\n' "${line#*=}"
            return 0
        fi
    done <"$topology_env"
    return 1
}
pg_host=$(env_value PGHOST) || die "PGHOST missing in $topology_env"
pg_port=$(env_value PRIMARY_PORT) || die "PRIMARY_PORT missing in $topology_env"
pg_bin=$(env_value PG_BIN) || pg_bin=/usr/lib/postgresql/15/bin

# Debian's interpreter on purpose: a python3 earlier on PATH (pyenv) lacks the Debian drivers.
readonly python=/usr/bin/python3
readonly jdbc_jar=/usr/share/java/postgresql.jar

# Process ids keep the names of concurrent runs (ctest -j, two build variants) apart.
readonly tag_base="${driver}_$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/pgrouter-drivers-$driver.XXXXXX") || die "mktemp failed"
router_pid=""
keep_work=${PGROUTER_DRIVERS_KEEP:-0}

drop_run_tables() {
    # Best effort: a case that died half-way leaves its tables; both tags are this run's only.
    PGPASSWORD=app "$pg_bin/psql" -X -q -h "$pg_host" -p "$pg_port" -U app -d app \
        -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<EOF || true
DO \$\$
DECLARE r record;
BEGIN
    FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'
        AND (tablename LIKE 'drv\_${tag_base}\_%') LOOP
        EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', r.tablename);
    END LOOP;
END \$\$;
EOF
}

stop_router() {
    [ -n "$router_pid" ] || return 0
    if kill -0 "$router_pid" 2>/dev/null; then
        kill -TERM "$router_pid" 2>/dev/null
        local _
        for _ in $(seq 1 100); do
            kill -0 "$router_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$router_pid" 2>/dev/null; then
            echo "run_driver: pgrouter did not stop on SIGTERM within 10 s; killing it" >&2
            kill -KILL "$router_pid" 2>/dev/null
        fi
    fi
    wait "$router_pid" 2>/dev/null
    router_status=$?
    router_pid=""
}

# shellcheck disable=SC2317  # called through the EXIT trap
cleanup() {
    stop_router
    drop_run_tables
    if [ "$keep_work" = 1 ]; then
        echo "run_driver: work dir kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port nothing listens on right now (tiny race with other tests; a bind failure is retried).
free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_router() {
    local attempt port
    for attempt in 1 2 3; do
        port=$(free_port) || die "could not pick a free port"
        cat >"$work/pgrouter.yaml" <<EOF
listen: "127.0.0.1:$port"
pool:
  mode: transaction
  size: $kPoolSize
  # Dozens of clients queue for 3 server connections on a loaded 2-core machine: waiting is the
  # point of the test, a 53300 after the default 5 s would only be noise.
  query_wait_timeout_ms: 60000
users:
  - name: app
    auth: scram-sha-256
    password: "app"
    server_password: "app"
databases:
  app:
    dbname: app
    primary: "$pg_host:$pg_port"
  app2:
    dbname: app2
    primary: "$pg_host:$pg_port"
limits:
  shutdown_timeout_ms: 5000
log:
  level: warn
  connections: false
EOF
        "$binary" --config "$work/pgrouter.yaml" >>"$work/pgrouter.log" 2>&1 &
        router_pid=$!
        local _
        for _ in $(seq 1 300); do
            if port_open "$port"; then
                router_port=$port
                return 0
            fi
            kill -0 "$router_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop_router
        echo "run_driver: pgrouter did not listen on $port (attempt $attempt)" >&2
    done
    tail -n 30 "$work/pgrouter.log" >&2
    die "pgrouter did not start"
}

# Driver-specific one-time preparation (outside the two timed runs) and the command of one run.
prepare_driver() {
    case "$driver" in
        psycopg2 | psycopg3 | asyncpg)
            [ -x "$python" ] || die "$python not found (scripts/install_deps.sh --drivers)"
            ;;
        pgjdbc)
            [ -f "$jdbc_jar" ] || die "$jdbc_jar not found (scripts/install_deps.sh --drivers)"
            command -v javac >/dev/null || die "javac not found (scripts/install_deps.sh --drivers)"
            mkdir -p "$work/classes"
            javac -Xlint:all -Werror -d "$work/classes" -cp "$jdbc_jar" \
                "$here/java/PgjdbcCases.java" || die "javac failed"
            ;;
        node_pg)
            command -v npm >/dev/null || die "npm not found (scripts/install_deps.sh --drivers)"
            # The exact pg version is pinned by the committed package-lock.json. The system CA
            # bundle is trusted too (Node.js ships its own list, which lacks a proxy's CA).
            local ca=()
            [ -f /etc/ssl/certs/ca-certificates.crt ] && ca=(--cafile=/etc/ssl/certs/ca-certificates.crt)
            if ! (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error "${ca[@]}") \
                >"$work/npm.log" 2>&1; then
                if [ -d /usr/share/nodejs/pg ]; then
                    # Debian's node-pg (scripts/install_deps.sh --drivers installs it where it can).
                    echo "run_driver: npm registry unreachable; using Debian's node-pg" >&2
                    rm -rf "$here/node/node_modules"
                    export NODE_PATH=/usr/share/nodejs
                else
                    cat "$work/npm.log" >&2
                    die "npm ci failed and Debian's node-pg is not installed"
                fi
            fi
            ;;
        pgbench)
            [ -x "$pg_bin/pgbench" ] || die "$pg_bin/pgbench not found"
            ;;
        *) die "unknown driver '$driver'" ;;
    esac
}

# Sets the caller's array `cmd` to the command of one run (paths may hold spaces).
driver_command() {
    case "$driver" in
        psycopg2) cmd=("$python" "$here/python/psycopg2_cases.py") ;;
        psycopg3) cmd=("$python" "$here/python/psycopg3_cases.py") ;;
        asyncpg) cmd=("$python" "$here/python/asyncpg_cases.py") ;;
        pgjdbc) cmd=(java -cp "$work/classes:$jdbc_jar" PgjdbcCases) ;;
        node_pg) cmd=(node "$here/node/pg_cases.js") ;;
        pgbench) cmd=("$here/pgbench/pgbench_cases.sh" "$pg_bin/pgbench") ;;
    esac
}

# run_once MODE PORT: one full run of the case file; transcript in $work/MODE.txt.
run_once() {
    local mode=$1 port=$2
    local -a cmd
    driver_command
    echo "=== run_driver: $driver $mode (127.0.0.1:$port) ==="
    PGHOST=$pg_host PGPORT=$port PGUSER=app PGPASSWORD=app PGDATABASE=app \
        DRV_TAG="${tag_base}_${mode}" PYTHONDONTWRITEBYTECODE=1 \
        timeout -k 10 "$kRunTimeout" "${cmd[@]}" >"$work/$mode.txt" 2>"$work/$mode.err"
    local rc=$?
    [ "$rc" -eq 124 ] && echo "run_driver: $driver $mode: killed after ${kRunTimeout}s" >&2
    return "$rc"
}

case_names() {
    sed -n 's/^\([^ |]*\) |.*$/\1/p' "$work/direct.txt" "$work/routed.txt" | awk '!seen[$0]++'
}

# One line per case: PASS when its lines are the same in both transcripts.
summarise() {
    local name direct_lines routed_lines
    while IFS= read -r name; do
        direct_lines=$(awk -v n="$name | " 'index($0, n) == 1' "$work/direct.txt")
        routed_lines=$(awk -v n="$name | " 'index($0, n) == 1' "$work/routed.txt")
        if [ "$direct_lines" = "$routed_lines" ]; then
            echo "  PASS $driver/$name"
        else
            echo "  FAIL $driver/$name"
        fi
    done < <(case_names)
}

prepare_driver
drop_run_tables

run_once direct "$pg_port"
direct_rc=$?
start_router
run_once routed "$router_port"
routed_rc=$?
router_alive=1
kill -0 "$router_pid" 2>/dev/null || router_alive=0
router_status=0
stop_router

failed=0
echo "=== run_driver: $driver: per-case results (direct vs pgrouter) ==="
summarise
if ! diff -u --label "direct PostgreSQL" --label "through pgrouter" \
    "$work/direct.txt" "$work/routed.txt" >"$work/transcript.diff"; then
    echo "=== run_driver: $driver: transcripts differ ==="
    cat "$work/transcript.diff"
    failed=1
fi
if [ "$direct_rc" -ne 0 ]; then
    echo "run_driver: $driver: direct run exited $direct_rc (the case file is wrong or PostgreSQL" \
        "changed); stderr:"
    tail -n 40 "$work/direct.err"
    failed=1
fi
if [ "$routed_rc" -ne 0 ]; then
    echo "run_driver: $driver: routed run exited $routed_rc; stderr (last 40 lines):"
    tail -n 40 "$work/routed.err"
    failed=1
fi
if [ "$router_alive" -eq 0 ]; then
    echo "run_driver: pgrouter died during the routed run"
    failed=1
elif [ "$router_status" -ne 0 ]; then
    echo "run_driver: pgrouter exited $router_status after SIGTERM"
    failed=1
fi
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$work/pgrouter.log"; then
    echo "run_driver: sanitizer report in pgrouter's log"
    failed=1
fi
if [ "$failed" -ne 0 ] && [ -s "$work/pgrouter.log" ]; then
    echo "=== run_driver: pgrouter log (last 40 lines) ==="
    tail -n 40 "$work/pgrouter.log"
fi
if [ "$failed" -eq 0 ]; then
    echo "run_driver: $driver: direct and routed transcripts are identical"
fi
exit "$failed"
