# bench/measure.py — one pgbench run (TPS, latency, pooler CPU from /proc), which server did the work
# (routing scenarios: PostgreSQL's own statistics), the idle-memory test (two kinds of idle client)
# and the medians. Starts or configures no server (services.py does).
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import threading
import time

from services import (
    client_env, die_with_parent, kBenchDb, kClkTck, kHost, kPgBin, kRepo,
    proc_cpu_ticks, proc_rss_kib, psql_admin,
)

# PostgreSQL 15 flushes a backend's statistics at most once a second while it is busy; what is left
# when it goes idle is flushed by a 10 s idle timer (PGSTAT_IDLE_INTERVAL). Waiting this long after
# a run puts every transaction of the run into its own counters and none into the next run's.
kStatsSettleSeconds = 11

def parse_pgbench(out):
    def grab(pattern, cast=float):
        m = re.search(pattern, out, re.M)
        return cast(m.group(1)) if m else None

    tps = re.search(r"^tps = ([\d.]+) \((.*)\)", out, re.M)
    # With several -f scripts pgbench reports each: "SQL script 2: /x/update.sql" then
    # " - weight: ..." and " - 1234 transactions (10.1% of total, ...)".
    script_tx = {}
    for m in re.finditer(r"^SQL script \d+: (\S+)\n(?: - weight.*\n)? - (\d+) transactions",
                         out, re.M):
        name = os.path.basename(m.group(1))
        script_tx[name] = script_tx.get(name, 0) + int(m.group(2))
    return {
        "script_tx": script_tx,
        "tps": float(tps.group(1)) if tps else None,
        "tps_note": tps.group(2) if tps else "",
        "transactions": grab(r"^number of transactions actually processed: (\d+)", int),
        "failed_tx": grab(r"^number of failed transactions: (\d+)", int),
        "latency_ms": grab(r"^latency average = ([\d.]+) ms"),
    }


def summarize_errors(stderr):
    """(aborted clients, {error text: count}) from pgbench's stderr."""
    aborted = len(re.findall(r"client \d+ (?:script \d+ )?aborted", stderr))
    errors = {}
    for line in stderr.splitlines():
        m = re.search(r"(ERROR|FATAL):\s*(.*)", line)
        if m:
            # Statement names and client numbers vary per line; fold them so counts group.
            text = re.sub(r'"[^"]*"', '"…"', f"{m.group(1)}: {m.group(2)}")
            errors[text] = errors.get(text, 0) + 1
    return aborted, errors


def established_clients(port):
    """ESTABLISHED TCP sockets whose local port is `port`: the pooler's side of its clients."""
    wanted = f":{port:04X} "
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            # "  sl  local_address rem_address   st ..." with addresses as HEXIP:HEXPORT
            fields = line.split(None, 4)
            if fields[3] == "01" and (fields[1] + " ").endswith(wanted):
                count += 1
    return count


class LoginWatcher(threading.Thread):
    """Takes the pooler's CPU ticks once all pgbench clients are connected, so that CPU per
    transaction can also be given without the logins (1,000 SCRAM logins are a large share of a
    short run). pgbench connects each thread's clients one after another, so when the last TCP
    connection is up at most one login per thread is still running."""

    def __init__(self, target, clients):
        super().__init__(daemon=True)
        self.target = target
        self.clients = clients
        self.started = time.monotonic()
        self.ticks = None
        self.seconds = None
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                if established_clients(self.target.port) >= self.clients:
                    self.ticks = proc_cpu_ticks(self.target.pid())
                    self.seconds = time.monotonic() - self.started
                    return
            except OSError:
                return
            self.stop.wait(0.01)


