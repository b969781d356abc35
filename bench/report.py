# bench/report.py — turns bench.py's measurements into the markdown report. Formatting only: it
# must not run anything or compute figures other than medians' ratios.
import re


def fmt(value, digits=0, suffix=""):
    if value is None:
        return "—"
    if digits == 0:
        return f"{value:,.0f}{suffix}"
    return f"{value:,.{digits}f}{suffix}"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "—"


kFixedLabels = {"direct": "direct", "pgbouncer": "PgBouncer"}


def variants_of(meta):
    """The pgrouter targets; runs saved before there could be several had one, keyed 'pgrouter'."""
    if meta.get("pgrouter_variants"):
        return meta["pgrouter_variants"]
    a = meta["args"]
    return [{
        "key": "pgrouter", "label": "pgrouter", "binary": a["pgrouter"],
        "workers": a.get("pgrouter_workers", 0), "version": meta["versions"]["pgrouter"],
        "identity": meta.get("pgrouter_binary", "?"), "git_head": meta.get("git_head", "?"),
    }]


def labels_of(variants, meta=None):
    topology = (meta or {}).get("topology_labels", {})
    return {**kFixedLabels, **{v["key"]: v["label"] for v in variants}, **topology}


def paired(runs, scenario, field, num="pgrouter", den="pgbouncer"):
    """num / den per round. Within a round the two ran back to back, so these ratios show how
    much of the spread comes from load that drifted between rounds."""
    by_round = {}
    for r in runs:
        if r["scenario"] == scenario.key and r.get("ok") and r.get(field) is not None:
            by_round.setdefault(r["round"], {})[r["target"]] = r[field]
    ratios = [v[num] / v[den] for _, v in sorted(by_round.items()) if v.get(den) and num in v]
    return " / ".join(f"{x:.2f}" for x in ratios) if ratios else "—"


def cell(summary, scenario, target, field, digits):
    s = summary.get((scenario.key, target))
    if not s:
        return "—"
    if s["unavailable"]:
        return "not measured"
    if s["skipped"]:
        return "skipped ¹"
    if not s["runs"]:
        return "—"
    text = fmt(s[field], digits)
    if s["ok_runs"] < s["runs"]:
        text += f" ({s['ok_runs']}/{s['runs']} ok)"
    return text


def value(summary, scenario, target, field):
    s = summary.get((scenario.key, target))
    return s[field] if s and not s["unavailable"] else None


def table_head(columns):
    """A markdown header row; the first column is left-aligned text, the others numbers."""
    return [f"| {' | '.join(columns)} |", "|---|" + "---:|" * (len(columns) - 1)]


def ratio_headers(variants, per_round=True):
    """'X / PgBouncer' (and its per-round column) for each pgrouter variant. With one variant the
    columns keep their plain names."""
    heads = []
    for v in variants:
        heads.append(f"{v['label']} / PgBouncer")
        if per_round:
            heads.append("per round" if len(variants) == 1 else f"{v['label']} per round")
    return heads


def ratio_cells(summary, runs, sc, variants, field, per_round=True):
    cells = []
    for v in variants:
        cells.append(ratio(value(summary, sc, v["key"], field),
                           value(summary, sc, "pgbouncer", field)))
        if per_round:
            cells.append(paired(runs, sc, field, v["key"]))
    return cells


def row(cells):
    return f"| {' | '.join(cells)} |"


def header_section(meta, summary, labels):
    m = meta["machine"]
    a = meta["args"]
    out = [f"# pgrouter vs PgBouncer vs direct PostgreSQL — {meta['started_utc']}\n"]
    if meta.get("interrupted"):
        out.append("**Interrupted: the figures below are from the runs that finished.**\n")
    out.append(f"Command: `{meta['command']}`  ")
    out.append(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB RAM, Linux "
               f"{m['kernel']}, Debian {m['debian']}  ")
    out.append(f"Rounds: {a['rounds']} × {a['duration']} s per run, targets interleaved within "
               "each round; figures are medians over rounds.  ")
    out.append(f"Load average (1 min) at start {meta['loadavg_start'][0]:.2f}, at end "
               f"{meta.get('loadavg_end', (0,))[0]:.2f}.\n")
    reasons = {}
    for (sc_key, target), s in summary.items():
        if s["unavailable"]:
            reasons.setdefault((target, s["unavailable"].strip()), []).append(sc_key)
    for (target, why), keys in reasons.items():
        out.append(f"**{labels.get(target, target)} was not measured** in ({', '.join(keys)}): "
                   f"{why.splitlines()[0]}\n")
    return out


