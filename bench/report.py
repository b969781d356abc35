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


kLabels = {"direct": "direct", "pgbouncer": "PgBouncer", "pgrouter": "pgrouter"}


def paired(runs, scenario, field):
    """pgrouter / PgBouncer per round. Within a round the two ran back to back, so these
    ratios show how much of the spread comes from load that drifted between rounds."""
    by_round = {}
    for r in runs:
        if r["scenario"] == scenario.key and r.get("ok") and r.get(field) is not None:
            by_round.setdefault(r["round"], {})[r["target"]] = r[field]
    ratios = [v["pgrouter"] / v["pgbouncer"] for _, v in sorted(by_round.items())
              if v.get("pgbouncer") and "pgrouter" in v]
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


def render_report(meta, scenarios, summary, runs, idle):
    direct, bouncer, router = "direct", "pgbouncer", "pgrouter"
    m = meta["machine"]
    a = meta["args"]
    out = []
    w = out.append

    w(f"# pgrouter vs PgBouncer vs direct PostgreSQL — {meta['started_utc']}\n")
    if meta.get("interrupted"):
        w("**Interrupted: the figures below are from the runs that finished.**\n")
    w(f"Command: `{meta['command']}`  ")
    w(f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_gib']} GiB RAM, Linux "
      f"{m['kernel']}, Debian {m['debian']}  ")
    w(f"Rounds: {a['rounds']} × {a['duration']} s per run, targets interleaved within each round; "
      "figures are medians over rounds.  ")
    w(f"Load average (1 min) at start {meta['loadavg_start'][0]:.2f}, at end "
      f"{meta.get('loadavg_end', (0,))[0]:.2f}.\n")
    reasons = {}
    for (sc_key, target), s in summary.items():
        if s["unavailable"]:
            reasons.setdefault((target, s["unavailable"].strip()), []).append(sc_key)
    for (target, why), keys in reasons.items():
        w(f"**{kLabels[target]} was not measured** in ({', '.join(keys)}): "
          f"{why.splitlines()[0]}\n")

    w("## Throughput (TPS, median)\n")
    w("pgrouter / PgBouncer is the ratio of the medians; \"per round\" gives the ratio within "
      "each round, where the two ran back to back.\n")
    w("| Scenario | direct | PgBouncer | pgrouter | pgrouter / PgBouncer | per round |")
    w("|---|---:|---:|---:|---:|---:|")
    for sc in scenarios:
        w(f"| ({sc.key}) {sc.title} | {cell(summary, sc, direct, 'tps', 0)} | "
          f"{cell(summary, sc, bouncer, 'tps', 0)} | {cell(summary, sc, router, 'tps', 0)} | "
          f"{ratio(value(summary, sc, router, 'tps'), value(summary, sc, bouncer, 'tps'))} | "
          f"{paired(runs, sc, 'tps')} |")
    w("")

    w("## Average latency (ms, median)\n")
    w("| Scenario | direct | PgBouncer | pgrouter |")
    w("|---|---:|---:|---:|")
    for sc in scenarios:
        w(f"| ({sc.key}) {sc.title} | {cell(summary, sc, direct, 'latency_ms', 3)} | "
          f"{cell(summary, sc, bouncer, 'latency_ms', 3)} | "
          f"{cell(summary, sc, router, 'latency_ms', 3)} |")
    w("")

    w("## Pooler CPU per transaction (µs, median; lower is better)\n")
    w("Whole run: the pooler's CPU from pgbench's start to its exit (logins included), divided by "
      "the transactions. After logins: from the moment all clients are connected; not "
      "applicable to the new-connection-per-transaction scenarios.\n")
    w("| Scenario | PgBouncer | pgrouter | pgrouter / PgBouncer | per round | "
      "PgBouncer after logins | pgrouter after logins | ratio after logins |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for sc in scenarios:
        cpu, after = "cpu_us_per_tx", "cpu_us_per_tx_after_login"
        w(f"| ({sc.key}) {sc.title} | {cell(summary, sc, bouncer, cpu, 1)} | "
          f"{cell(summary, sc, router, cpu, 1)} | "
          f"{ratio(value(summary, sc, router, cpu), value(summary, sc, bouncer, cpu))} | "
          f"{paired(runs, sc, cpu)} | {cell(summary, sc, bouncer, after, 1)} | {cell(summary, sc, router, after, 1)} | "
          f"{ratio(value(summary, sc, router, after), value(summary, sc, bouncer, after))} |")
    w("")
    skipped = [sc for sc in scenarios if not sc.direct]
    if skipped:
        w(f"¹ {skipped[0].direct_skip_reason}.\n")

    if idle:
        w(f"## Idle memory ({idle[0]['count']:,} idle clients, trust auth)\n")
        w("| Pooler | logged in | still open | RSS before (KiB) | RSS after (KiB) | "
          "KiB per idle client |")
        w("|---|---:|---:|---:|---:|---:|")
        per_conn = {}
        for r in idle:
            label = kLabels[r["target"]]
            if "problem" in r:
                w(f"| {label} | not measured: {r['problem'].strip().splitlines()[0]} | | | | |")
                continue
            per_conn[r["target"]] = r.get("kib_per_conn")
            w(f"| {label} | {fmt(r.get('ok'))} | {fmt(r.get('alive'))} | "
              f"{fmt(r.get('rss_before_kib'))} | {fmt(r.get('rss_after_kib'))} | "
              f"{fmt(r.get('kib_per_conn'), 2)} |")
        w("")
        w(f"pgrouter / PgBouncer KiB per idle client: "
          f"{ratio(per_conn.get('pgrouter'), per_conn.get('pgbouncer'))}\n")
        for r in idle:
            if r.get("failed"):
                w(f"{kLabels[r['target']]}: {r['failed']} logins failed: {r.get('errors')}\n")

    problems = [(sc, t, summary[(sc.key, t)]) for sc in scenarios for t in kLabels
                if (sc.key, t) in summary
                and (summary[(sc.key, t)]["problems"] or summary[(sc.key, t)]["errors"])]
    if problems:
        w("## Failures and errors\n")
        for sc, t, s in problems:
            w(f"* ({sc.key}) {kLabels[t]}: {s['ok_runs']}/{s['runs']} runs ok, "
              f"{s['aborted_clients']} pgbench clients aborted")
            for text, count in sorted(s["errors"].items(), key=lambda kv: -kv[1])[:5]:
                w(f"  * {count} × `{text}`")
            folded = {re.sub(r"client \d+", "client N", p) for p in s["problems"]}
            for p in sorted(folded)[:3]:
                w(f"  * run problem: `{p.strip().splitlines()[0] if p.strip() else p}`")
        w("")

    w("## Every run\n")
    w("Pooler CPU (s) is the whole run; login s / login CPU s: time until all clients were "
      "connected and the pooler's CPU until then; pgbench µs/tx: pgbench's own CPU.\n")
    w("| Round | Scenario | Target | TPS | Latency (ms) | Transactions | Pooler CPU (s) | µs/tx | "
      "µs/tx after logins | login s | login CPU s | pgbench µs/tx | Load 1m | Status |")
    w("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in runs:
        status = "ok" if r["ok"] else "FAILED"
        if r.get("failed_tx"):
            status += f", {r['failed_tx']} failed tx"
        w(f"| {r['round']} | {r['scenario']} | {kLabels[r['target']]} | {fmt(r.get('tps'))} | "
          f"{fmt(r.get('latency_ms'), 3)} | {fmt(r.get('transactions'))} | "
          f"{fmt(r.get('cpu_seconds'), 2)} | {fmt(r.get('cpu_us_per_tx'), 1)} | "
          f"{fmt(r.get('cpu_us_per_tx_after_login'), 1)} | {fmt(r.get('login_seconds'), 2)} | "
          f"{fmt(r.get('login_cpu_seconds'), 2)} | {fmt(r.get('client_cpu_us_per_tx'), 1)} | "
          f"{r['loadavg']:.2f} | {status} |")
    w("")

    w("## Setup\n")
    v = meta["versions"]
    plain = a["password_form"] == "plain"
    stored = "plaintext password" if plain else "SCRAM verifier from pg_authid"
    w(f"* PostgreSQL: {v['postgres']}; pgbench: {v['pgbench']}; PgBouncer: {v['pgbouncer']}; "
      f"pgrouter: {v['pgrouter']} (`{a['pgrouter']}`, {meta.get('pgrouter_binary', '?')}; "
      f"repository at {meta.get('git_head', '?')})")
    settings = ", ".join(f"{k} = {val}" for k, val in meta["pg_settings"].items())
    w(f"* PostgreSQL 15 started by the bench on 127.0.0.1: {settings} (throw-away data). "
      f"`pgbench -i -s {a['scale']}`.")
    w("* PgBouncer: pool_mode transaction, default_pool_size 20, max_client_conn 12000, "
      "auth_type scram-sha-256. pgrouter: pool.mode transaction, pool.size 20, "
      f"pool.max_client_conn 12000, workers {a.get('pgrouter_workers', 0)}, scram-sha-256. Both store the "
      f"{stored} for user bench. Trust scenarios and the idle-memory test use user bench_trust, "
      "which "
      "pg_hba.conf and both poolers trust, through separate pooler instances with the same "
      "pool settings.")
    w(f"* Open-file limit: {meta['nofile']}. CPU per transaction = (utime + stime) of the pooler "
      f"process from /proc/PID/stat (all threads, {meta['clk_tck']} ticks/s) across the whole "
      "pgbench run, including logins and pgbench's initial VACUUM, divided by "
      "\"number of transactions actually processed\".")
    w("* pgbench, PostgreSQL and the pooler share the same CPUs, so absolute numbers are low and "
      "noisy; compare the ratios within one run.")
    w("")
    return "\n".join(out)