def run_pgbench(target, scenario, duration, round_no, running):
    record = {
        "scenario": scenario.key, "target": target.key, "round": round_no,
        "loadavg": os.getloadavg()[0], "ok": False, "problem": "",
    }
    if target.proc is not None and target.proc.poll() is not None:
        record["problem"] = f"{target.label} had exited (status {target.proc.returncode})"
        return record
    argv = [
        f"{kPgBin}/pgbench", "-h", kHost, "-p", str(target.port), "-U", target.user,
        "-T", str(duration + scenario.login_allowance), *scenario.pgbench_args(), kBenchDb,
    ]
    record["command"] = " ".join(argv[1:])
    watcher = None
    if target.proc and not scenario.churn:
        watcher = LoginWatcher(target, scenario.clients)
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    ticks_before = proc_cpu_ticks(target.pid()) if target.proc else None
    proc = subprocess.Popen(
        argv, env=client_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=die_with_parent,
    )
    running.append(proc)
    if watcher:
        watcher.start()
    try:
        out, err = proc.communicate(timeout=duration + scenario.login_allowance + 240)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        record["problem"] = "pgbench timed out"
    finally:
        running.remove(proc)
        if watcher:
            watcher.stop.set()
            watcher.join()
    alive = target.proc and target.proc.poll() is None
    ticks_after = proc_cpu_ticks(target.pid()) if alive else None
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    record.update(parse_pgbench(out))
    record["rc"] = proc.returncode
    record["aborted_clients"], record["errors"] = summarize_errors(err)
    tx = record["transactions"]
    # pgbench's own CPU (client side), to tell a client-bound run from a proxy-bound one.
    client_cpu = (usage_after.ru_utime - usage_before.ru_utime) + (
        usage_after.ru_stime - usage_before.ru_stime)
    if tx:
        record["client_cpu_us_per_tx"] = client_cpu * 1e6 / tx
    if ticks_before is not None and ticks_after is not None:
        record["cpu_seconds"] = (ticks_after - ticks_before) / kClkTck
        if tx:
            record["cpu_us_per_tx"] = record["cpu_seconds"] * 1e6 / tx
        if watcher and watcher.ticks is not None:
            record["login_seconds"] = watcher.seconds
            record["login_cpu_seconds"] = (watcher.ticks - ticks_before) / kClkTck
            if tx:
                record["cpu_us_per_tx_after_login"] = (
                    (ticks_after - watcher.ticks) / kClkTck * 1e6 / tx)
    if proc.returncode == 0 and record["tps"] is not None:
        record["ok"] = True
    elif not record["problem"]:
        if proc.returncode == 0 and not tx:
            record["problem"] = (f"no transaction completed within -T {duration} s "
                                 "(pgbench counts its logins inside -T)")
        else:
            tail = "\n".join(err.strip().splitlines()[-3:])
            record["problem"] = f"pgbench exit status {proc.returncode}: {tail}"
    return record


def server_counters(topology, table="pgbench_accounts", nodes=None):
    """Per node: (transactions committed in the bench database, scans of pgbench_accounts). Every
    statement of the routing scenarios reads or updates one pgbench_accounts row by index, so the
    scans count the statements each server ran; health probes and the LSN mode's
    `SELECT pg_current_wal_insert_lsn()` are transactions that scan no table. A standby keeps
    these counters for its own read-only sessions."""
    sql = ("SELECT d.xact_commit, coalesce(t.idx_scan, 0) + coalesce(t.seq_scan, 0) "
           "FROM pg_stat_database d LEFT JOIN pg_stat_user_tables t "
           f"ON t.relname = '{table}' WHERE d.datname = current_database()")
    counters = {}
    for name, port in topology.ports.items():
        if nodes is not None and name not in nodes:
            continue
        xacts, scans = psql_admin(topology.dir, port, sql, db=kBenchDb).strip().split("|")
        counters[name] = (int(xacts), int(scans))
    return counters


def server_work(before, after, record, write_script, only_writes):
    """What each server did during one run (after - before); fields added to the run's record.
    Writes: the transactions of `write_script`, or all of them when it is the only script
    (pgbench reports scripts one by one only when there are several)."""
    scans = {name: after[name][1] - before[name][1] for name in after}
    xacts = {name: after[name][0] - before[name][0] for name in after}
    out = {"server_statements": scans, "server_xacts": xacts}
    writes = (record.get("script_tx") or {}).get(write_script)
    if writes is None and only_writes:
        writes = record.get("transactions")
    if writes and "primary" in xacts:
        out["writes"] = writes
        # Transactions on the primary that touched no pgbench_accounts row, per write: the LSN
        # mode's hidden position query (plus ~1/s of health probes and pgbench's start-up VACUUMs).
        out["other_primary_xacts_per_write"] = (xacts["primary"] - scans["primary"]) / writes
    return out


def median_of(runs, field):
    values = [r[field] for r in runs if r.get("ok") and r.get(field) is not None]
    return statistics.median(values) if values else None