def throughput_section(scenarios, summary, runs, variants):
    out = ["## Throughput (TPS, median)\n"]
    if len(variants) == 1:
        out.append("pgrouter / PgBouncer is the ratio of the medians; \"per round\" gives the "
                   "ratio within each round, where the two ran back to back.\n")
    else:
        out.append("\"… / PgBouncer\" columns are ratios of the medians; \"per round\" columns "
                   "give the ratio within each round, where the two ran back to back.\n")
    out += table_head(["Scenario", "direct", "PgBouncer", *(v["label"] for v in variants),
                       *ratio_headers(variants)])
    for sc in scenarios:
        out.append(row([
            f"({sc.key}) {sc.title}",
            *(cell(summary, sc, t, "tps", 0) for t in ["direct", "pgbouncer"]),
            *(cell(summary, sc, v["key"], "tps", 0) for v in variants),
            *ratio_cells(summary, runs, sc, variants, "tps"),
        ]))
    out.append("")
    return out


def latency_section(scenarios, summary, variants):
    out = ["## Average latency (ms, median)\n"]
    keys = ["direct", "pgbouncer", *(v["key"] for v in variants)]
    out += table_head(["Scenario", "direct", "PgBouncer", *(v["label"] for v in variants)])
    for sc in scenarios:
        out.append(row([f"({sc.key}) {sc.title}",
                         *(cell(summary, sc, t, "latency_ms", 3) for t in keys)]))
    out.append("")
    return out


def cpu_section(scenarios, summary, runs, variants):
    cpu, after = "cpu_us_per_tx", "cpu_us_per_tx_after_login"
    keys = ["pgbouncer", *(v["key"] for v in variants)]
    labels = ["PgBouncer", *(v["label"] for v in variants)]
    out = ["## Pooler CPU per transaction (µs, median; lower is better)\n"]
    out.append("Whole run: the pooler's CPU from pgbench's start to its exit (logins included), "
               "divided by the transactions. After logins: from the moment all clients are "
               "connected; not applicable to the new-connection-per-transaction scenarios.\n")
    out.append("**Whole run**\n")
    out += table_head(["Scenario", *labels, *ratio_headers(variants)])
    for sc in scenarios:
        out.append(row([f"({sc.key}) {sc.title}", *(cell(summary, sc, t, cpu, 1) for t in keys),
                        *ratio_cells(summary, runs, sc, variants, cpu)]))
    out.append("")
    out.append("**After logins**\n")
    out += table_head(["Scenario", *labels, *ratio_headers(variants, per_round=False)])
    for sc in scenarios:
        out.append(row([f"({sc.key}) {sc.title}", *(cell(summary, sc, t, after, 1) for t in keys),
                        *ratio_cells(summary, runs, sc, variants, after, per_round=False)]))
    out.append("")
    skipped = [sc for sc in scenarios if not sc.direct]
    if skipped:
        out.append(f"¹ {skipped[0].direct_skip_reason}.\n")
    return out


def before_after_pairs(variants):
    """(after, before) variants with the same worker count, when a baseline binary was run."""
    before = {v["workers"]: v for v in variants if v.get("baseline")}
    return [(v, before[v["workers"]]) for v in variants
            if not v.get("baseline") and v["workers"] in before]


def before_after_section(scenarios, summary, runs, variants):
    pairs = before_after_pairs(variants)
    if not pairs:
        return []
    out = ["## pgrouter after / before (same rounds)\n"]
    out.append("The binary under test against the baseline (--pgrouter-baseline), same worker "
               "count; below 1 is better for CPU, above 1 better for TPS.\n")
    out += table_head(["Scenario", "workers", "TPS after / before", "per round",
                       "CPU µs/tx after / before", "per round"])
    for sc in scenarios:
        for now, old in pairs:
            cells = [f"({sc.key}) {sc.title}", str(now["workers"])]
            for field in ("tps", "cpu_us_per_tx"):
                cells.append(ratio(value(summary, sc, now["key"], field),
                                   value(summary, sc, old["key"], field)))
                cells.append(paired(runs, sc, field, now["key"], old["key"]))
            out.append(row(cells))
    out.append("")
    return out


