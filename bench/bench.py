#!/usr/bin/python3
# bench/bench.py — the side-by-side benchmark: direct PostgreSQL 15 vs PgBouncer vs pgrouter (one or
# more variants: worker counts, a baseline binary), idle memory per client, and pgrouter routed over
# a primary + 2 streaming replicas vs unrouted (the r* scenarios). Owns the scenarios, the round
# order and the output files; starting servers is services.py, measuring is measure.py,
# formatting is report.py. Run it through bench/run.sh (root, packages, open-file limit).
import argparse
import datetime
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

import time

from measure import (
    IDLE_KINDS, idle_memory, kStatsSettleSeconds, run_pgbench, server_counters, server_work,
    summarize,
)
from report import render_report
from services import (
    BenchError, Processes, Target, check_target, chown_pg, kBenchPassword, kClkTck, kMaxClientConn,
    kPgBin, kPgSettings, kPoolSize, kRepo, kShardNodes, kTrustUser, log, setup_database,
    setup_sharding, start_pgbouncer, start_pgrouter, start_postgres, start_topology,
    stop_replicas, stop_topology,
)

kWantedNoFile = 65536
k16Clients = ["-c", "16", "-j", "2"]


class Scenario:
    def __init__(self, key, title, args, auth="scram", direct=True, direct_skip_reason="",
                 default=True, login_allowance=0, group=None, targets=(), scripts=(),
                 write_script=""):
        self.key = key
        self.title = title
        self.args = args
        self.auth = auth  # "scram": user bench, SCRAM everywhere; "trust": user bench_trust
        # The targets it runs on: "scram"/"trust" (single PostgreSQL) or "topology" (primary +
        # 2 replicas); `targets` narrows that group to some keys (all of it when empty).
        self.group = group or auth
        self.targets = targets
        self.scripts = scripts  # pgbench -f files (kScripts keys) with their weights
        self.write_script = write_script  # the script whose transactions are the writes
        self.script_dir = ""
        self.direct = direct
        self.direct_skip_reason = direct_skip_reason
        self.default = default
        # pgbench's -T includes the logins; 1,000 SCRAM logins take several seconds here, so this
        # scenario runs that much longer to keep about --duration seconds of transactions.
        self.login_allowance = login_allowance
        self.churn = "-C" in args  # a login per transaction: there is no steady state to isolate
        self.clients = int(args[args.index("-c") + 1])

    def pgbench_args(self):
        """The -f files are in script_dir, which main() sets once it has written them."""
        files = [f"{os.path.join(self.script_dir, name)}@{weight}"
                 for name, weight in self.scripts]
        return [arg for f in files for arg in ("-f", f)] + self.args

    def describe(self):
        files = [f"{name}@{weight}" for name, weight in self.scripts]
        return " ".join([arg for f in files for arg in ("-f", f)] + self.args)


# The routing scenarios' pgbench scripts; {accounts} = 100,000 × --scale.
kScripts = {
    "read.sql": "\\set aid random(1, {accounts})\n"
                "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n",
    "update.sql": "\\set aid random(1, {accounts})\n"
                  "\\set delta random(-5000, 5000)\n"
                  "UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n",
    # Sharding (s*): table accounts of {rows} rows (--shard-rows), keyed by user_id.
    "shard_read.sql": "\\set k random(1, {rows})\n"
                      "SELECT abalance FROM accounts WHERE user_id = :k;\n",
    "shard_update.sql": "\\set k random(1, {rows})\n"
                        "\\set delta random(-5000, 5000)\n"
                        "UPDATE accounts SET abalance = abalance + :delta WHERE user_id = :k;\n",
    "shard_scatter.sql": "SELECT count(*), sum(balance) FROM accounts;\n",
}

# Targets on the primary + 2 replicas: the same pgrouter binary with the replicas (routing on,
# pgrouter's routing defaults: consistency window, or lsn) and without them (primary only).
kRouted, kRoutedLsn, kUnrouted, kBouncer = (
    "pgrouter-routed", "pgrouter-routed-lsn", "pgrouter-unrouted", "pgbouncer")
