#!/usr/bin/env bash
# scripts/local_topology.sh — the ONE definition of the loopback PostgreSQL 15 topology used by the
# README demo (scripts/demo.sh) and by the test suite (a ctest fixture). Owns clusters, roles,
# pg_hba and DIR/topology.env; knows nothing about pgrouter itself.
#
#   local_topology.sh start DIR BASE_PORT    create (first time) and start every node under DIR;
#                                            returns once every replica streams from its primary
#   local_topology.sh stop DIR               fast-stop every node under DIR; safe to call twice
#   local_topology.sh stop-node DIR NAME     fast-stop one node (NAME: see below)
#   local_topology.sh start-node DIR NAME    start one stopped node; a replica is waited for
#                                            until it streams again (if its primary is up)
#   local_topology.sh rebuild-replica DIR NAME
#                                            throw a replica away and make it again from its
#                                            primary (after a promotion test, say)
#   local_topology.sh reset DIR BASE_PORT    stop everything, delete every node and `start` afresh
#
# Nodes (name: port): three primaries, each its own cluster, and their streaming replicas.
#   primary  BASE_PORT     the main primary (databases app, app2)
#   replica1 BASE_PORT+1   streaming replica of primary
#   replica2 BASE_PORT+2   streaming replica of primary
#   shard0   BASE_PORT+3   first shard of the sharded test database (database "sharded")
#   shard0r  BASE_PORT+4   streaming replica of shard0
#   shard1   BASE_PORT+5   second shard (database "sharded"), no replica
# Every primary gets the same roles, passwords, databases app/app2 and pg_hba; the shards also get
# database "sharded", and scramonly's SCRAM verifier on the shards is the main primary's (so one
# verifier in pgrouter's config passes through to any node). Each replica is made with
# pg_basebackup -R from its primary and streams through its own physical replication slot (named
# after it). Data in DIR/NAME, log in DIR/NAME.log, every node's Unix socket in DIR.
#
# `start` heals what a test may have left behind: stopped nodes are started, a replica that was
# never fully made, or that was promoted (no standby.signal), is made again from the primary. So
# a test that promotes a replica can leave the repair to the next `start` or `rebuild-replica`;
# `reset` is for when a primary itself is in doubt (it costs three initdbs and three base backups).
# Independent steps (the three initdbs, the three base backups) run in parallel.
#
# Run as root, PostgreSQL runs as the OS user `postgres` (runuser); otherwise as the current user.
# DIR/topology.env holds KEY=VALUE lines with raw, unquoted values (the SCRAM verifier contains
# '$'), so read it with a line parser, not with `source`.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
readonly kPgUser=postgres
readonly kHost=127.0.0.1
readonly kPrimaries=(primary shard0 shard1)
readonly kReplicas=(replica1 replica2 shard0r)
# Databases that only the shard primaries hold (the tests' sharded YAML: tests/support).
readonly kShardDatabases=(sharded)
# How long `start` waits for the replicas to reach state 'streaming' on their primary.
readonly kStreamingWaitSeconds=60

die() {
    echo "local_topology: $*" >&2
    exit 1
}

usage() {
    cat >&2 <<EOF
usage: $0 start DIR BASE_PORT | stop DIR | reset DIR BASE_PORT
       $0 stop-node DIR NAME | start-node DIR NAME | rebuild-replica DIR NAME
       (NAME: ${kPrimaries[*]} ${kReplicas[*]})
EOF
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
# A replica's postgresql.conf is the primary's copy with this block appended once more (the last
# setting wins), so its own port and name override the primary's.
# The standby-side settings are harmless on the primary: hot_standby_feedback keeps the primary
# from vacuuming rows a replica's query still reads (no "canceling statement due to conflict"
# in tests), a 1 s status interval keeps pg_stat_replication's replay_lsn fresh, and a 1 s retry
# interval brings a replica back soon after a test restarts the primary.
write_node_conf() {
    local data=$1 port=$2 name=$3
    as_pg tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- scripts/local_topology.sh ---
port = $port
cluster_name = '$name'
listen_addresses = '$kHost'
unix_socket_directories = '$topology_dir'
max_connections = 300
fsync = off
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
wal_retrieve_retry_interval = 1s
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

# psql as the superuser on node NAME (over its Unix socket), stopping at the first error.
psql_node() {
    local name=$1
    shift
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$topology_dir" -p "$(node_port "$name")" \
        -U "$kPgUser" "$@"
}

psql_primary() { psql_node primary "$@"; }

is_primary() {
    local primary
    for primary in "${kPrimaries[@]}"; do
        [ "$1" = "$primary" ] && return 0
    done
    return 1
}

is_replica() {
    local replica
    for replica in "${kReplicas[@]}"; do
        [ "$1" = "$replica" ] && return 0
    done
    return 1
}

is_node() { is_primary "$1" || is_replica "$1"; }

# The primary a replica streams from.
primary_of() {
    case "$1" in
        replica1 | replica2) echo primary ;;
        shard0r) echo shard0 ;;
        *) die "primary_of: $1 is not a replica" ;;
    esac
}

