# bench/services.py — starts and stops what the bench measures: its own PostgreSQL 15 (alone, or as
# scripts/local_topology.sh's primary + 2 replicas), PgBouncer and pgrouter instances, each in the
# bench's temp dir. Must not measure anything or touch other dirs.
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

kRepo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
kPgBin = "/usr/lib/postgresql/15/bin"
kHost = "127.0.0.1"
kPgUser = "postgres"  # OS user for PostgreSQL and PgBouncer: both refuse to run as root
kBenchUser = "bench"
kBenchPassword = "bench"
kBenchDb = "bench"
kTrustUser = "bench_trust"  # member of bench; pg_hba trusts it (churn without SCRAM, idle memory)
kPoolSize = 20
kMaxClientConn = 12000
kClkTck = os.sysconf("SC_CLK_TCK")
kTopologyScript = os.path.join(kRepo, "scripts", "local_topology.sh")

# The PostgreSQL settings the bench runs with. fsync/synchronous_commit off: only the proxies are
# being compared, and disk flushes would make the write scenario measure the disk instead.
kPgSettings = {
    "max_connections": "300",
    "shared_buffers": "'128MB'",
    "fsync": "off",
    "synchronous_commit": "off",
}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind((kHost, 0))
        return s.getsockname()[1]


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind((kHost, port))
            return True
        except OSError:
            return False


def free_port_block(count):
    """The first of `count` consecutive free ports (local_topology.sh takes BASE_PORT..+2)."""
    for _ in range(200):
        base = random.randrange(30000, 60000)
        if all(port_free(p) for p in range(base, base + count)):
            return base
    raise BenchError(f"no {count} consecutive free ports found in 30000-60000")


def port_open(port):
    try:
        with socket.create_connection((kHost, port), timeout=1):
            return True
    except OSError:
        return False


def die_with_parent():
    # PR_SET_PDEATHSIG: if bench.py itself is SIGKILLed, its children do not linger.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except Exception:
        pass


class Processes:
    """Everything started, stopped in reverse order on exit (also on Ctrl-C and SIGTERM)."""

    def __init__(self):
        self.entries = []  # (name, Popen, stop signal, grace seconds)

    def start(self, name, argv, log_path, stop_signal, grace, user=None, stdin=None, stdout=None):
        log_file = open(log_path, "ab")
        proc = subprocess.Popen(
            argv,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log_file,
            stderr=log_file,
            user=user,
            cwd=os.path.dirname(log_path),
            start_new_session=True,  # Ctrl-C reaches bench.py only; it stops the rest in order
            preexec_fn=die_with_parent,
        )
        log_file.close()
        self.entries.append((name, proc, stop_signal, grace))
        return proc

    def stop(self, proc):
        for entry in list(self.entries):
            if entry[1] is proc:
                self._stop(*entry)
                self.entries.remove(entry)

    @staticmethod
    def _stop(name, proc, stop_signal, grace):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(stop_signal)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{name} (pid {proc.pid}) did not stop within {grace}s; killing it")
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            pass

    def stop_all(self):
        while self.entries:
            self._stop(*self.entries.pop())