kTopologyLabels = {
    kRouted: "pgrouter routed (window)",
    kRoutedLsn: "pgrouter routed (lsn)",
    kUnrouted: "pgrouter unrouted",
    kBouncer: "PgBouncer (primary)",
}
# Targets of the sharding scenarios: the same pgrouter binary with database bench sharded over
# shard0 + shard1 (primaries only: no replica, so no routing inside a shard), and with bench on the
# main primary alone (no replicas: every statement to it).
kSharded, kUnsharded = "pgrouter-sharded", "pgrouter-unsharded"
kTopologyLabels.update({
    kSharded: "pgrouter sharded (2 shards)",
    kUnsharded: "pgrouter unsharded (1 server)",
})
kShardTargets = (kSharded, kUnsharded)
kShardArgs = ["-n", *k16Clients]  # -n: no pgbench tables on the shards to VACUUM

SCENARIOS = [
    Scenario("a", "select-only, simple protocol", ["-S", "-M", "simple", *k16Clients]),
    Scenario("b", "select-only, extended protocol", ["-S", "-M", "extended", *k16Clients]),
    Scenario("c", "select-only, new connection per transaction", ["-S", "-C", *k16Clients]),
    Scenario("d", "TPC-B-like (pgbench default script)", k16Clients),
    Scenario(
        "e",
        "select-only, 1,000 clients on 20 server connections",
        ["-S", "-c", "1000", "-j", "2"],
        direct=False,
        direct_skip_reason="max_connections is 300, so direct cannot take 1,000 clients",
        login_allowance=20,
    ),
    # Same churn without SCRAM: with SCRAM every login costs pgbench itself ~3 ms of PBKDF2, which
    # caps (c) at the client; trust shows what the proxies' own connection handling costs.
    Scenario(
        "g",
        "select-only, new connection per transaction, trust auth",
        ["-S", "-C", *k16Clients],
        auth="trust",
    ),
    # Hook for the next issue: named prepared statements in transaction mode. PgBouncer 1.18 loses
    # them when the next transaction lands on another server connection ("prepared statement ...
    # does not exist"); the run is recorded with its error count instead of stopping the bench.
    Scenario(
        "f",
        "select-only, prepared statements (-M prepared)",
        ["-S", "-M", "prepared", *k16Clients],
        default=False,
    ),
    # Issue 7: routing over two streaming replicas, opt-in (scripts/local_topology.sh's nodes).
    Scenario(
        "r1", "select-only, simple protocol, routed vs unrouted", ["-S", "-M", "simple", *k16Clients],
        group="topology", targets=(kRouted, kUnrouted, kBouncer), default=False,
    ),
    Scenario(
        "r2", "select-only, prepared statements, routed vs unrouted",
        ["-S", "-M", "prepared", *k16Clients],
        group="topology", targets=(kRouted, kUnrouted), default=False,
    ),
    Scenario(
        "r3", "90/10 read/write mix (read.sql@9, update.sql@1)", ["-M", "simple", *k16Clients],
        group="topology", targets=(kRouted, kRoutedLsn, kUnrouted, kBouncer), default=False,
        scripts=(("read.sql", 9), ("update.sql", 1)), write_script="update.sql",
    ),
    Scenario(
        "r4", "write-only (update.sql): window vs lsn", ["-M", "simple", *k16Clients],
        group="topology", targets=(kRouted, kRoutedLsn, kUnrouted), default=False,
        scripts=(("update.sql", 1),), write_script="update.sql",
    ),
    # The same with one statement text (-M prepared sends `$1`, `$2` instead of the literals that
    # -M simple puts into every UPDATE): separates the per-text cost of routing a write from the
    # lsn mode's own cost.
    Scenario(
        "r5", "write-only (update.sql), prepared statements: window vs lsn",
        ["-M", "prepared", *k16Clients],
        group="topology", targets=(kRouted, kRoutedLsn, kUnrouted), default=False,
        scripts=(("update.sql", 1),), write_script="update.sql",
    ),
    # r1 and r2 at a fixed rate both targets sustain: on this machine a proxy's CPU per
    # transaction rises when its TPS falls (fewer messages per wake-up), so at full speed a
    # slower target also looks costlier per transaction. -R makes the comparison like for like.
    Scenario(
        "r6", "select-only, simple protocol, fixed 8,000 tps, routed vs unrouted",
        ["-S", "-M", "simple", "-R", "8000", *k16Clients],
        group="topology", targets=(kRouted, kUnrouted), default=False,
    ),
    Scenario(
        "r7", "select-only, prepared statements, fixed 8,000 tps, routed vs unrouted",
        ["-S", "-M", "prepared", "-R", "8000", *k16Clients],
        group="topology", targets=(kRouted, kUnrouted), default=False,
    ),
    # Issue 8: sharding over shard0 + shard1 (scripts/local_topology.sh) vs the same statements on
    # one server, opt-in. Keyed statements go to one shard; the aggregate goes to both and is
    # merged by pgrouter (vs passed through from one server).
    Scenario(
        "s1", "keyed point read, simple protocol, sharded vs unsharded",
        ["-M", "simple", *kShardArgs], group="sharding", targets=kShardTargets, default=False,
        scripts=(("shard_read.sql", 1),),
    ),
    Scenario(
        "s2", "keyed point read, prepared statements (key as a Bind parameter), sharded vs "
        "unsharded", ["-M", "prepared", *kShardArgs], group="sharding", targets=kShardTargets,
        default=False, scripts=(("shard_read.sql", 1),),
    ),
    Scenario(
        "s3", "keyed point write (UPDATE), simple protocol, sharded vs unsharded",
        ["-M", "simple", *kShardArgs], group="sharding", targets=kShardTargets, default=False,
        scripts=(("shard_update.sql", 1),),
    ),
    Scenario(
        "s4", "keyed point write (UPDATE), prepared statements, sharded vs unsharded",
        ["-M", "prepared", *kShardArgs], group="sharding", targets=kShardTargets, default=False,
        scripts=(("shard_update.sql", 1),),
    ),
    Scenario(
        "s5", "scatter-gather aggregate (count, sum over all rows), sharded vs unsharded",
        ["-M", "simple", *kShardArgs], group="sharding", targets=kShardTargets, default=False,
        scripts=(("shard_scatter.sql", 1),),
    ),
    # s1, s2 at a fixed rate both targets sustain (as r6, r7: CPU per transaction rises when TPS
    # falls, so at full speed a slower target also looks costlier).
    Scenario(
        "s6", "keyed point read, simple protocol, fixed 3,000 tps, sharded vs unsharded",
        ["-M", "simple", "-R", "3000", *kShardArgs], group="sharding", targets=kShardTargets,
        default=False, scripts=(("shard_read.sql", 1),),
    ),
    Scenario(
        "s7", "keyed point read, prepared statements, fixed 3,000 tps, sharded vs unsharded",
        ["-M", "prepared", "-R", "3000", *kShardArgs], group="sharding", targets=kShardTargets,
        default=False, scripts=(("shard_read.sql", 1),),
    ),
]


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (kWantedNoFile, kWantedNoFile))
    except (ValueError, OSError):
        # No CAP_SYS_RESOURCE (e.g. in a container): take the hard limit we are allowed.
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def tool_version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception as e:  # a missing tool is reported, not fatal
        return f"unavailable ({e})"


