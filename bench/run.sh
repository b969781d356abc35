#!/usr/bin/env bash
# bench/run.sh — the one bench command: installs what is missing, raises the open-file limit and
# runs bench/bench.py (which owns everything else). Must not build pgrouter; pass --pgrouter.
#
#   sudo bench/run.sh [--rounds 3] [--duration 10] [--pgrouter build/pgrouter]
#                     [--pgrouter-workers 1,0] [--pgrouter-baseline PATH]
#                     [--scenarios a,b,c,d,e,g] [--idle-clients 10000] [--idle-kinds login,query]
#                     [--password-form plain|verifier]
#   sudo bench/run.sh --scenarios r1,r2,r3,r4,r5,r6,r7 --idle-clients 0
#                                              routing over a primary + 2 streaming replicas
#                                              (scripts/local_topology.sh) vs unrouted
#   sudo bench/run.sh --scenarios s1,s2,s3,s4,s5 --idle-clients 0 --topology-port 55432
#                                              sharding: keyed reads/writes and a scatter
#                                              aggregate over shard0 + shard1 vs one server
#   sudo bench/shard_instructions.py --pgrouter build/pgrouter
#                                              the same in callgrind instructions per transaction
#   bench/bench.py --help                      every option
#   bench/bench.py --report bench/out/X.json   print a saved run's report again (no root needed)
#
# Prints a markdown report and writes it to bench/out/<UTC timestamp>.md (+ .json with every run).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "bench: run as root (sudo $0 $*): PostgreSQL and PgBouncer are started as 'postgres'" >&2
    exit 1
fi

# postgresql-15 (server + pgbench), postgresql-client-15 (psql), pgbouncer, python3, procps.
./scripts/install_deps.sh

# 10,000 idle clients need a descriptor each in the holder and in the pooler (one pooler and one
# holder at a time, whatever the number of kinds and pgrouter variants). Without
# CAP_SYS_RESOURCE (containers) only the hard limit is reachable; bench.py reports what it got.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

exec /usr/bin/python3 bench/bench.py "$@"