kUnrouted = "pgrouter-unrouted"
kWindow = "pgrouter-routed"
kLsn = "pgrouter-routed-lsn"
kNodes = ("primary", "replica1", "replica2")


def statements_cells(s):
    """'N (x%)' per node: statements (pgbench_accounts scans) summed over the ok rounds."""
    counts = s.get("server_statements") or {}
    total = sum(counts.get(n, 0) for n in kNodes)
    if not total:
        return ["—"] * len(kNodes)
    return [f"{counts.get(n, 0):,} ({100 * counts.get(n, 0) / total:.0f}%)" for n in kNodes]


def routing_section(scenarios, summary, runs, labels):
    out = ["## Routing over a primary and 2 streaming replicas (median)\n"]
    out.append("The same pgrouter binary with the replicas in its config (routing on: pgrouter's "
               "defaults, consistency window or lsn) and without them (unrouted: every statement "
               "to the primary); PgBouncer on the primary as a reference. CPU = pgrouter's (or "
               "PgBouncer's) utime+stime per transaction, all threads (the health prober "
               "included). \"/ unrouted\" = ratio of the medians; \"per round\" = the ratio "
               "within each round. Statements per server: scans of pgbench_accounts (each "
               "statement of these scenarios reads or updates one row) from each server's "
               "pg_stat_user_tables, summed over the rounds.\n")
    out += table_head(["Scenario", "Target", "TPS", "CPU µs/tx", "CPU µs/tx after logins",
                       "CPU / unrouted", "per round", "TPS / unrouted",
                       "statements on primary", "on replica1", "on replica2"])
    for sc in scenarios:
        for key in sc.targets:
            s = summary.get((sc.key, key))
            if not s:
                continue
            base = key == kUnrouted
            out.append(row([
                f"({sc.key}) {sc.title}", labels.get(key, key),
                cell(summary, sc, key, "tps", 0),
                cell(summary, sc, key, "cpu_us_per_tx", 1),
                cell(summary, sc, key, "cpu_us_per_tx_after_login", 1),
                "—" if base else ratio(value(summary, sc, key, "cpu_us_per_tx"),
                                       value(summary, sc, kUnrouted, "cpu_us_per_tx")),
                "—" if base else paired(runs, sc, "cpu_us_per_tx", key, kUnrouted),
                "—" if base else ratio(value(summary, sc, key, "tps"),
                                       value(summary, sc, kUnrouted, "tps")),
                *(statements_cells(s) if not s["unavailable"] else ["—"] * len(kNodes)),
            ]))
    out.append("")
    return out


kSharded = "pgrouter-sharded"
kUnsharded = "pgrouter-unsharded"
kShardCountNodes = ("primary", "shard0", "shard1")


def sharding_section(scenarios, summary, runs, labels):
    out = ["## Sharding over 2 shards vs one server (median)\n"]
    out.append("The same pgrouter binary with database bench sharded over shard0 + shard1 "
               "(xxh3, 1024 slots, 0-511 / 512-1023, key accounts.user_id; shard primaries only, "
               "no replica in the config) and with bench on the main primary alone (unsharded: "
               "every row there, no replicas in the config). CPU = pgrouter's utime+stime per "
               "transaction, all threads (the health prober included). \"/ unsharded\" = ratio "
               "of the medians; \"per round\" = the ratio within each round. Statements per "
               "server: scans of table accounts (index scans for keyed statements, a sequential "
               "scan per shard for the aggregate) from pg_stat_user_tables, summed over the "
               "rounds.\n")
    out += table_head(["Scenario", "Target", "TPS", "CPU µs/tx", "CPU µs/tx after logins",
                       "CPU / unsharded", "per round", "TPS / unsharded",
                       "accounts scans on primary", "on shard0", "on shard1"])
    for sc in scenarios:
        for key in sc.targets:
            s = summary.get((sc.key, key))
            if not s:
                continue
            base = key == kUnsharded
            counts = s.get("server_statements") or {}
            nodes = ([fmt(counts.get(n, 0)) for n in kShardCountNodes]
                     if counts and not s["unavailable"] else ["—"] * len(kShardCountNodes))
            out.append(row([
                f"({sc.key}) {sc.title}", labels.get(key, key),
                cell(summary, sc, key, "tps", 0),
                cell(summary, sc, key, "cpu_us_per_tx", 1),
                cell(summary, sc, key, "cpu_us_per_tx_after_login", 1),
                "—" if base else ratio(value(summary, sc, key, "cpu_us_per_tx"),
                                       value(summary, sc, kUnsharded, "cpu_us_per_tx")),
                "—" if base else paired(runs, sc, "cpu_us_per_tx", key, kUnsharded),
                "—" if base else ratio(value(summary, sc, key, "tps"),
                                       value(summary, sc, kUnsharded, "tps")),
                *nodes,
            ]))
    out.append("")
    return out


