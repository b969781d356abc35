#!/usr/bin/python3
# bench/shard_instructions.py — the sharding scenarios' cost in instructions (issue 8's "10%
# target"): pgrouter under `valgrind --tool=callgrind`, sharded over shard0 + shard1 vs the same
# statements on one server, a fixed number of transactions. Instruction counts repeat whatever the
# load, which CPU time on 2 shared cores does not (RESULTS.md, "Select-only: routing's cost in
# instructions"). Run as root (PostgreSQL runs as 'postgres'), after bench/run.sh has installed
# the packages once; needs valgrind.
#
#   bench/shard_instructions.py --pgrouter build/pgrouter [--topology-port 55432]
#                               [--transactions 3000] [--clients 4] [--rows 100000]
#
# Per transaction = (total(2T) − total(T)) / (clients × T). Not total(T) − total(1) as in the
# routing section: a sharded session opens server connections on both shards as its keys move,
# so a 1-transaction run has fewer SCRAM logins (PBKDF2, ~tens of M instructions each) than a
# long one; two long runs both have the whole pool. The simple-protocol keyed statements run T/3
# (each costs ~50× more sharded), the scatter aggregate T/10 (each scans every row).
# Writes bench/out/<UTC timestamp>-instructions.md with, per case, the functions whose own
# instructions grew most per transaction (callgrind_annotate of 2T minus T), and keeps the
# callgrind files in bench/out/<timestamp>-callgrind/.
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile

from services import (
    BenchError, Processes, chown_pg, client_env, kBenchDb, kBenchPassword, kBenchUser, kHost,
    kPgBin, kRepo, kShardNodes, log, setup_sharding, start_pgrouter, start_topology,
    stop_replicas, stop_topology,
)

kScripts = {
    "read": "\\set k random(1, {rows})\nSELECT abalance FROM accounts WHERE user_id = :k;\n",
    "update": "\\set k random(1, {rows})\n\\set delta random(-5000, 5000)\n"
              "UPDATE accounts SET abalance = abalance + :delta WHERE user_id = :k;\n",
    "scatter": "SELECT count(*), sum(balance) FROM accounts;\n",
}
# (script, pgbench -M, transactions divisor)
kCases = [
    ("read", "simple", 3), ("read", "prepared", 1),
    ("update", "simple", 3), ("update", "prepared", 1),
    ("scatter", "simple", 10),
]
kTopFunctions = 12