# The replicas of one primary (none for shard1).
replicas_of() {
    local replica out=()
    for replica in "${kReplicas[@]}"; do
        [ "$(primary_of "$replica")" = "$1" ] && out+=("$replica")
    done
    echo "${out[*]}"
}

node_port() {
    case "$1" in
        primary) echo "$primary_port" ;;
        replica1) echo $((primary_port + 1)) ;;
        replica2) echo $((primary_port + 2)) ;;
        shard0) echo $((primary_port + 3)) ;;
        shard0r) echo $((primary_port + 4)) ;;
        shard1) echo $((primary_port + 5)) ;;
        *) die "node_port: unknown node $1" ;;
    esac
}

# Roles and databases of every primary. The verifier, when given, becomes scramonly's stored
# password (PostgreSQL stores a SCRAM verifier given as the password as it is): the shards take
# the main primary's, so the one SCRAMONLY_VERIFIER of topology.env is valid on every node.
create_roles() {
    local name=$1 verifier=${2:-scramonly-secret}
    psql_node "$name" -d postgres <<EOF
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
CREATE ROLE scramonly LOGIN PASSWORD '$verifier';
GRANT ALL ON DATABASE app, app2 TO md5user, plainuser, trustuser, scramonly;
EOF
    local db dbs=(app app2)
    if [ "$name" != primary ]; then
        for db in "${kShardDatabases[@]}"; do
            psql_node "$name" -d postgres -c "CREATE DATABASE $db OWNER app" \
                -c "GRANT ALL ON DATABASE $db TO md5user, plainuser, trustuser, scramonly"
            dbs+=("$db")
        done
    fi
    for db in "${dbs[@]}"; do
        psql_node "$name" -d "$db" \
            -c "GRANT ALL ON SCHEMA public TO md5user, plainuser, trustuser, scramonly"
    done
}

scramonly_verifier() {
    psql_primary -d postgres -At \
        -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'scramonly'"
}

# initdb (first time) and start of one primary; its roles come later (create_roles), because the
# shards take the main primary's verifier. Runs in parallel with the other primaries' (a
# subshell: `die` ends only this one, and the caller sees its status).
init_and_start_primary() {
    local name=$1 port data marker
    port=$(node_port "$name")
    data="$topology_dir/$name"
    marker="$topology_dir/.${name}_ready"
    if [ -f "$data/PG_VERSION" ] && [ ! -f "$marker" ]; then
        # A first start that died half-way (initdb or role creation): the node is ours and holds
        # nothing yet, so make it again rather than leave the caller to clean up.
        echo "local_topology: $data was never fully set up; re-creating it" >&2
        stop_node "$data" || true
        rm -rf "$data"
    fi
    ensure_port_free "$name" "$port"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$data" -U "$kPgUser" --auth-local=trust \
            --auth-host=scram-sha-256 -E UTF8 "$(initdb_locale_args)" --no-instructions \
            >"$topology_dir/$name.initdb.log" 2>&1 ||
            { cat "$topology_dir/$name.initdb.log" >&2; die "initdb failed for $name"; }
        write_node_conf "$data" "$port" "$name"
        write_hba "$data"
    fi
    start_node "$name" "$port"
}

# Roles of every primary that has none yet: the main primary first (its verifier goes to the
# shards).
create_missing_roles() {
    local name verifier=""
    for name in "${kPrimaries[@]}"; do
        [ ! -f "$topology_dir/.${name}_ready" ] || continue
        if [ "$name" = primary ]; then
            create_roles primary
        else
            [ -n "$verifier" ] || verifier=$(scramonly_verifier)
            create_roles "$name" "$verifier"
        fi
        : >"$topology_dir/.${name}_ready"
    done
}