def lsn_section(scenarios, summary, runs, labels):
    writing = [sc for sc in scenarios if sc.write_script]
    if not writing:
        return []
    out = ["## Read-your-writes: lsn vs window, per write transaction (median)\n"]
    out.append("In write-only every transaction is one UPDATE, so CPU µs/tx is per write. "
               "\"Other primary tx per write\" = (transactions committed on the primary − "
               "pgbench_accounts scans there) / writes: the lsn mode's hidden "
               "`SELECT pg_current_wal_insert_lsn()` after each write (one extra round trip to "
               "the primary), plus about one health probe a second and pgbench's start-up "
               "VACUUMs.\n")
    out += table_head(["Scenario", "Target", "TPS", "writes per run", "CPU µs/tx",
                       "CPU / window", "per round", "TPS / window", "other primary tx per write"])
    for sc in writing:
        for key in sc.targets:
            if key == "pgbouncer" or (sc.key, key) not in summary:
                continue
            base = key == kWindow
            out.append(row([
                f"({sc.key}) {sc.title}", labels.get(key, key),
                cell(summary, sc, key, "tps", 0),
                cell(summary, sc, key, "writes", 0),
                cell(summary, sc, key, "cpu_us_per_tx", 1),
                "—" if base else ratio(value(summary, sc, key, "cpu_us_per_tx"),
                                       value(summary, sc, kWindow, "cpu_us_per_tx")),
                "—" if base else paired(runs, sc, "cpu_us_per_tx", key, kWindow),
                "—" if base else ratio(value(summary, sc, key, "tps"),
                                       value(summary, sc, kWindow, "tps")),
                cell(summary, sc, key, "other_primary_xacts_per_write", 3),
            ]))
    out.append("")
    return out


def idle_kib(record):
    # Runs saved before the two kinds divided by the clients still open ("kib_per_conn").
    return record.get("kib_per_client", record.get("kib_per_conn"))


def idle_section(idle, labels):
    if not idle:
        return []
    out = [f"## Idle memory ({idle[0]['count']:,} idle clients of each kind per pooler, "
           "trust auth)\n"]
    out.append("KiB per idle client = (RSS after − RSS before) / clients that succeeded, each kind "
               "on a fresh pooler process. RSS before is taken after one warm-up login and "
               "`SELECT 1`. Server connections: the pooler's connections to PostgreSQL before → "
               "after (clients that queried may grow the pool up to its size, 20).\n")
    out += table_head(["Idle clients", "Pooler", "succeeded", "still open", "server conns",
                       "RSS before (KiB)", "RSS after (KiB)", "KiB per idle client",
                       "/ PgBouncer"])
    bouncer = {r.get("kind", "login"): idle_kib(r) for r in idle
               if r["target"] == "pgbouncer" and "problem" not in r}
    for r in idle:
        kind = r.get("kind_title", "logged in, never queried")
        label = r.get("label", labels.get(r["target"], r["target"]))
        if "problem" in r:
            out.append(row([kind, label, f"not measured: {r['problem'].strip().splitlines()[0]}",
                            *[""] * 6]))
            continue
        conns = (f"{r['server_conns_before']} → {r['server_conns_after']}"
                 if "server_conns_after" in r else "—")
        out.append(row([
            kind, label, fmt(r.get("ok")), fmt(r.get("alive")), conns,
            fmt(r.get("rss_before_kib")), fmt(r.get("rss_after_kib")), fmt(idle_kib(r), 2),
            "—" if r["target"] == "pgbouncer"
            else ratio(idle_kib(r), bouncer.get(r.get("kind", "login"))),
        ]))
    out.append("")
    for r in idle:
        if r.get("failed"):
            out.append(f"{r.get('label', labels.get(r['target']))} "
                       f"({r.get('kind', 'login')}): {r['failed']} clients failed: "
                       f"{r.get('errors')}\n")
    return out