def binary_identity(path):
    """Which pgrouter build was measured: the tree is often uncommitted while it is benchmarked."""
    try:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
        return f"sha256 {digest}…, built {mtime.strftime('%Y-%m-%d %H:%M UTC')}"
    except OSError as e:
        return f"unavailable ({e.strerror})"


def git_head(repo=kRepo, fmt="%h %s"):
    out = subprocess.run(["git", "-C", repo, "log", "-1", f"--format={fmt}"],
                         capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True)
    head = out.stdout.strip() or "unknown"
    return head + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def pgrouter_variants(args):
    """The pgrouter targets of this run: every binary (--pgrouter, then --pgrouter-baseline) at
    every --pgrouter-workers value. A single variant keeps the plain key and label "pgrouter"."""
    binaries = [("", args.pgrouter)]
    if args.pgrouter_baseline:
        binaries.append(("before", args.pgrouter_baseline))
    several_workers = len(args.workers_list) > 1
    variants = []
    for tag, binary in binaries:
        for workers in args.workers_list:
            notes = [tag] if tag else []
            suffix = [tag] if tag else []
            if several_workers:
                notes.append(f"workers {workers}")
                suffix.append(f"w{workers}")
            variants.append({
                "key": "-".join(["pgrouter", *suffix]),
                "label": "pgrouter" + (f" ({', '.join(notes)})" if notes else ""),
                "binary": binary,
                "workers": workers,
                "baseline": bool(tag),
                "version": tool_version([binary, "--version"]),
                "identity": binary_identity(binary),
                "git_head": git_head(os.path.dirname(binary), "%h"),
            })
    return variants


