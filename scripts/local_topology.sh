#!/usr/bin/env bash
# scripts/local_topology.sh — the ONE definition of the loopback PostgreSQL 15 topology used by the
# README demo (scripts/demo.sh) and by the test suite (a ctest fixture). Owns clusters, roles,
# pg_hba and DIR/topology.env; knows nothing about pgrouter itself.
#
#   local_topology.sh start DIR BASE_PORT   create (first time) and start every node under DIR
#   local_topology.sh stop DIR              fast-stop every node under DIR; safe to call twice
#
# Nodes: "primary" on BASE_PORT (data in DIR/primary, log in DIR/primary.log, sockets in DIR).
# Replicas will be "replicaN" on BASE_PORT+N, made with pg_basebackup from the primary (the
# primary already has wal_level=replica and a replication line in pg_hba); stop handles any node.
#
# Run as root, PostgreSQL runs as the OS user `postgres` (runuser); otherwise as the current user.
# DIR/topology.env holds KEY=VALUE lines with raw, unquoted values (the SCRAM verifier contains
# '$'), so read it with a line parser, not with `source`.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
readonly kPgUser=postgres
readonly kHost=127.0.0.1

die() {
    echo "local_topology: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR BASE_PORT | stop DIR" >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as the user that owns the clusters, from inside DIR so that no tool complains
# about a working directory (e.g. /root) that user cannot enter.
as_pg() {
    if is_root; then
        (cd "$topology_dir" && runuser -u "$kPgUser" -- "$@")
    else
        (cd "$topology_dir" && "$@")
    fi
}

# Stop runs as whoever owns the data directory, so a DIR created by a non-root user can still be
# stopped by root (pg_ctl refuses to run as root).
as_owner_of() {
    local data=$1
    shift
    if is_root; then
        (cd "$topology_dir" && runuser -u "$(stat -c %U "$data")" -- "$@")
    else
        (cd "$topology_dir" && "$@")
    fi
}

port_in_use() {
    [ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

prepare_dir() {
    mkdir -p "$topology_dir"
    topology_dir=$(cd "$topology_dir" && pwd)
    if is_root; then
        id -u "$kPgUser" >/dev/null 2>&1 ||
            die "OS user '$kPgUser' does not exist (run scripts/install_deps.sh)"
        chown "$kPgUser:$kPgUser" "$topology_dir"
    fi
    chmod 700 "$topology_dir"
    # The postgres user needs search (x) permission on every parent: a root-owned `mktemp -d`
    # (mode 700) as a parent is the usual trap. Pass a fresh path under /tmp instead.
    if is_root && ! runuser -u "$kPgUser" -- test -w "$topology_dir" -a -x "$topology_dir"; then
        die "user '$kPgUser' cannot reach $topology_dir: a parent directory is not searchable" \
            "by it. Use a directory under /tmp whose parents are world-searchable."
    fi
    # Unix socket paths are limited to 107 bytes (sun_path).
    local socket="$topology_dir/.s.PGSQL.65535"
    [ "${#socket}" -le 107 ] || die "DIR path too long for a Unix socket: $topology_dir"
}

initdb_locale_args() {
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
        echo "--locale=C.UTF-8"
    else
        echo "--no-locale"
    fi
}

# Settings every node shares. fsync=off: these clusters hold throw-away test data only; losing
# them on a crash is fine and it makes the suite much faster. Never copy this to a real server.
write_node_conf() {
    local data=$1 port=$2
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- scripts/local_topology.sh ---
port = $port
listen_addresses = '$kHost'
unix_socket_directories = '$topology_dir'
max_connections = 300
fsync = off
wal_level = replica
max_wal_senders = 10
EOF
}

# Order matters (first match wins): the per-user lines pin each test role to one server-side
# authentication method, everything else on TCP uses SCRAM.
write_hba() {
    local data=$1
    as_pg tee "$data/pg_hba.conf" >/dev/null <<EOF
# TYPE  DATABASE     USER       ADDRESS       METHOD
local   all          all                      trust
host    all          trustuser  $kHost/32  trust
host    all          plainuser  $kHost/32  password
host    all          md5user    $kHost/32  md5
host    all          all        $kHost/32  scram-sha-256
host    replication  all        $kHost/32  scram-sha-256
EOF
}

node_running() {
    [ -f "$topology_dir/$1/PG_VERSION" ] &&
        as_pg "$PG_BIN/pg_ctl" -D "$topology_dir/$1" status >/dev/null 2>&1
}

# Checked before initdb so that a busy port leaves no half-made node behind.
ensure_port_free() {
    local name=$1 port=$2
    if ! node_running "$name" && port_in_use "$port"; then
        die "port $port is already in use; stop whatever listens there or pick another BASE_PORT"
    fi
}

start_node() {
    local name=$1 port=$2
    local data="$topology_dir/$name"
    node_running "$name" && return 0
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$topology_dir/$name.log" -w -t 60 start \
        >/dev/null; then
        tail -n 20 "$topology_dir/$name.log" >&2 || true
        die "node $name did not start (log: $topology_dir/$name.log)"
    fi
    local tries=0
    until "$PG_BIN/pg_isready" -q -h "$kHost" -p "$port" -d postgres -U "$kPgUser"; do
        tries=$((tries + 1))
        [ "$tries" -lt 60 ] || die "node $name does not accept connections on $kHost:$port"
        sleep 0.5
    done
}

psql_primary() {
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$topology_dir" -p "$primary_port" \
        -U "$kPgUser" "$@"
}

create_roles() {
    psql_primary -d postgres <<'EOF'
ALTER ROLE postgres PASSWORD 'postgres';
CREATE ROLE app LOGIN CREATEDB PASSWORD 'app';
CREATE DATABASE app OWNER app;
CREATE DATABASE app2 OWNER app;
-- md5user's password must be stored as an MD5 hash so the server asks for md5.
SET password_encryption = 'md5';
CREATE ROLE md5user LOGIN PASSWORD 'md5pw';
RESET password_encryption;
CREATE ROLE plainuser LOGIN PASSWORD 'plainpw';
CREATE ROLE trustuser LOGIN;
CREATE ROLE scramonly LOGIN PASSWORD 'scramonly-secret';
GRANT ALL ON DATABASE app, app2 TO md5user, plainuser, trustuser, scramonly;
EOF
    local db
    for db in app app2; do
        psql_primary -d "$db" \
            -c "GRANT ALL ON SCHEMA public TO md5user, plainuser, trustuser, scramonly"
    done
}

start_primary() {
    local data="$topology_dir/primary"
    local marker="$topology_dir/.primary_ready"
    if [ -f "$data/PG_VERSION" ] && [ ! -f "$marker" ]; then
        # A first start that died half-way (initdb or role creation): the node is ours and holds
        # nothing yet, so make it again rather than leave the caller to clean up.
        echo "local_topology: $data was never fully set up; re-creating it" >&2
        stop_node "$data" || true
        rm -rf "$data"
    fi
    ensure_port_free primary "$primary_port"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$data" -U "$kPgUser" --auth-local=trust \
            --auth-host=scram-sha-256 -E UTF8 "$(initdb_locale_args)" --no-instructions \
            >"$topology_dir/primary.initdb.log" 2>&1 ||
            { cat "$topology_dir/primary.initdb.log" >&2; die "initdb failed for primary"; }
        write_node_conf "$data" "$primary_port"
        write_hba "$data"
    fi
    start_node primary "$primary_port"
    if [ ! -f "$marker" ]; then
        create_roles
        : >"$marker"
    fi
}

write_env() {
    local verifier
    verifier=$(psql_primary -d postgres -At \
        -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'scramonly'")
    [[ "$verifier" == SCRAM-SHA-256\$* ]] || die "unexpected verifier for scramonly: $verifier"
    # Written to a temporary file and renamed so a reader never sees half a file.
    local tmp="$topology_dir/topology.env.tmp"
    cat >"$tmp" <<EOF
PGHOST=$kHost
PRIMARY_PORT=$primary_port
PRIMARY_DATA=$topology_dir/primary
PG_BIN=$PG_BIN
TOPOLOGY_DIR=$topology_dir
SCRAMONLY_VERIFIER=$verifier
EOF
    chmod 644 "$tmp"
    mv -f "$tmp" "$topology_dir/topology.env"
}

cmd_start() {
    [ -x "$PG_BIN/postgres" ] ||
        die "PostgreSQL 15 not found in $PG_BIN (run scripts/install_deps.sh)"
    command -v ss >/dev/null || die "ss not found (run scripts/install_deps.sh)"
    if ! [[ "$primary_port" =~ ^[0-9]+$ ]] || [ "$primary_port" -lt 1024 ] ||
        [ "$primary_port" -gt 65000 ]; then
        die "BASE_PORT must be a number in 1024..65000"
    fi
    prepare_dir
    start_primary
    write_env
    echo "local_topology: primary on $kHost:$primary_port (dir $topology_dir)"
}

stop_node() {
    local data=$1
    # pg_ctl status exits 3 when no server runs: nothing to do (second stop, or it crashed).
    as_owner_of "$data" "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 0
    as_owner_of "$data" "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
        { echo "local_topology: could not stop $data" >&2; return 1; }
}

cmd_stop() {
    [ -d "$topology_dir" ] || return 0
    topology_dir=$(cd "$topology_dir" && pwd)
    # Every node directory, replicas first: a primary's fast shutdown waits for its WAL senders.
    local nodes=() data
    for data in "$topology_dir"/*/; do
        data=${data%/}
        [ -f "$data/PG_VERSION" ] || continue
        [ "$(basename "$data")" = primary ] || nodes+=("$data")
    done
    [ -f "$topology_dir/primary/PG_VERSION" ] && nodes+=("$topology_dir/primary")
    local failed=0
    for data in "${nodes[@]}"; do
        stop_node "$data" || failed=1
    done
    return "$failed"
}

[ $# -ge 2 ] || usage
topology_dir=$2
case "$1" in
    start)
        [ $# -eq 3 ] || usage
        primary_port=$3
        cmd_start
        ;;
    stop)
        [ $# -eq 2 ] || usage
        cmd_stop
        ;;
    *) usage ;;
esac