def failures_section(scenarios, summary, labels):
    problems = [(sc, t, summary[(sc.key, t)]) for sc in scenarios for t in labels
                if (sc.key, t) in summary
                and (summary[(sc.key, t)]["problems"] or summary[(sc.key, t)]["errors"])]
    if not problems:
        return []
    out = ["## Failures and errors\n"]
    for sc, t, s in problems:
        out.append(f"* ({sc.key}) {labels[t]}: {s['ok_runs']}/{s['runs']} runs ok, "
                   f"{s['aborted_clients']} pgbench clients aborted")
        for text, count in sorted(s["errors"].items(), key=lambda kv: -kv[1])[:5]:
            out.append(f"  * {count} × `{text}`")
        folded = {re.sub(r"client \d+", "client N", p) for p in s["problems"]}
        for p in sorted(folded)[:3]:
            out.append(f"  * run problem: `{p.strip().splitlines()[0] if p.strip() else p}`")
    out.append("")
    return out


def spread(record):
    """Statements per node: primary / replica1 / replica2, or primary / shard0 / shard1 for the
    sharding scenarios (the nodes the run's counters were read from)."""
    counts = record.get("server_statements")
    if not counts:
        return "—"
    nodes = kShardCountNodes if "shard0" in counts else kNodes
    return " / ".join(fmt(counts.get(n)) for n in nodes)


