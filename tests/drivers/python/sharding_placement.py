#!/usr/bin/python3
# tests/drivers/python/sharding_placement.py — issue 8 with real Python drivers: rows inserted
# through pgrouter (database "sharded" on the topology's shard0/shard0r and shard1) by psycopg 3
# (server-side parameters, text and binary) and asyncpg (prepared statements, binary), bigint and
# text keys, then looked for on each shard directly. The expected shard comes from README's
# Python shard_hash (python3-xxhash), a second implementation next to pgrouter's own.
#
#   sharding_placement.py PGROUTER_BINARY TOPOLOGY_ENV
#
# Prints one "PASS|FAIL <case>" line per case and exits 1 when any failed. Owns the pgrouter it
# starts and the tables it makes (on the shards only); PGROUTER_BINARY and PGROUTER_TOPOLOGY_ENV
# in the environment override the arguments, as for the other driver tests.
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time

import asyncpg
import psycopg
import xxhash

SLOTS = 1024
SHARD_SLOTS = [(0, 511), (512, 1023)]


def shard_hash(key):
    """README "Shard hash": XXH3-64, seed 0, over the key's bytes."""
    if isinstance(key, int):
        data = key.to_bytes(8, "little", signed=True)
    else:
        data = key.encode("utf-8")
    return xxhash.xxh3_64_intdigest(data, seed=0)


def shard_of(key):
    slot = shard_hash(key) % SLOTS
    return next(i for i, (lo, hi) in enumerate(SHARD_SLOTS) if lo <= slot <= hi)


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key] = value
    return values


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def sharded_yaml(port, env):
    host = env["PGHOST"]
    return f"""listen: "127.0.0.1:{port}"
pool:
  mode: transaction
  size: 4
users:
  - {{name: app, auth: scram-sha-256, password: "app", server_password: "app"}}
databases:
  sharded:
    dbname: sharded
    sharding:
      function: xxh3
      slots: {SLOTS}
      tables:
        accounts: {{key: user_id, type: bigint}}
        notes: {{key: owner, type: text}}
      cross_shard_writes: error
    shards:
      - {{slots: "0-511", primary: "{host}:{env['SHARD0_PORT']}", replicas: ["{host}:{env['SHARD0_REPLICA_PORT']}"]}}
      - {{slots: "512-1023", primary: "{host}:{env['SHARD1_PORT']}"}}
limits:
  shutdown_timeout_ms: 3000
log:
  level: warn
  connections: false
"""