def machine_info():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "debian": open("/etc/debian_version").read().strip()
        if os.path.exists("/etc/debian_version") else "?",
    }


def parse_args():
    p = argparse.ArgumentParser(
        description="pgrouter vs PgBouncer vs direct PostgreSQL",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios:\n" + "\n".join(
            f"  {s.key}  {s.title}: pgbench {s.describe()}"
            + ("" if s.default else "  (opt-in)") for s in SCENARIOS),
    )
    p.add_argument("--rounds", type=int, default=3)
    # PgBouncer runs one thread; pgrouter with one worker is the like-for-like comparison. 0 = one
    # per CPU (pgrouter's default), which on 2 shared cores competes with PostgreSQL and pgbench.
    # Several values ("1,0") run one pgrouter per value side by side, a column each.
    p.add_argument("--pgrouter-workers", default="1",
                   help="comma-separated pgrouter worker counts, each a target (default 1)")
    p.add_argument("--duration", type=int, default=10, help="seconds per pgbench run")
    p.add_argument("--pgrouter", default="build/pgrouter",
                   help="pgrouter binary (relative paths are from the repository root)")
    p.add_argument("--pgrouter-baseline", metavar="PATH",
                   help="a second pgrouter binary measured in the same rounds, as "
                        "\"pgrouter (before)\" (e.g. a build of the last commit)")
    p.add_argument("--scenarios", default=",".join(s.key for s in SCENARIOS if s.default),
                   help="comma-separated keys; 'f' (-M prepared), r1-r7 (routing over a "
                        "primary + 2 replicas) and s1-s7 (sharding over 2 shards) are opt-in")
    p.add_argument("--shard-rows", type=int, default=100000,
                   help="rows of table accounts in the s* scenarios (keys 1..N)")
    p.add_argument("--scale", type=int, default=10, help="pgbench -i scale factor")
    p.add_argument("--topology-port", type=int, default=0,
                   help="BASE_PORT of scripts/local_topology.sh (r*, s*): the primary, its "
                        "replicas on +1, +2, shard0 +3, shard0r +4, shard1 +5; 0 = six free "
                        "ports found at start")
    p.add_argument("--idle-clients", type=int, default=10000,
                   help="idle clients of each kind per pooler; 0 skips the memory test")
    p.add_argument("--idle-kinds", default=",".join(IDLE_KINDS),
                   help="comma-separated: " + "; ".join(
                       f"{k} = {v['title']}" for k, v in IDLE_KINDS.items()))
    p.add_argument("--warmup", type=int, default=2, help="seconds of select-only per target first")
    p.add_argument("--password-form", choices=["plain", "verifier"], default="plain",
                   help="what both poolers store for user bench: the plaintext password or the "
                        "SCRAM verifier from pg_authid")
    p.add_argument("--out-dir", default=os.path.join(kRepo, "bench", "out"))
    p.add_argument("--report", metavar="JSON",
                   help="only print the report of a saved run (bench/out/*.json) and exit")
    args = p.parse_args()
    if not os.path.isabs(args.pgrouter):
        args.pgrouter = os.path.join(kRepo, args.pgrouter)
    if args.pgrouter_baseline and not os.path.isabs(args.pgrouter_baseline):
        args.pgrouter_baseline = os.path.join(kRepo, args.pgrouter_baseline)
    known = {s.key: s for s in SCENARIOS}
    try:
        args.scenario_list = [known[k.strip()] for k in args.scenarios.split(",") if k.strip()]
    except KeyError as e:
        p.error(f"unknown scenario {e}; known: {', '.join(known)}")
    try:
        args.workers_list = [int(w) for w in split_list(args.pgrouter_workers)]
    except ValueError:
        p.error(f"--pgrouter-workers takes comma-separated integers, not {args.pgrouter_workers!r}")
    if not args.workers_list or len(set(args.workers_list)) != len(args.workers_list):
        p.error("--pgrouter-workers needs distinct values")
    args.idle_kind_list = split_list(args.idle_kinds)
    unknown = [k for k in args.idle_kind_list if k not in IDLE_KINDS]
    if unknown:
        p.error(f"unknown idle kind {unknown[0]!r}; known: {', '.join(IDLE_KINDS)}")
    return args