def every_run_section(runs, labels):
    out = ["## Every run\n"]
    out.append("Pooler CPU (s) is the whole run; login s / login CPU s: time until all clients "
               "were connected and the pooler's CPU until then; pgbench µs/tx: pgbench's own "
               "CPU.\n")
    out.append("| Round | Scenario | Target | TPS | Latency (ms) | Transactions | Pooler CPU (s) | "
               "µs/tx | µs/tx after logins | login s | login CPU s | pgbench µs/tx | Load 1m | "
               "Statements primary / replica1 / replica2 (s*: primary / shard0 / shard1) | Status |")
    out.append("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in runs:
        status = "ok" if r["ok"] else "FAILED"
        if r.get("failed_tx"):
            status += f", {r['failed_tx']} failed tx"
        out.append(
            f"| {r['round']} | {r['scenario']} | {labels.get(r['target'], r['target'])} | "
            f"{fmt(r.get('tps'))} | {fmt(r.get('latency_ms'), 3)} | "
            f"{fmt(r.get('transactions'))} | {fmt(r.get('cpu_seconds'), 2)} | "
            f"{fmt(r.get('cpu_us_per_tx'), 1)} | {fmt(r.get('cpu_us_per_tx_after_login'), 1)} | "
            f"{fmt(r.get('login_seconds'), 2)} | {fmt(r.get('login_cpu_seconds'), 2)} | "
            f"{fmt(r.get('client_cpu_us_per_tx'), 1)} | {r['loadavg']:.2f} | "
            f"{spread(r)} | {status} |")
    out.append("")
    return out


def setup_section(meta, variants, idle):
    v = meta["versions"]
    a = meta["args"]
    plain = a["password_form"] == "plain"
    stored = "plaintext password" if plain else "SCRAM verifier from pg_authid"
    out = ["## Setup\n"]
    out.append(f"* PostgreSQL: {v['postgres']}; pgbench: {v['pgbench']}; PgBouncer: "
               f"{v['pgbouncer']}; bench repository at {meta.get('git_head', '?')}")
    for var in variants:
        out.append(f"* {var['label']}: {var['version']} (`{var['binary']}`, {var['identity']}; "
                   f"repository at {var['git_head']}), workers {var['workers']}")
    settings = ", ".join(f"{k} = {val}" for k, val in meta["pg_settings"].items())
    out.append(f"* PostgreSQL 15 started by the bench on 127.0.0.1: {settings} (throw-away data). "
               f"`pgbench -i -s {a['scale']}`.")
    if meta.get("topology_ports") and not meta.get("replicas_stopped"):
        ports = meta["topology_ports"]
        out.append("* Routing scenarios (r*): `scripts/local_topology.sh start DIR "
                   f"{ports['primary']}` (primary on {ports['primary']}, streaming replicas "
                   f"replica1 on {ports['replica1']} and replica2 on {ports['replica2']}; fsync = "
                   "off, wal_level replica, hot_standby_feedback on), then synchronous_commit = "
                   "off on the primary (ALTER SYSTEM) and the same role, database and "
                   f"`pgbench -i -s {a['scale']}` there; the replicas replay them before the "
                   "runs. Each run is followed by an 11 s pause before the servers' statistics "
                   "are read (PostgreSQL flushes an idle backend's counters after 10 s). pgrouter "
                   "there: the binary under test with its first worker count, user bench with "
                   "its plaintext password (the health checks log in with it).")
    if meta.get("shard_rows"):
        rows = meta["shard_rows"]
        stopped = (" The streaming replicas (replica1, replica2, shard0r) were stopped after the "
                   "setup: no config used them and they would replay the writes on the same "
                   "cores." if meta.get("replicas_stopped") else "")
        out.append("* Sharding scenarios (s*): the same topology's shard0 "
                   f"({meta['topology_ports'].get('shard0')}) and shard1 "
                   f"({meta['topology_ports'].get('shard1')}) with role bench, database bench and "
                   "synchronous_commit = off; table accounts (user_id bigint primary key, "
                   f"abalance int, balance int) with keys 1..{a.get('shard_rows')} on the main "
                   "primary (all rows) and on the shards loaded through a sharded pgrouter by "
                   f"COPY FROM STDIN (rows per shard: {rows}). pgbench -n (no pgbench tables to "
                   "VACUUM)." + stopped)
    idle_conn = idle[0].get("max_client_conn", 12000) if idle else 12000
    idle_note = f" ({idle_conn} in the idle-memory test)" if idle_conn != 12000 else ""
    out.append("* PgBouncer: pool_mode transaction, default_pool_size 20, max_client_conn 12000"
               f"{idle_note}, auth_type scram-sha-256. pgrouter: pool.mode transaction, pool.size "
               f"20, pool.max_client_conn 12000{idle_note}, scram-sha-256. Both store the "
               f"{stored} for user bench. Trust scenarios and the idle-memory test use user "
               "bench_trust, which pg_hba.conf and both poolers trust, through separate pooler "
               "instances with the same pool settings.")
    out.append(f"* Open-file limit: {meta['nofile']}. CPU per transaction = (utime + stime) of the "
               f"pooler process from /proc/PID/stat (all threads, {meta['clk_tck']} ticks/s) "
               "across the whole pgbench run, including logins and pgbench's initial VACUUM, "
               "divided by \"number of transactions actually processed\".")
    out.append("* pgbench, PostgreSQL and the pooler share the same CPUs, so absolute numbers are "
               "low and noisy; compare the ratios within one run.")
    out.append("")
    return out


def render_report(meta, scenarios, summary, runs, idle):
    variants = variants_of(meta)
    labels = labels_of(variants, meta)
    single = [sc for sc in scenarios
              if getattr(sc, "group", "") not in ("topology", "sharding")]
    routed = [sc for sc in scenarios if getattr(sc, "group", "") == "topology"]
    sharded = [sc for sc in scenarios if getattr(sc, "group", "") == "sharding"]
    out = header_section(meta, summary, labels)
    if single:
        out += throughput_section(single, summary, runs, variants)
        out += latency_section(single, summary, variants)
        out += cpu_section(single, summary, runs, variants)
        out += before_after_section(single, summary, runs, variants)
    if routed:
        out += routing_section(routed, summary, runs, labels)
        out += lsn_section(routed, summary, runs, labels)
    if sharded:
        out += sharding_section(sharded, summary, runs, labels)
    out += idle_section(idle, labels)
    out += failures_section(scenarios, summary, labels)
    out += every_run_section(runs, labels)
    out += setup_section(meta, variants, idle)
    return "\n".join(out)