# Runs each argument (a command line in one word, split on spaces: function and node name) as a
# background job and waits for all of them; fails when any failed, after all have ended.
in_parallel() {
    local pids=() job pid failed=0
    for job in "$@"; do
        # shellcheck disable=SC2086  # split on purpose: "function node"
        (set -e; $job) &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
    [ "$failed" -eq 0 ] || die "a parallel step failed (see above): $*"
}

# The slot that keeps a primary's WAL for one replica (named after it). Made afresh with each
# copy of the replica: an old slot would pin WAL from where the previous copy stopped.
recreate_slot() {
    local name=$1 primary=$2 tries=0
    # A replica stopped a moment ago may still have its WAL sender (the slot stays active until
    # that process notices the closed connection).
    until [ "$(psql_node "$primary" -d postgres -At -c "SELECT count(*) FROM pg_replication_slots
                WHERE slot_name = '$name' AND active")" -eq 0 ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 50 ] || die "replication slot $name is still in use on $primary"
        sleep 0.2
    done
    psql_node "$primary" -d postgres -At >/dev/null <<EOF
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$name';
SELECT pg_create_physical_replication_slot('$name', true);
EOF
}

# A physical copy of the running primary PRIMARY, set up as its streaming standby (-R writes
# standby.signal and primary_conninfo, -S primary_slot_name). -c fast: do not wait for the next
# scheduled checkpoint. Over TCP as postgres/postgres because pg_hba's replication line is TCP.
make_replica() {
    local name=$1 primary=$2 port data log
    port=$(node_port "$name")
    data="$topology_dir/$name"
    log="$topology_dir/$name.basebackup.log"
    recreate_slot "$name" "$primary"
    if ! as_pg env PGPASSWORD=postgres "$PG_BIN/pg_basebackup" -h "$kHost" \
        -p "$(node_port "$primary")" -U "$kPgUser" --no-password -D "$data" -R -S "$name" \
        -X stream -c fast >"$log" 2>&1; then
        cat "$log" >&2
        die "pg_basebackup failed for $name"
    fi
    write_node_conf "$data" "$port" "$name"
}

# Starts one replica, first (re)making it when it is missing, was never fully made (no marker:
# pg_basebackup or the config step died) or is no longer a standby (a test promoted it).
start_replica() {
    local name=$1 port data marker
    port=$(node_port "$name")
    data="$topology_dir/$name"
    marker="$topology_dir/.${name}_ready"
    if [ -e "$data" ] && { [ ! -f "$marker" ] || [ ! -f "$data/standby.signal" ]; }; then
        if [ -f "$marker" ]; then
            echo "local_topology: $name is no longer a standby (promoted?); re-making it" >&2
        else
            echo "local_topology: $data was never fully set up; re-making it" >&2
        fi
        [ -f "$data/PG_VERSION" ] && { stop_node "$data" || true; }
        rm -rf "$data"
        rm -f "$marker"
    fi
    ensure_port_free "$name" "$port"
    if [ ! -e "$data" ]; then
        make_replica "$name" "$(primary_of "$name")"
        : >"$marker"
    fi
    start_node "$name" "$port"
}