def split_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def keep_logs(work, dest):
    """The servers' logs outlive the temp dir, for reading after a failed or odd run."""
    logs = [n for n in os.listdir(work) if n.endswith(".log")] if os.path.isdir(work) else []
    if not logs:
        return
    os.makedirs(dest, exist_ok=True)
    for name in logs:
        shutil.copy(os.path.join(work, name), dest)


def start_variants(procs, work, variants, pg_port, auth, secret, prefix):
    return [
        start_pgrouter(procs, work, f"{prefix}-{v['key']}", v["binary"], pg_port, auth, secret,
                       v["workers"], v["key"], v["label"])
        for v in variants
    ]


def write_scripts(work, scale, scenarios, rows):
    for name in kScripts:  # all of them: the sharding warm-up reads shard_read.sql
        path = os.path.join(work, name)
        with open(path, "w") as f:
            f.write(kScripts[name].format(accounts=100000 * scale, rows=rows))
        os.chmod(path, 0o644)
    for sc in scenarios:
        sc.script_dir = work


def start_topology_targets(procs, work, variant, topo, wanted):
    """Those of kTopologyLabels' targets in `wanted`: the binary under test (its first
    --pgrouter-workers value) with and without the replicas, and PgBouncer on the primary. User
    bench with its plaintext password: the health checks log in with it (a verifier cannot log
    in to a server)."""
    replicas = topo.replicas()
    common = dict(binary=variant["binary"], pg_port=topo.primary, auth="scram",
                  secret=kBenchPassword, workers=variant["workers"])
    starts = {
        kRouted: lambda: start_pgrouter(procs, work, "topo-routed", key=kRouted,
                                        label=kTopologyLabels[kRouted], replicas=replicas,
                                        **common),
        kRoutedLsn: lambda: start_pgrouter(procs, work, "topo-routed-lsn", key=kRoutedLsn,
                                           label=kTopologyLabels[kRoutedLsn], replicas=replicas,
                                           routing={"consistency": "lsn"}, **common),
        kUnrouted: lambda: start_pgrouter(procs, work, "topo-unrouted", key=kUnrouted,
                                          label=kTopologyLabels[kUnrouted], **common),
        kBouncer: lambda: relabel(start_pgbouncer(procs, work, "topo-pgbouncer", topo.primary,
                                                  "scram", kBenchPassword), kBouncer),
    }
    return [start() for key, start in starts.items() if key in wanted]


