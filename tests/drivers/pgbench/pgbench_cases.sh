#!/usr/bin/env bash
# tests/drivers/pgbench/pgbench_cases.sh — pgbench as a driver: initialises scale 1 in database
# app2 through the endpoint under test, then runs the built-in TPC-B-like script with each query
# mode (simple, extended, prepared: named statements per connection) and 10 clients. Prints a
# transcript "<case> | <text>" for tests/drivers/run_driver.sh: counts and invariants only, never
# latencies or rates. Exits 1 if anything differs from what PostgreSQL itself gives.
#
# -M prepared runs one thread per client: pgbench 15 prepares with the blocking PQprepare(), so
# with several clients per thread, one client waiting for a pooled server connection stops its
# thread, and with it the thread's other clients, which hold every server connection in the middle
# of their transactions. That deadlock (until query_wait_timeout) would happen with any
# transaction pooler smaller than the client count; it says nothing about pgrouter.
#
#   pgbench_cases.sh PGBENCH   (connection from PGHOST/PGPORT/PGUSER/PGPASSWORD)
set -uo pipefail

pgbench=$1
psql="$(dirname "$pgbench")/psql"
readonly kClients=10 kThreads=2 kTransactions=200
readonly kDatabase=app2

failed=0
out() {
    echo "$1 | $2"
}
# check CASE LABEL GOT WANT
check() {
    if [ "$3" = "$4" ]; then
        out "$1" "$2: $3"
    else
        out "$1" "UNEXPECTED $2: got '$3', PostgreSQL gives '$4'"
        failed=1
    fi
}

query() {
    "$psql" -X -q -At -v ON_ERROR_STOP=1 -d "$kDatabase" -c "$1" 2>&1
}

# pgbench's own words for the counts (its summary also holds latencies and rates: not printed).
summary_value() {
    local pattern=$1 file=$2
    sed -n "s/^$pattern *//p" "$file" | head -n 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/pgbench-cases.XXXXXX")
trap 'rm -rf "$work"' EXIT

# -i: drop/create pgbench_* tables, COPY 100,000 accounts, VACUUM, primary keys.
"$pgbench" -i -s 1 -q "$kDatabase" >"$work/init.log" 2>&1
rc=$?
check init "exit status" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/init log: /' "$work/init.log" >&2
check init "accounts" "$(query 'SELECT count(*) FROM pgbench_accounts')" 100000
check init "branches, tellers" "$(query 'SELECT count(*) FROM pgbench_branches') $(
    query 'SELECT count(*) FROM pgbench_tellers')" "1 10"

want_total=$((kClients * kTransactions))
history_before=$(query 'SELECT count(*) FROM pgbench_history')
for mode in simple extended prepared; do
    threads=$kThreads
    [ "$mode" = prepared ] && threads=$kClients
    "$pgbench" -M "$mode" -c "$kClients" -j "$threads" -t "$kTransactions" -n \
        "$kDatabase" >"$work/$mode.log" 2>&1
    rc=$?
    check "$mode" "exit status" "$rc" 0
    check "$mode" "transactions processed" \
        "$(summary_value 'number of transactions actually processed:' "$work/$mode.log")" \
        "$want_total/$want_total"
    check "$mode" "failed transactions" \
        "$(summary_value 'number of failed transactions:' "$work/$mode.log")" "0 (0.000%)"
    # Every committed TPC-B transaction adds one history row and the same delta to one account,
    # teller and branch: the sums must agree, whatever the random deltas were.
    history_now=$(query 'SELECT count(*) FROM pgbench_history')
    check "$mode" "history rows added" "$((history_now - history_before))" "$want_total"
    history_before=$history_now
    check "$mode" "balances agree" "$(query "SELECT (SELECT sum(abalance) FROM pgbench_accounts)
        = (SELECT sum(delta) FROM pgbench_history) AND (SELECT sum(tbalance) FROM pgbench_tellers)
        = (SELECT sum(delta) FROM pgbench_history) AND (SELECT sum(bbalance) FROM pgbench_branches)
        = (SELECT sum(delta) FROM pgbench_history)")" t
    if [ "$rc" -ne 0 ]; then
        grep -v -e '^progress' -e 'latency' -e '^tps' "$work/$mode.log" | sort | uniq -c |
            sort -rn | head -n 5 | sed "s/^/$mode log: /" >&2
    fi
done

exit "$failed"