def summarize(runs, scenarios, availability):
    """availability: {target group: {target key: why it is not measured, or ""}}. One entry per
    (scenario key, target key)."""
    summary = {}
    for sc in scenarios:
        for key, unavailable in availability.get(sc.group, {}).items():
            if sc.targets and key not in sc.targets:
                continue
            mine = [r for r in runs if r["scenario"] == sc.key and r["target"] == key]
            summary[(sc.key, key)] = {
                "unavailable": unavailable,
                "skipped": key == "direct" and not sc.direct,
                "runs": len(mine),
                "ok_runs": sum(1 for r in mine if r["ok"]),
                "tps": median_of(mine, "tps"),
                "latency_ms": median_of(mine, "latency_ms"),
                "cpu_us_per_tx": median_of(mine, "cpu_us_per_tx"),
                "cpu_us_per_tx_after_login": median_of(mine, "cpu_us_per_tx_after_login"),
                "login_cpu_seconds": median_of(mine, "login_cpu_seconds"),
                "client_cpu_us_per_tx": median_of(mine, "client_cpu_us_per_tx"),
                "problems": [r["problem"] for r in mine if r["problem"]],
                "errors": merge_counts(r.get("errors", {}) for r in mine),
                "aborted_clients": sum(r.get("aborted_clients", 0) for r in mine),
                "server_statements": merge_counts(
                    r["server_statements"] for r in mine if r["ok"] and "server_statements" in r),
                "writes": median_of(mine, "writes"),
                "other_primary_xacts_per_write": median_of(mine, "other_primary_xacts_per_write"),
            }
    return summary


def merge_counts(dicts):
    merged = {}
    for d in dicts:
        for k, v in d.items():
            merged[k] = merged.get(k, 0) + v
    return merged


# The idle-memory kinds: what each held client did before going idle. A client that ran a query
# has been through the pooler's transaction path (server lease, buffers, statement state) once.
IDLE_KINDS = {
    "login": {"title": "logged in, never queried", "query": ""},
    "query": {"title": "logged in, ran `SELECT 1`, then idle", "query": "SELECT 1"},
}


def server_connections(pg_port):
    """ESTABLISHED TCP sockets to PostgreSQL's port: the idle test's pooler is the only client of
    PostgreSQL while it runs, so these are its server connections."""
    wanted = f":{pg_port:04X}"
    count = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split(None, 4)
            if fields[3] == "01" and fields[2].endswith(wanted):
                count += 1
    return count


def warm_up_login(target):
    """One login and query first, so the baseline already includes the pool's server connection,
    the cached server parameters and any lazily built state. Returns '' or what went wrong."""
    warm = subprocess.run(
        [
            f"{kPgBin}/psql", "-X", "-At", "-h", kHost, "-p", str(target.port), "-U", target.user,
            "-d", kBenchDb, "-c", "SELECT 1",
        ],
        capture_output=True, text=True, timeout=60,
    )
    return "" if warm.returncode == 0 else f"warm-up login failed: {warm.stderr.strip()}"


def holder_command(holder, command):
    holder.stdin.write(command.encode() + b"\n")
    holder.stdin.flush()


def idle_memory(procs, work, target, count, kind, pg_port):
    """RSS of a fresh pooler process before and after `count` clients of `kind` (IDLE_KINDS) are
    held idle on it; KiB per client = the difference / the clients that succeeded."""
    result = {"target": target.key, "label": target.label, "count": count, "kind": kind,
              "kind_title": IDLE_KINDS[kind]["title"]}
    if target.unavailable:
        result["problem"] = target.unavailable
        return result
    problem = warm_up_login(target)
    if problem:
        result["problem"] = problem
        return result
    time.sleep(1)
    result["rss_before_kib"] = proc_rss_kib(target.pid())
    result["server_conns_before"] = server_connections(pg_port)
    name = f"idle-holder-{kind}-{target.key}"
    argv = ["/usr/bin/python3", os.path.join(kRepo, "bench", "idle_clients.py"), "--port",
            str(target.port), "--user", target.user, "--count", str(count)]
    if IDLE_KINDS[kind]["query"]:
        argv += ["--query", IDLE_KINDS[kind]["query"]]
    holder = procs.start(name, argv, os.path.join(work, f"{name}.log"), signal.SIGTERM, 30,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = holder.stdout.readline()
        if not line:
            result["problem"] = f"the idle-client holder died (exit status {holder.poll()})"
            return result
        result.update(json.loads(line))
        time.sleep(2)  # let the pooler finish whatever it does after the last client
        result["rss_after_kib"] = proc_rss_kib(target.pid())
        result["server_conns_after"] = server_connections(pg_port)
        holder_command(holder, "check")
        result.update(json.loads(holder.stdout.readline()))
        if result["ok"]:
            delta = result["rss_after_kib"] - result["rss_before_kib"]
            result["kib_per_client"] = delta / result["ok"]
        holder_command(holder, "quit")
        holder.wait(timeout=60)
    finally:
        procs.stop(holder)
    return result