def function_costs(path):
    """{function: own instructions} from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in out.splitlines():
        m = re.match(r"^\s*([\d,]+)\s+(?:\([\d.]+%\)\s+)?(\S.*)$", line)
        if m and ":" in m.group(2) and "PROGRAM TOTALS" not in m.group(2):
            name = re.sub(r"\s+\[[^\]]*\]$", "", m.group(2))
            name = re.sub(r"\(.*", "", name.split(":", 1)[1]) or name
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def per_tx_functions(long_file, short_file, transactions):
    a, b = function_costs(long_file), function_costs(short_file)
    diff = {k: (a.get(k, 0) - b.get(k, 0)) / transactions for k in set(a) | set(b)}
    return sorted(diff.items(), key=lambda kv: -kv[1])[:kTopFunctions]


def callgrind_total(path):
    with open(path) as f:
        for line in f:
            m = re.match(r"^(?:summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(1))
    raise BenchError(f"no totals in {path}")


def one_run(procs, work, binary, topo, sharded, script, protocol, clients, tx, out_file):
    name = f"cg-{'sharded' if sharded else 'unsharded'}-{os.path.basename(out_file)}"
    wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}"]
    target = start_pgrouter(
        procs, work, name, binary, topo.primary, "scram", kBenchPassword, workers=1,
        shards=[topo.ports[n] for n in kShardNodes] if sharded else (), wrapper=wrapper)
    if target.unavailable:
        raise BenchError(target.unavailable)
    argv = [f"{kPgBin}/pgbench", "-n", "-h", kHost, "-p", str(target.port), "-U", kBenchUser,
            "-c", str(clients), "-j", "1", "-M", protocol, "-t", str(tx), "-f", script, kBenchDb]
    result = subprocess.run(argv, env=client_env(), capture_output=True, text=True, timeout=1800)
    procs.stop(target.proc)  # SIGTERM: pgrouter exits, callgrind writes out_file
    done = re.search(r"^number of transactions actually processed: (\d+)", result.stdout, re.M)
    if result.returncode != 0 or not done or int(done.group(1)) != clients * tx:
        raise BenchError(f"pgbench {' '.join(argv[1:])} failed:\n{result.stdout}{result.stderr}")
    return callgrind_total(out_file)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--pgrouter", default="build/pgrouter")
    p.add_argument("--topology-port", type=int, default=0)
    p.add_argument("--transactions", type=int, default=3000, help="per client (T)")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--rows", type=int, default=100000)
    p.add_argument("--out-dir", default=os.path.join(kRepo, "bench", "out"))
    args = p.parse_args()
    binary = args.pgrouter if os.path.isabs(args.pgrouter) else os.path.join(kRepo, args.pgrouter)
    if os.geteuid() != 0:
        sys.exit("run as root: PostgreSQL runs as 'postgres'")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    keep = os.path.join(args.out_dir, f"{stamp}-callgrind")
    os.makedirs(keep, exist_ok=True)
    procs = Processes()
    work = tempfile.mkdtemp(prefix="pgrouter-cg.", dir="/tmp")
    os.chmod(work, 0o700)
    chown_pg(work)
    topology = os.path.join(work, "topology")
    rows = []
    try:
        topo, _ = start_topology(work, 1, args.topology_port)
        counts = setup_sharding(procs, work, topo, args.rows, binary)
        stop_replicas(topo)
        for key, text in kScripts.items():
            with open(os.path.join(work, f"{key}.sql"), "w") as f:
                f.write(text.format(rows=args.rows))
        for script, protocol, divisor in kCases:
            tx = max(2, args.transactions // divisor)
            per = {}
            for sharded in (True, False):
                totals, files = {}, {}
                for n in (2 * tx, tx):
                    tag = f"{script}-{protocol}-{'sharded' if sharded else 'unsharded'}-t{n}"
                    out_file = os.path.join(work, f"callgrind.{tag}")
                    totals[n] = one_run(procs, work, binary, topo, sharded,
                                        os.path.join(work, f"{script}.sql"), protocol,
                                        args.clients, n, out_file)
                    shutil.copy(out_file, keep)
                    files[n] = out_file
                    log(f"{tag}: {totals[n]:,} instructions")
                per[sharded] = ((totals[2 * tx] - totals[tx]) / (args.clients * tx), totals,
                                per_tx_functions(files[2 * tx], files[tx], args.clients * tx))
            rows.append((script, protocol, tx, per))
    finally:
        procs.stop_all()
        stop_topology(topology)
        shutil.rmtree(work, ignore_errors=True)

    out = [f"# pgrouter sharded vs unsharded, instructions per transaction — {stamp}\n",
           f"`{' '.join(sys.argv)}`; pgrouter workers 1; pgbench -n -c {args.clients} -j 1; "
           f"accounts keys 1..{args.rows}, rows per shard {counts}.\n",
           "| Statement | Protocol | T | sharded, instr/tx (total(2T) − total(T)) | "
           "unsharded, instr/tx | sharded / unsharded |",
           "|---|---|---:|---:|---:|---:|"]
    for script, protocol, tx, per in rows:
        (s, st, _), (u, ut, _) = per[True], per[False]
        out.append(f"| {script} | {protocol} | {tx} | {s:,.0f} ({st[2 * tx] / 1e6:.2f} M − "
                   f"{st[tx] / 1e6:.2f} M) | {u:,.0f} ({ut[2 * tx] / 1e6:.2f} M − "
                   f"{ut[tx] / 1e6:.2f} M) | **{s / u:.3f}** |")
    out.append("\nOwn instructions per transaction by function ((2T run − T run) / transactions, "
               f"top {kTopFunctions}):\n")
    for script, protocol, tx, per in rows:
        for sharded in (True, False):
            out.append(f"* {script} {protocol}, {'sharded' if sharded else 'unsharded'}: " +
                       "; ".join(f"`{name}` {cost:,.0f}" for name, cost in per[sharded][2]))
    text = "\n".join(out) + "\n"
    print(text)
    with open(os.path.join(args.out_dir, f"{stamp}-instructions.md"), "w") as f:
        f.write(text)
    log(f"wrote {args.out_dir}/{stamp}-instructions.md; callgrind files in {keep}/")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"shard_instructions: {e}")