def start_sharding_targets(procs, work, variant, topo):
    """kSharded and kUnsharded: the binary under test (its first --pgrouter-workers value) with
    database bench sharded over shard0 + shard1, and on the main primary alone."""
    common = dict(binary=variant["binary"], pg_port=topo.primary, auth="scram",
                  secret=kBenchPassword, workers=variant["workers"])
    return [
        start_pgrouter(procs, work, "shard-sharded", key=kSharded,
                       label=kTopologyLabels[kSharded],
                       shards=[topo.ports[n] for n in kShardNodes], **common),
        start_pgrouter(procs, work, "shard-unsharded", key=kUnsharded,
                       label=kTopologyLabels[kUnsharded], **common),
    ]


def relabel(target, key):
    target.key, target.label = key, kTopologyLabels[key]
    return target


def run_on_topology(topo, target, scenario, duration, round_no, running):
    """One pgbench run plus what each server did meanwhile (PostgreSQL's statistics, read after
    they have settled: see kStatsSettleSeconds)."""
    if scenario.group == "sharding":
        counters = lambda: server_counters(topo, "accounts", ("primary", *kShardNodes))
    else:
        counters = lambda: server_counters(topo, "pgbench_accounts",
                                           ("primary", "replica1", "replica2"))
    before = counters()
    record = run_pgbench(target, scenario, duration, round_no, running)
    time.sleep(kStatsSettleSeconds)
    after = counters()
    only_writes = [name for name, _ in scenario.scripts] == [scenario.write_script]
    record.update(server_work(before, after, record, scenario.write_script, only_writes))
    return record


def measure_idle(procs, work, args, variants, pg_port, results):
    """Appends to results one record per (kind, pooler). Each on a fresh pooler process, so that
    memory freed by the throughput runs or by the other kind cannot be reused."""
    # Headroom above the clients: the pooler must not refuse the last ones at its limit.
    max_conn = max(kMaxClientConn, args.idle_clients + 2000)
    for kind in args.idle_kind_list:
        for variant in [None, *variants]:
            target = start_idle_pooler(procs, work, variant, kind, pg_port, max_conn)
            log(f"idle memory ({kind}): {args.idle_clients} clients on {target.label}")
            record = idle_memory(procs, work, target, args.idle_clients, kind, pg_port)
            record["max_client_conn"] = max_conn
            results.append(record)
            log(f"idle memory ({kind}) {target.label}: {idle_summary(record)}")
            if target.proc:
                procs.stop(target.proc)


def start_idle_pooler(procs, work, variant, kind, pg_port, max_conn):
    """PgBouncer for variant None, else that pgrouter; trust auth (user bench_trust)."""
    if variant is None:
        return start_pgbouncer(procs, work, f"pgbouncer-idle-{kind}", pg_port, "trust", "",
                               max_conn)
    v = variant
    return start_pgrouter(procs, work, f"{v['key']}-idle-{kind}", v["binary"], pg_port, "trust",
                          "", v["workers"], v["key"], v["label"], max_conn)


def idle_summary(record):
    if "problem" in record:
        return f"NOT measured: {record['problem'].strip().splitlines()[0]}"
    per = record.get("kib_per_client")
    per = f"{per:.2f} KiB per client" if per is not None else "no KiB per client"
    return f"{record.get('ok', 0)} ok, {record.get('failed', 0)} failed; {per}"


def warn_server_connections(args, variants):
    """Every pooler instance (PgBouncer and each pgrouter, per auth group) keeps up to kPoolSize
    server connections open between runs, next to direct pgbench's 16."""
    groups = 2 if any(sc.auth == "trust" for sc in args.scenario_list) else 1
    poolers = (1 + len(variants)) * groups
    if poolers * kPoolSize + 16 > int(kPgSettings["max_connections"]):
        log(f"warning: {poolers} pooler instances × pool {kPoolSize} may exceed PostgreSQL's "
            f"max_connections {kPgSettings['max_connections']}")