class Router:
    def __init__(self, binary, env, work):
        self.proc = None
        self.log_path = os.path.join(work, "pgrouter.log")
        for _ in range(3):
            self.port = free_port()
            config = os.path.join(work, "pgrouter.yaml")
            with open(config, "w", encoding="utf-8") as f:
                f.write(sharded_yaml(self.port, env))
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen([binary, "--config", config], stdout=log, stderr=log)
            for _ in range(100):
                if port_open(self.port):
                    return
                if self.proc.poll() is not None:
                    break
                time.sleep(0.1)
            self.stop()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            raise RuntimeError("pgrouter did not start:\n" + f.read()[-3000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def direct(env, shard):
    port = env["SHARD0_PORT"] if shard == 0 else env["SHARD1_PORT"]
    return psycopg.connect(host=env["PGHOST"], port=port, user="app", password="app",
                           dbname="sharded", autocommit=True, connect_timeout=10)


SCHEMA = """DROP TABLE IF EXISTS accounts, notes CASCADE;
CREATE TABLE accounts (user_id bigint PRIMARY KEY, name text);
CREATE TABLE notes (owner text, body text)"""


def found(env, table, column):
    """key -> shards it is on, read directly from each shard."""
    out = {}
    for shard in (0, 1):
        with direct(env, shard) as conn:
            for (key,) in conn.execute(f"SELECT {column} FROM {table}"):
                out.setdefault(key, []).append(shard)
    return out


def check_placed(env, table, column, keys):
    """Problems: keys not exactly on shard_of's shard, and keys nobody wrote."""
    on = found(env, table, column)
    problems = [f"{table} {k!r}: on {on.get(k, [])}, expected [{shard_of(k)}]"
                for k in keys if on.get(k) != [shard_of(k)]]
    problems += [f"{table} {k!r}: unexpected row" for k in on if k not in set(keys)]
    return problems


def psycopg_case(env, router):
    problems = []
    conninfo = dict(host="127.0.0.1", port=router.port, user="app", password="app",
                    dbname="sharded", autocommit=True, connect_timeout=10)
    with psycopg.connect(**conninfo) as conn:
        text_keys = list(range(1, 31)) + [-1, -42, 2**63 - 1]
        for k in text_keys:
            conn.execute("INSERT INTO accounts (user_id, name) VALUES (%s, %s)", (k, f"t{k}"))
        binary_keys = list(range(1000, 1020))
        with conn.cursor() as cur:
            for k in binary_keys:
                cur.execute("INSERT INTO accounts (user_id, name) VALUES (%s, %s)", (k, f"b{k}"),
                            binary=True)
        # A statement psycopg prepares on the server (prepare=True: named Parse, then Binds).
        prepared_keys = list(range(2000, 2010))
        for k in prepared_keys:
            conn.execute("INSERT INTO accounts (user_id, name) VALUES (%s, %s)", (k, f"p{k}"),
                         prepare=True)
        owners = ["alice", "bob", "carol", "", "é", "o'hara", "Zoë"]
        for o in owners:
            conn.execute("INSERT INTO notes (owner, body) VALUES (%s, 'x')", (o,))
        for k in text_keys[:5]:
            row = conn.execute("SELECT name FROM accounts WHERE user_id = %s", (k,)).fetchone()
            if row != (f"t{k}",):
                problems.append(f"read of user_id {k} through pgrouter gave {row!r}")
    problems += check_placed(env, "accounts", "user_id", text_keys + binary_keys + prepared_keys)
    problems += check_placed(env, "notes", "owner", owners)
    return problems


async def asyncpg_run(env, router):
    problems = []
    conn = await asyncpg.connect(host="127.0.0.1", port=router.port, user="app", password="app",
                                 database="sharded", timeout=10, statement_cache_size=100)
    try:
        keys = list(range(5000, 5040)) + [-7, 2**62]
        insert = await conn.prepare("INSERT INTO accounts (user_id, name) VALUES ($1, $2)")
        for k in keys:
            await insert.fetch(k, f"a{k}")
        await conn.executemany("INSERT INTO notes (owner, body) VALUES ($1, $2)",
                               [(o, "y") for o in ("dave", "erin", "frank", "grace")])
        for k in keys[:5]:
            name = await conn.fetchval("SELECT name FROM accounts WHERE user_id = $1", k)
            if name != f"a{k}":
                problems.append(f"read of user_id {k} through pgrouter gave {name!r}")
    finally:
        await conn.close()
    problems += check_placed(env, "accounts", "user_id", keys)
    problems += check_placed(env, "notes", "owner", ["dave", "erin", "frank", "grace"])
    return problems


def reset_tables(env):
    for shard in (0, 1):
        with direct(env, shard) as conn:
            conn.execute("SET client_min_messages = warning")
            conn.execute(SCHEMA)


def main():
    if len(sys.argv) != 3:
        print("usage: sharding_placement.py PGROUTER_BINARY TOPOLOGY_ENV", file=sys.stderr)
        return 2
    binary = os.environ.get("PGROUTER_BINARY") or sys.argv[1]
    env = read_env(os.environ.get("PGROUTER_TOPOLOGY_ENV") or sys.argv[2])
    if "SHARD0_PORT" not in env:
        print("topology.env has no shard nodes (scripts/local_topology.sh start adds them)",
              file=sys.stderr)
        return 2
    # README's golden vectors: this shard_hash is the one pgrouter documents.
    assert shard_hash(42) % SLOTS == 968 and shard_hash("alice") % SLOTS == 688
    failed = False
    with tempfile.TemporaryDirectory(prefix="pgrouter-sharding-py.") as work:
        try:
            router = Router(binary, env, work)
        except RuntimeError as e:
            print(f"FAIL start pgrouter with a sharded database: {e}")
            return 1
        try:
            for name, case in (("psycopg", lambda: psycopg_case(env, router)),
                               ("asyncpg", lambda: asyncio.run(asyncpg_run(env, router)))):
                reset_tables(env)
                try:
                    problems = case()
                except Exception as e:  # a driver error is this case's failure, not the run's
                    problems = [f"{type(e).__name__}: {e}"]
                print(("FAIL " if problems else "PASS ") + name)
                for p in problems[:20]:
                    print("    " + p)
                failed |= bool(problems)
        finally:
            router.stop()
            if failed:
                with open(router.log_path, encoding="utf-8", errors="replace") as f:
                    print("--- pgrouter log (tail)\n" + f.read()[-2000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