# Waits until every named replica of PRIMARY is in state 'streaming' there and has replayed the
# WAL PRIMARY had written when the wait began, so a caller that goes on to read from a replica
# sees everything `start` did. The walreceiver reports under cluster_name (write_node_conf).
wait_streaming() {
    local primary=$1
    shift
    local names=("$@") list lsn got=0 tries=0
    list=$(printf "'%s'," "${names[@]}")
    list=${list%,}
    lsn=$(psql_node "$primary" -d postgres -At -c "SELECT pg_current_wal_lsn()")
    while :; do
        got=$(psql_node "$primary" -d postgres -At -c "SELECT count(*) FROM pg_stat_replication
            WHERE application_name IN ($list) AND state = 'streaming' AND replay_lsn >= '$lsn'")
        [ "$got" -eq "${#names[@]}" ] && return 0
        tries=$((tries + 1))
        [ "$tries" -lt $((kStreamingWaitSeconds * 5)) ] || break
        sleep 0.2
    done
    echo "local_topology: pg_stat_replication on $primary:" >&2
    psql_node "$primary" -d postgres -c "SELECT application_name, state, sent_lsn, replay_lsn
        FROM pg_stat_replication" >&2 || true
    local name
    for name in "${names[@]}"; do
        echo "--- $topology_dir/$name.log (tail)" >&2
        tail -n 10 "$topology_dir/$name.log" >&2 || true
    done
    die "after ${kStreamingWaitSeconds}s, $got of ${#names[@]} replicas (${names[*]}) stream" \
        "from $primary (caught up to $lsn)"
}

# Waits for the given replicas, each on its own primary.
wait_streaming_all() {
    local primary replica group
    for primary in "${kPrimaries[@]}"; do
        group=()
        for replica in "$@"; do
            [ "$(primary_of "$replica")" = "$primary" ] && group+=("$replica")
        done
        [ "${#group[@]}" -eq 0 ] || wait_streaming "$primary" "${group[@]}"
    done
}

write_env() {
    local verifier
    verifier=$(scramonly_verifier)
    [[ "$verifier" == SCRAM-SHA-256\$* ]] || die "unexpected verifier for scramonly: $verifier"
    # Written to a temporary file and renamed so a reader never sees half a file.
    local tmp="$topology_dir/topology.env.tmp"
    cat >"$tmp" <<EOF
PGHOST=$kHost
PRIMARY_PORT=$primary_port
PRIMARY_DATA=$topology_dir/primary
REPLICA1_PORT=$(node_port replica1)
REPLICA1_DATA=$topology_dir/replica1
REPLICA2_PORT=$(node_port replica2)
REPLICA2_DATA=$topology_dir/replica2
SHARD0_PORT=$(node_port shard0)
SHARD0_DATA=$topology_dir/shard0
SHARD0_REPLICA_PORT=$(node_port shard0r)
SHARD0_REPLICA_DATA=$topology_dir/shard0r
SHARD1_PORT=$(node_port shard1)
SHARD1_DATA=$topology_dir/shard1
PG_BIN=$PG_BIN
TOPOLOGY_DIR=$topology_dir
SCRAMONLY_VERIFIER=$verifier
EOF
    chmod 644 "$tmp"
    mv -f "$tmp" "$topology_dir/topology.env"
}

check_tools_and_base_port() {
    [ -x "$PG_BIN/postgres" ] ||
        die "PostgreSQL 15 not found in $PG_BIN (run scripts/install_deps.sh)"
    command -v ss >/dev/null || die "ss not found (run scripts/install_deps.sh)"
    if ! [[ "$primary_port" =~ ^[0-9]+$ ]] || [ "$primary_port" -lt 1024 ] ||
        [ "$primary_port" -gt 65000 ]; then
        die "BASE_PORT must be a number in 1024..65000"
    fi
}

cmd_start() {
    check_tools_and_base_port
    prepare_dir
    # Every port first, so that a busy one leaves no half-made node behind.
    local name jobs=()
    for name in "${kPrimaries[@]}" "${kReplicas[@]}"; do
        ensure_port_free "$name" "$(node_port "$name")"
    done
    for name in "${kPrimaries[@]}"; do
        jobs+=("init_and_start_primary $name")
    done
    in_parallel "${jobs[@]}"
    create_missing_roles
    jobs=()
    for name in "${kReplicas[@]}"; do
        jobs+=("start_replica $name")
    done
    in_parallel "${jobs[@]}"
    wait_streaming_all "${kReplicas[@]}"
    # Last: topology.env appearing means the whole topology is up.
    write_env
    echo "local_topology: primary on $kHost:$primary_port, replicas on" \
        "$kHost:$(node_port replica1) and $kHost:$(node_port replica2); shard0 on" \
        "$kHost:$(node_port shard0) (replica shard0r on $kHost:$(node_port shard0r)), shard1 on" \
        "$kHost:$(node_port shard1) (dir $topology_dir)"
}

stop_node() {
    local data=$1
    # pg_ctl status exits 3 when no server runs: nothing to do (second stop, or it crashed).
    as_owner_of "$data" "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 0
    as_owner_of "$data" "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null ||
        { echo "local_topology: could not stop $data" >&2; return 1; }
}

# Stops every data directory given, all at once; fails when any could not be stopped.
stop_in_parallel() {
    local data pids=() pid failed=0
    for data in "$@"; do
        stop_node "$data" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || failed=1
    done
    return "$failed"
}

cmd_stop() {
    [ -d "$topology_dir" ] || return 0
    topology_dir=$(cd "$topology_dir" && pwd)
    # Every node directory, standbys first (in parallel), then the rest (in parallel): a
    # primary's fast shutdown waits for its WAL senders.
    local standbys=() others=() data
    for data in "$topology_dir"/*/; do
        data=${data%/}
        [ -f "$data/PG_VERSION" ] || continue
        if [ -f "$data/standby.signal" ]; then
            standbys+=("$data")
        else
            others+=("$data")
        fi
    done
    local failed=0
    stop_in_parallel "${standbys[@]}" || failed=1
    stop_in_parallel "${others[@]}" || failed=1
    return "$failed"
}

# For the per-node commands: DIR must hold a topology `start` made; the ports come from its
# topology.env (values are plain numbers, so grep is enough here).
load_existing() {
    local name=$1
    is_node "$name" ||
        die "unknown node '$name' (expected one of: ${kPrimaries[*]} ${kReplicas[*]})"
    [ -f "$topology_dir/topology.env" ] ||
        die "$topology_dir/topology.env not found: run '$0 start $topology_dir BASE_PORT' first"
    topology_dir=$(cd "$topology_dir" && pwd)
    primary_port=$(sed -n 's/^PRIMARY_PORT=//p' "$topology_dir/topology.env")
    [[ "$primary_port" =~ ^[0-9]+$ ]] || die "no PRIMARY_PORT in $topology_dir/topology.env"
    # A topology.env from before the shards existed: `start` adds them (and a new topology.env).
    if [[ "$name" == shard* ]]; then
        grep -q '^SHARD0_PORT=' "$topology_dir/topology.env" ||
            die "$topology_dir has no shard nodes yet: run '$0 start $topology_dir" \
                "$primary_port' first"
    fi
}

cmd_stop_node() {
    local name=$1
    load_existing "$name"
    [ -f "$topology_dir/$name/PG_VERSION" ] || die "no node $name in $topology_dir"
    stop_node "$topology_dir/$name"
}

# A standby is waited for until it streams again; a primary, until every running standby of it
# streams again (their walreceivers reconnect within wal_retrieve_retry_interval).
cmd_start_node() {
    local name=$1
    load_existing "$name"
    [ -f "$topology_dir/$name/PG_VERSION" ] || die "no node $name in $topology_dir"
    start_node "$name" "$(node_port "$name")"
    local primary=$name
    is_replica "$name" && primary=$(primary_of "$name")
    node_running "$primary" || return 0
    local standbys=() replica
    for replica in $(replicas_of "$primary"); do
        if { [ "$name" = "$primary" ] || [ "$name" = "$replica" ]; } &&
            node_running "$replica" && [ -f "$topology_dir/$replica/standby.signal" ]; then
            standbys+=("$replica")
        fi
    done
    [ "${#standbys[@]}" -eq 0 ] || wait_streaming "$primary" "${standbys[@]}"
}

cmd_rebuild_replica() {
    local name=$1 primary
    load_existing "$name"
    is_replica "$name" || die "rebuild-replica takes a replica name (${kReplicas[*]})"
    primary=$(primary_of "$name")
    node_running "$primary" || die "$primary is not running; start it first (start-node)"
    [ -f "$topology_dir/$name/PG_VERSION" ] && stop_node "$topology_dir/$name"
    rm -rf "${topology_dir:?}/$name"
    rm -f "$topology_dir/.${name}_ready"
    start_replica "$name"
    wait_streaming "$primary" "$name"
}

# Deletes only what this script made under DIR (a caller may keep other files there, e.g. the
# demo's pgrouter.log), then starts from nothing.
cmd_reset() {
    check_tools_and_base_port
    if [ -d "$topology_dir" ]; then
        cmd_stop || die "could not stop every node under $topology_dir; nothing deleted"
        local name
        for name in "${kPrimaries[@]}" "${kReplicas[@]}"; do
            rm -rf "${topology_dir:?}/$name"
            rm -f "$topology_dir/.${name}_ready" "$topology_dir/$name.log" \
                "$topology_dir/$name.initdb.log" "$topology_dir/$name.basebackup.log"
        done
        rm -f "$topology_dir/topology.env" "$topology_dir/topology.env.tmp"
    fi
    cmd_start
}

[ $# -ge 2 ] || usage
topology_dir=$2
case "$1" in
    start | reset)
        [ $# -eq 3 ] || usage
        primary_port=$3
        if [ "$1" = start ]; then cmd_start; else cmd_reset; fi
        ;;
    stop)
        [ $# -eq 2 ] || usage
        cmd_stop
        ;;
    stop-node | start-node | rebuild-replica)
        [ $# -eq 3 ] || usage
        "cmd_${1//-/_}" "$3"
        ;;
    *) usage ;;
esac