def run_checked(argv, what, user=None, env=None, timeout=600, cwd=None):
    result = subprocess.run(
        argv, user=user, env=env, cwd=cwd, timeout=timeout, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BenchError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def client_env():
    env = dict(os.environ)
    env.update(PGPASSWORD=kBenchPassword, PGCONNECT_TIMEOUT="10", PGAPPNAME="bench")
    return env


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After "pid (comm)" the fields start at number 3; utime is 14 and stime 15.
    return int(fields[11]) + int(fields[12])


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for pid {pid}")


class Target:
    def __init__(self, key, label, port=None, proc=None, unavailable="", user=kBenchUser):
        self.key = key
        self.label = label
        self.port = port
        self.proc = proc
        self.unavailable = unavailable  # why this target is not measured, if it is not
        self.user = user

    def pid(self):
        return self.proc.pid if self.proc else None


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def start_postgres(procs, work):
    data = os.path.join(work, "pgdata")
    port = free_port()
    locale = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower()
    locale_arg = "--locale=C.UTF-8" if re.search(r"^c\.utf-?8$", locale, re.M) else "--no-locale"
    run_checked(
        [
            f"{kPgBin}/initdb", "-D", data, "-U", kPgUser, "--auth-local=trust",
            "--auth-host=scram-sha-256", "-E", "UTF8", locale_arg, "--no-instructions",
        ],
        "initdb", user=kPgUser, cwd=work,
    )
    with open(os.path.join(data, "postgresql.conf"), "a") as f:
        f.write("\n# --- bench/bench.py ---\n")
        f.write(f"port = {port}\nlisten_addresses = '{kHost}'\n")
        f.write(f"unix_socket_directories = '{work}'\n")
        for key, value in kPgSettings.items():
            f.write(f"{key} = {value}\n")
    with open(os.path.join(data, "pg_hba.conf"), "w") as f:
        f.write("local all all trust\n")
        f.write(f"host all {kTrustUser} {kHost}/32 trust\n")
        f.write(f"host all all {kHost}/32 scram-sha-256\n")
    proc = procs.start(
        "postgres", [f"{kPgBin}/postgres", "-D", data], os.path.join(work, "postgres.log"),
        signal.SIGINT, 60, user=kPgUser,  # SIGINT = fast shutdown
    )
    for _ in range(120):
        if proc.poll() is not None:
            raise BenchError(f"postgres exited ({proc.returncode}); see {work}/postgres.log")
        ready = subprocess.run(
            [f"{kPgBin}/pg_isready", "-q", "-h", kHost, "-p", str(port)], capture_output=True
        )
        if ready.returncode == 0:
            return port, proc
        time.sleep(0.5)
    raise BenchError("postgres did not become ready")


def psql_admin(work, pg_port, sql, db="postgres"):
    return run_checked(
        [
            f"{kPgBin}/psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", work, "-p",
            str(pg_port), "-U", kPgUser, "-d", db, "-c", sql,
        ],
        f"psql: {sql}",
    )


def setup_database(work, pg_port, scale):
    psql_admin(work, pg_port, f"CREATE ROLE {kBenchUser} LOGIN PASSWORD '{kBenchPassword}'")
    psql_admin(work, pg_port, f"CREATE DATABASE {kBenchDb} OWNER {kBenchUser}")
    # Membership gives it bench's rights on the pgbench tables (pgbench truncates and vacuums).
    psql_admin(work, pg_port, f"CREATE ROLE {kTrustUser} LOGIN IN ROLE {kBenchUser}")
    log(f"pgbench -i -s {scale}")
    run_checked(
        [
            f"{kPgBin}/pgbench", "-i", "-q", "-s", str(scale), "-h", kHost, "-p", str(pg_port),
            "-U", kBenchUser, kBenchDb,
        ],
        "pgbench -i", env=client_env(),
    )
    verifier = psql_admin(
        work, pg_port, f"SELECT rolpassword FROM pg_authid WHERE rolname = '{kBenchUser}'"
    ).strip()
    if not verifier.startswith("SCRAM-SHA-256$"):
        raise BenchError(f"unexpected stored password for {kBenchUser}: {verifier[:20]}...")
    return verifier


# ---------------------------------------------------------------------------------------------
# Primary + 2 streaming replicas (the routing scenarios)


class Topology:
    """scripts/local_topology.sh's nodes under DIR: name -> port, primary first."""

    def __init__(self, directory, ports):
        self.dir = directory
        self.ports = ports

    @property
    def primary(self):
        return self.ports["primary"]

    def replicas(self):
        """The main primary's streaming replicas (not the shard nodes)."""
        return [port for name, port in self.ports.items() if name.startswith("replica")]


def read_topology_env(directory):
    # Line by line, not `source`: the values are raw (the verifier contains '$').
    env = {}
    with open(os.path.join(directory, "topology.env")) as f:
        for line in f:
            key, sep, val = line.rstrip("\n").partition("=")
            if sep:
                env[key] = val
    return env


def start_topology(work, scale, base_port=0):
    """The one topology definition (scripts/local_topology.sh) in WORK/topology, then the same
    roles, database and pgbench tables as start_postgres + setup_database, made on the primary
    (the replicas get them by streaming). Returns (Topology, SCRAM verifier of user bench)."""
    directory = os.path.join(work, "topology")
    base = base_port or free_port_block(6)
    log(f"local_topology.sh start (ports {base}-{base + 5})")
    run_checked([kTopologyScript, "start", directory, str(base)], "local_topology.sh start",
                timeout=300)
    env = read_topology_env(directory)
    topology = Topology(directory, {
        "primary": int(env["PRIMARY_PORT"]),
        "replica1": int(env["REPLICA1_PORT"]),
        "replica2": int(env["REPLICA2_PORT"]),
        "shard0": int(env["SHARD0_PORT"]),
        "shard0r": int(env["SHARD0_REPLICA_PORT"]),
        "shard1": int(env["SHARD1_PORT"]),
    })
    # The script's nodes differ from kPgSettings only in synchronous_commit (fsync is off,
    # max_connections 300 and shared_buffers 128MB, the default, in both).
    psql_admin(directory, topology.primary, "ALTER SYSTEM SET synchronous_commit = off")
    psql_admin(directory, topology.primary, "SELECT pg_reload_conf()")
    verifier = setup_database(directory, topology.primary, scale)
    wait_replicas_caught_up(topology)
    return topology, verifier


# The sharded table of the sharding scenarios (s*), as README "Sharding" configures one: 1024 xxh3
# slots, shard0 owns 0-511 and shard1 512-1023. Made in database bench of the main primary (all
# rows: the unsharded baseline) and of shard0 and shard1 (each only the rows whose key hashes to
# it, loaded through a sharded pgrouter with COPY FROM STDIN, which pgrouter splits by key).
kShardSlots = 1024
kShardRanges = ("0-511", "512-1023")
kShardNodes = ("shard0", "shard1")
kAccountsDdl = ("SET ROLE bench; CREATE TABLE accounts (user_id bigint PRIMARY KEY, "
                "abalance int NOT NULL DEFAULT 0, balance int NOT NULL DEFAULT 0)")


def sharding_yaml(shard_ports):
    shards = ", ".join(f'{{slots: "{slots}", primary: "{kHost}:{port}"}}'
                       for slots, port in zip(kShardRanges, shard_ports))
    return (f"sharding: {{function: xxh3, slots: {kShardSlots}, "
            f"tables: {{accounts: {{key: user_id, type: bigint}}}}}}, shards: [{shards}]")


def setup_sharding(procs, work, topology, rows, binary):
    """Role bench, database bench and an empty accounts table on each shard primary (replicas:
    none in the bench's config); accounts with every row on the main primary; then the rows
    loaded into the shards through a throw-away sharded pgrouter (COPY FROM STDIN, split by key)
    and checked: the shards' counts add up to `rows` and each got some."""
    d = topology.dir
    for node in kShardNodes:
        port = topology.ports[node]
        psql_admin(d, port, f"CREATE ROLE {kBenchUser} LOGIN PASSWORD '{kBenchPassword}'")
        psql_admin(d, port, f"CREATE DATABASE {kBenchDb} OWNER {kBenchUser}")
        psql_admin(d, port, "ALTER SYSTEM SET synchronous_commit = off")
        psql_admin(d, port, "SELECT pg_reload_conf()")
        psql_bench(d, port, kAccountsDdl)
    psql_bench(d, topology.primary, kAccountsDdl)
    psql_bench(d, topology.primary,
               f"INSERT INTO accounts (user_id, abalance, balance) "
               f"SELECT g, 0, g % 1000 FROM generate_series(1, {rows}) g")
    psql_bench(d, topology.primary, "VACUUM ANALYZE accounts")
    loader = start_pgrouter(procs, work, "shard-loader", binary, topology.primary, "scram",
                            kBenchPassword, key="loader", label="pgrouter (loader)",
                            shards=[topology.ports[n] for n in kShardNodes])
    if loader.unavailable:
        raise BenchError(f"sharded pgrouter for loading: {loader.unavailable}")
    data = "".join(f"{k}\t0\t{k % 1000}\n" for k in range(1, rows + 1))
    result = subprocess.run(
        [f"{kPgBin}/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", kHost, "-p",
         str(loader.port), "-U", kBenchUser, "-d", kBenchDb,
         "-c", "\\copy accounts (user_id, abalance, balance) FROM pstdin"],
        input=data, env=client_env(), capture_output=True, text=True, timeout=600)
    procs.stop(loader.proc)
    if result.returncode != 0:
        raise BenchError(f"COPY through the sharded pgrouter failed: {result.stderr}")
    counts = {}
    for node in kShardNodes:
        psql_bench(d, topology.ports[node], "VACUUM ANALYZE accounts")
        counts[node] = int(psql_bench(d, topology.ports[node],
                                      "SELECT count(*) FROM accounts").strip())
    if sum(counts.values()) != rows or not all(counts.values()):
        raise BenchError(f"rows per shard after COPY: {counts}, expected {rows} in all")
    log(f"accounts: {rows} rows on the primary; per shard {counts}")
    return counts


def psql_bench(directory, port, sql):
    return psql_admin(directory, port, sql, db=kBenchDb)


def stop_replicas(topology):
    """The streaming replicas take no part in the sharding scenarios (none is in the bench's
    pgrouter configs); stopped, they do not replay the writes on the 2 shared cores."""
    for name in ("replica1", "replica2", "shard0r"):
        run_checked([kTopologyScript, "stop-node", topology.dir, name],
                    f"local_topology.sh stop-node {name}", timeout=120)


def wait_replicas_caught_up(topology, seconds=120):
    """Until every replica has replayed what the primary had written (pgbench -i's tables)."""
    lsn = psql_admin(topology.dir, topology.primary, "SELECT pg_current_wal_lsn()").strip()
    want = len(topology.replicas())
    for _ in range(seconds * 5):
        got = psql_admin(topology.dir, topology.primary,
                         "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' "
                         f"AND replay_lsn >= '{lsn}'").strip()
        if int(got) >= want:
            return
        time.sleep(0.2)
    raise BenchError(f"replicas did not replay up to {lsn} within {seconds}s")


def stop_topology(directory):
    result = subprocess.run([kTopologyScript, "stop", directory], capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        log(f"local_topology.sh stop {directory} failed: {result.stdout}{result.stderr}")


# ---------------------------------------------------------------------------------------------
# Poolers


def wait_listening(proc, port, log_path, name, seconds=20):
    for _ in range(int(seconds * 10)):
        if proc.poll() is not None:
            break
        if port_open(port):
            return ""
        time.sleep(0.1)
    tail = ""
    if os.path.exists(log_path):
        with open(log_path, errors="replace") as f:
            tail = "".join(f.readlines()[-15:])
    state = f"exited with status {proc.returncode}" if proc.poll() is not None else "not listening"
    return f"{name} {state} on {kHost}:{port}; log tail:\n{tail}"


def chown_pg(path):
    shutil.chown(path, kPgUser, kPgUser)


def start_pgbouncer(procs, work, name, pg_port, auth, secret, max_client_conn=kMaxClientConn):
    """auth 'scram' (user bench; secret = plaintext or verifier) or 'trust' (user bench_trust)."""
    user = kBenchUser if auth == "scram" else kTrustUser
    port = free_port()
    cfg = os.path.join(work, f"{name}.ini")
    users = os.path.join(work, f"{name}.users")
    log_path = os.path.join(work, f"{name}.log")
    with open(users, "w") as f:
        # With trust the user must still be listed; the server trusts bench_trust too.
        f.write(f'"{user}" "{secret if auth == "scram" else ""}"\n')
    with open(cfg, "w") as f:
        f.write(
            f"""[databases]
{kBenchDb} = host={kHost} port={pg_port} dbname={kBenchDb}

[pgbouncer]
listen_addr = {kHost}
listen_port = {port}
unix_socket_dir =
auth_type = {"scram-sha-256" if auth == "scram" else "trust"}
auth_file = {users}
pool_mode = transaction
default_pool_size = {kPoolSize}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = {max_client_conn}
query_wait_timeout = 30
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
stats_period = 3600
ignore_startup_parameters = extra_float_digits
"""
        )
    for path in (cfg, users):
        os.chmod(path, 0o600)
        chown_pg(path)
    proc = procs.start(
        name, ["/usr/sbin/pgbouncer", cfg], log_path, signal.SIGTERM, 15, user=kPgUser
    )
    problem = wait_listening(proc, port, log_path, "pgbouncer")
    if problem:
        raise BenchError(problem)
    return Target("pgbouncer", "PgBouncer", port, proc, user=user)


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


def start_pgrouter(procs, work, name, binary, pg_port, auth, secret, workers=1, key="pgrouter",
                   label="pgrouter", max_client_conn=kMaxClientConn, replicas=(), routing=None,
                   shards=(), wrapper=()):
    """key and label tell several pgrouter targets apart (binaries, worker counts) in one run.
    replicas: ports of pg_port's streaming replicas (routing on); routing: the database's
    `routing:` keys, e.g. {"consistency": "lsn"} (the rest keep pgrouter's defaults); shards:
    ports of shard primaries (kShardRanges' slots, sharding_yaml) instead of pg_port. wrapper:
    argv prefix, e.g. valgrind (bench/shard_instructions.py)."""
    user = kBenchUser if auth == "scram" else kTrustUser

    def unavailable(why):
        return Target(key, label, unavailable=why, user=user)

    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        return unavailable(f"binary not found: {binary}")
    port = free_port()
    cfg = os.path.join(work, f"{name}.yaml")
    log_path = os.path.join(work, f"{name}.log")
    if auth == "trust":
        user_yaml = f"{{name: {kTrustUser}, auth: trust}}"
    else:
        user_yaml = f"{{name: {kBenchUser}, auth: scram-sha-256, password: {yaml_str(secret)}}}"
    database = [sharding_yaml(shards) if shards else f'primary: "{kHost}:{pg_port}"']
    if replicas:
        database.append("replicas: [" + ", ".join(f'"{kHost}:{p}"' for p in replicas) + "]")
    if routing:
        database.append("routing: {" + ", ".join(f"{k}: {v}" for k, v in routing.items()) + "}")
    database_yaml = ", ".join(database)
    with open(cfg, "w") as f:
        f.write(
            f"""listen: "{kHost}:{port}"
workers: {workers}
pool: {{mode: transaction, size: {kPoolSize}, max_client_conn: {max_client_conn},
       query_wait_timeout_ms: 30000}}
users: [{user_yaml}]
databases: {{{kBenchDb}: {{{database_yaml}}}}}
log: {{level: warn, connections: false}}
"""
        )
    check = subprocess.run([binary, "--check-config", cfg], capture_output=True, text=True)
    if check.returncode != 0:
        return unavailable(
            f"--check-config rejected the bench config:\n{check.stdout}{check.stderr}")
    proc = procs.start(name, [*wrapper, binary, "--config", cfg], log_path, signal.SIGTERM,
                       120 if wrapper else 15)
    problem = wait_listening(proc, port, log_path, "pgrouter", 120 if wrapper else 20)
    if problem:
        procs.stop(proc)
        return unavailable(problem)
    return Target(key, label, port, proc, user=user)


def check_target(target, sql="SELECT count(*) FROM pgbench_branches"):
    """A real login and query through the target; returns '' or what went wrong."""
    result = subprocess.run(
        [
            f"{kPgBin}/psql", "-X", "-At", "-h", kHost, "-p", str(target.port), "-U", target.user,
            "-d", kBenchDb, "-c", sql,
        ],
        env=client_env(), capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0 or not result.stdout.strip().isdigit():
        return f"psql through {target.label} failed: {result.stdout}{result.stderr}".strip()
    return ""