def report_text(meta, runs, idle):
    known = {s.key: s for s in SCENARIOS}
    scenarios = [known[k] for k in meta["args"]["scenarios"].split(",") if k.strip()]
    summary = summarize(runs, scenarios, meta["availability"])
    return render_report(meta, scenarios, summary, runs, idle)


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main():
    args = parse_args()
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        print(report_text(saved["meta"], saved["runs"], saved["idle"]))
        return
    if os.geteuid() != 0:
        sys.exit("bench: run as root (sudo bench/run.sh): PostgreSQL and PgBouncer run as "
                 "'postgres'")
    # Also SIGINT: a shell that starts us in the background leaves it ignored, and Ctrl-C (or
    # kill -INT) must always reach the cleanup.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    started = datetime.datetime.now(datetime.timezone.utc)
    stamp = os.path.join(args.out_dir, started.strftime("%Y%m%d-%H%M%S"))
    meta = {
        "command": "bench/run.sh " + " ".join(sys.argv[1:]),
        "started_utc": started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "machine": machine_info(),
        "nofile": raise_nofile(),
        "clk_tck": kClkTck,
        "args": {k: v for k, v in vars(args).items()
                 if k not in ("scenario_list", "workers_list", "idle_kind_list")},
        "versions": {
            "postgres": tool_version([f"{kPgBin}/postgres", "--version"]),
            "pgbench": tool_version([f"{kPgBin}/pgbench", "--version"]),
            "pgbouncer": tool_version(["/usr/sbin/pgbouncer", "--version"]),
            "pgrouter": tool_version([args.pgrouter, "--version"]),
        },
        "pgrouter_binary": binary_identity(args.pgrouter),
        "pgrouter_variants": pgrouter_variants(args),
        "git_head": git_head(),
        "pg_settings": kPgSettings,
        "loadavg_start": os.getloadavg(),
    }
    variants = meta["pgrouter_variants"]
    # The holder and the pooler are separate processes; each needs one descriptor per client.
    if args.idle_clients and meta["nofile"] < args.idle_clients + 1000:
        log(f"warning: open-file limit is {meta['nofile']}; {args.idle_clients} idle clients may "
            "not fit")

    warn_server_connections(args, variants)

    procs = Processes()
    running = []  # pgbench processes in flight, killed first on exit
    work = tempfile.mkdtemp(prefix="pgrouter-bench.", dir="/tmp")
    os.chmod(work, 0o700)
    chown_pg(work)
    runs, idle, targets = [], [], {}
    interrupted = False
    topology = None
    try:
        log(f"work dir {work}; open-file limit {meta['nofile']}")
        nodes = ("topology", "sharding")
        single = args.idle_clients > 0 or any(sc.group not in nodes for sc in args.scenario_list)
        if single:
            pg_port, _ = start_postgres(procs, work)
            verifier = setup_database(work, pg_port, args.scale)
            secret = kBenchPassword if args.password_form == "plain" else verifier
            targets["scram"] = [
                Target("direct", "direct", pg_port),
                start_pgbouncer(procs, work, "pgbouncer", pg_port, "scram", secret),
                *start_variants(procs, work, variants, pg_port, "scram", secret, "scram"),
            ]
        if any(sc.auth == "trust" and sc.group not in nodes for sc in args.scenario_list):
            targets["trust"] = [
                Target("direct", "direct", pg_port, user=kTrustUser),
                start_pgbouncer(procs, work, "pgbouncer-trust", pg_port, "trust", ""),
                *start_variants(procs, work, variants, pg_port, "trust", "", "trust"),
            ]
        if any(sc.group in nodes for sc in args.scenario_list):
            # Set before the start so that a half-started topology is stopped too.
            topology = os.path.join(work, "topology")
            topo, _ = start_topology(work, args.scale, args.topology_port)
            meta["topology_ports"] = topo.ports
            write_scripts(work, args.scale, args.scenario_list, args.shard_rows)
        if any(sc.group == "topology" for sc in args.scenario_list):
            wanted = {k for sc in args.scenario_list if sc.group == "topology" for k in sc.targets}
            targets["topology"] = start_topology_targets(procs, work, variants[0], topo, wanted)
        if any(sc.group == "sharding" for sc in args.scenario_list):
            meta["shard_rows"] = setup_sharding(procs, work, topo, args.shard_rows,
                                                variants[0]["binary"])
            if not any(sc.group == "topology" for sc in args.scenario_list):
                stop_replicas(topo)
                meta["replicas_stopped"] = True
            targets["sharding"] = start_sharding_targets(procs, work, variants[0], topo)
        for auth, group in targets.items():
            for t in group:
                if not t.unavailable:
                    t.unavailable = check_target(t) if auth != "sharding" else check_target(
                        t, "SELECT count(*) FROM accounts")
                    if t.unavailable and t.proc:
                        procs.stop(t.proc)
                if t.unavailable:
                    log(f"{t.label} ({auth}) is NOT measured: {t.unavailable}")
        live = {auth: [t for t in group if not t.unavailable] for auth, group in targets.items()}
        if args.warmup > 0:
            warm = Scenario("warmup", "warm-up", ["-S", *k16Clients])
            for t in live.get("scram", []) + live.get("topology", []):
                log(f"warm-up {t.label} ({args.warmup}s)")
                run_pgbench(t, warm, args.warmup, 0, running)
            warm = Scenario("warmup", "warm-up", kShardArgs, scripts=(("shard_read.sql", 1),))
            warm.script_dir = work
            for t in live.get("sharding", []):
                log(f"warm-up {t.label} ({args.warmup}s)")
                run_pgbench(t, warm, args.warmup, 0, running)
            if "topology" in live or "sharding" in live:
                time.sleep(kStatsSettleSeconds)  # the warm-ups' statistics out of round 1's

        for round_no in range(1, args.rounds + 1):
            for sc in args.scenario_list:
                for t in live.get(sc.group, []):
                    if t.key == "direct" and not sc.direct:
                        continue
                    if sc.targets and t.key not in sc.targets:
                        continue
                    if sc.group in nodes:
                        record = run_on_topology(topo, t, sc, args.duration, round_no, running)
                    else:
                        record = run_pgbench(t, sc, args.duration, round_no, running)
                    runs.append(record)
                    tps = f"{record['tps']:.0f} tps" if record.get("tps") else "no tps"
                    cpu = record.get("cpu_us_per_tx")
                    cpu = f", {cpu:.1f} µs CPU/tx" if cpu is not None else ""
                    bad = "" if record["ok"] else f"  FAILED: {record['problem']}"
                    spread = record.get("server_statements")
                    spread = f"; statements per server {spread}" if spread else ""
                    log(f"round {round_no} ({sc.key}) {t.label}: {tps}{cpu}{spread}{bad}")

        for group in targets.values():
            for t in group:
                if t.proc:
                    procs.stop(t.proc)

        if args.idle_clients > 0:
            measure_idle(procs, work, args, variants, pg_port, idle)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; stopping everything")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for proc in list(running):
            proc.kill()
        procs.stop_all()
        if topology:
            stop_topology(topology)
        keep_logs(work, f"{stamp}.logs")
        keep_logs(os.path.join(work, "topology"), f"{stamp}.logs/topology")
        shutil.rmtree(work, ignore_errors=True)

    meta["interrupted"] = interrupted
    meta["loadavg_end"] = os.getloadavg()
    meta["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")
    os.makedirs(args.out_dir, exist_ok=True)
    # The raw measurements first: a report bug must not lose a long run.
    meta["topology_labels"] = kTopologyLabels
    meta["availability"] = {
        auth: {t.key: t.unavailable for t in group} for auth, group in targets.items()}
    with open(f"{stamp}.json", "w") as f:
        json.dump({"meta": meta, "runs": runs, "idle": idle}, f, indent=1)
    text = report_text(meta, runs, idle)
    print(text)
    with open(f"{stamp}.md", "w") as f:
        f.write(text)
    log(f"wrote {stamp}.md, .json and the servers' logs in {stamp}.logs/")
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        sys.exit(f"bench: {e}")
