# tests/drivers/python/asyncpg_cases.py — asyncpg cases (its own protocol implementation; every
# query with arguments is a named prepared statement, cached per connection): concurrent tasks on
# their own connections and on an asyncpg pool, explicit prepared statements reused across pooled
# server connections, LISTEN/NOTIFY, atomic executemany, cursors. Prints a transcript.
"""asyncpg cases for tests/drivers/run_driver.sh."""

import asyncio

import asyncpg

from driver_common import CONNECT_TIMEOUT_S, NOTIFY_WAIT_S, Env, Log, first_line, run_cases

CLIENTS = 40
ITERATIONS = 5
ROWS_PER_ITERATION = 4
ROLLED_BACK_ITERATION = 2
POOL_TASKS = 30
POOL_MAX_SIZE = 6

ENV = Env()


def describe_error(e):
    code = getattr(e, "sqlstate", None)
    message = first_line(getattr(e, "message", None) or str(e))
    return f"{code} {message}" if code else message


async def connect(**kwargs):
    return await asyncpg.connect(host=ENV.host, port=ENV.port, user=ENV.user,
                                 password=ENV.password, database=ENV.dbname,
                                 timeout=CONNECT_TIMEOUT_S, **kwargs)


async def sqlstate_of(coro):
    try:
        await coro
    except asyncpg.PostgresError as e:
        return e.sqlstate
    return "ok"


class Rotator:
    """driver_common.Rotator for asyncio: every step of a session case runs on a different pooled
    server connection than the step before it. The helpers use only argument-less execute(),
    which asyncpg sends as a simple Query: they never name a statement."""

    def __init__(self):
        self.conns = []
        self.holding = None

    async def open(self):
        self.conns = [await connect(statement_cache_size=0) for _ in range(2)]
        return self

    async def turn(self):
        idle = 0 if self.holding is None else 1 - self.holding
        await self.conns[idle].execute("BEGIN; SELECT 1")
        if self.holding is not None:
            await self.conns[self.holding].execute("COMMIT")
        self.holding = idle

    async def close(self):
        if self.holding is not None:
            await self.conns[self.holding].execute("COMMIT")
        for conn in self.conns:
            await conn.close()


class RollBack(Exception):
    """Raised inside `async with conn.transaction()` to end it with ROLLBACK."""


def iteration_values(client, it):
    return [client * 1000 + it * 10 + k for k in range(ROWS_PER_ITERATION)]


def expected_rows(client, iterations_done):
    values = [v for it in range(iterations_done) if it != ROLLED_BACK_ITERATION
              for v in iteration_values(client, it)]
    return (len(values), sum(values))


async def run_tasks(case, count, task_fn):
    """task_fn(log, i, ready) for i in range(count), started together; lines in id order."""
    logs = [Log(ENV) for _ in range(count)]
    connected = [0]
    all_ready = asyncio.Event()

    async def ready():
        connected[0] += 1
        if connected[0] == count:
            all_ready.set()
        await all_ready.wait()

    async def guarded(i):
        try:
            await task_fn(logs[i], i, ready)
        except Exception as e:  # noqa: BLE001 — every failure belongs in the transcript
            logs[i].unexpected(f"{type(e).__name__}: {describe_error(e)}")
            all_ready.set()

    await asyncio.gather(*(guarded(i) for i in range(count)))
    for i, log in enumerate(logs):
        lines, failed = log.snapshot()
        for line in lines:
            case.out(f"client {i:02d}: {line}")
        if failed:
            case.unexpected(f"client {i:02d} failed")


async def case_concurrent_connections(case):
    table = ENV.name("items")
    admin = await connect()
    await admin.execute(f"CREATE TABLE {table} (client int, iter int, n int)")

    async def task(log, i, ready):
        conn = await connect()
        await conn.execute(f"SET drv.client = 'c{i:02d}'")
        await ready()
        # prepare() sends Parse/Describe/Flush and no Sync: the server connection stays in that
        # batch (held) until this client's next Sync, so it must not wait for others before then.
        add = await conn.prepare("SELECT $1::int + $2::int")
        for it in range(ITERATIONS):
            values = iteration_values(i, it)
            try:
                try:
                    async with conn.transaction():
                        await conn.executemany(f"INSERT INTO {table} VALUES ($1, $2, $3)",
                                               [(i, it, v) for v in values])
                        before = expected_rows(i, it)
                        inside = await conn.fetchrow(
                            f"SELECT count(*), coalesce(sum(n), 0) FROM {table} "
                            "WHERE client = $1", i)
                        log.check(f"iteration {it} rows inside the transaction", tuple(inside),
                                  (before[0] + len(values), before[1] + sum(values)), quiet=True)
                        if it == ROLLED_BACK_ITERATION:
                            raise RollBack()
                except RollBack:
                    pass
                log.check(f"iteration {it} prepared", await add.fetchval(i, it), i + it,
                          quiet=True)
                log.check(f"iteration {it} setting",
                          await conn.fetchval("SELECT current_setting($1)", "drv.client"),
                          f"c{i:02d}", quiet=True)
            except asyncpg.PostgresError as e:
                log.unexpected(f"iteration {it}: {describe_error(e)}")
        log.check("committed rows", tuple(await conn.fetchrow(
            f"SELECT count(*), coalesce(sum(n), 0) FROM {table} WHERE client = $1", i)),
            expected_rows(i, ITERATIONS))
        await conn.close()

    await run_tasks(case, CLIENTS, task)
    case.check("all rows", tuple(await admin.fetchrow(
        f"SELECT count(*), count(DISTINCT client) FROM {table}")),
        (CLIENTS * (ITERATIONS - 1) * ROWS_PER_ITERATION, CLIENTS))
    await admin.execute(f"DROP TABLE {table}")
    await admin.close()


async def case_asyncpg_pool(case):
    table = ENV.name("pooled")
    pool = await asyncpg.create_pool(host=ENV.host, port=ENV.port, user=ENV.user,
                                     password=ENV.password, database=ENV.dbname,
                                     timeout=CONNECT_TIMEOUT_S, min_size=2,
                                     max_size=POOL_MAX_SIZE)
    await pool.execute(f"CREATE TABLE {table} (task int, n int)")

    async def task(log, i, ready):
        await ready()
        for it in range(3):
            try:
                # Each acquire may be a different client connection; release runs asyncpg's
                # reset (pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL).
                async with pool.acquire() as conn:
                    async with conn.transaction():
                        await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", i, it)
                        await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", i, it * 100)
                log.check(f"iteration {it} sum", await pool.fetchval(
                    f"SELECT sum(n) FROM {table} WHERE task = $1", i),
                    sum(k + k * 100 for k in range(it + 1)), quiet=True)
            except asyncpg.PostgresError as e:
                log.unexpected(f"iteration {it}: {describe_error(e)}")
        log.out(f"rows {await pool.fetchval(f'SELECT count(*) FROM {table} WHERE task = $1', i)}")

    await run_tasks(case, POOL_TASKS, task)
    case.check("all rows", await pool.fetchval(f"SELECT count(*) FROM {table}"), POOL_TASKS * 6)
    await pool.execute(f"DROP TABLE {table}")
    await pool.close()


async def case_prepared_reuse(case):
    conn = await connect()
    rot = await Rotator().open()
    await rot.turn()
    stmt = await conn.prepare("SELECT $1::int * 5")
    for k in range(4):
        await rot.turn()
        case.check(f"explicit statement, execution {k}", await stmt.fetchval(k), k * 5)
    for k in range(3):
        await rot.turn()
        case.check(f"cached statement, execution {k}",
                   await conn.fetchval("SELECT $1::text || '!'", str(k)), f"{k}!")
    await rot.close()
    await conn.close()


async def wait_notifications(queue, count):
    got = []
    try:
        while len(got) < count:
            got.append(await asyncio.wait_for(queue.get(), NOTIFY_WAIT_S))
    except asyncio.TimeoutError:
        pass
    return got


async def case_listen_notify(case):
    # No Rotator: the notifier gets the server connection the listener just used (LIFO pool), so
    # a LISTEN left behind on it would deliver to the wrong client.
    channel = ENV.name("chan")
    listener = await connect()
    notifier = await connect()
    received = asyncio.Queue()
    stray = asyncio.Queue()

    def on_listener(_conn, _pid, chan, payload):
        received.put_nowait((chan == channel, payload))

    def on_notifier(_conn, _pid, chan, payload):
        stray.put_nowait((chan == channel, payload))

    await listener.add_listener(channel, on_listener)
    await notifier.execute(f"NOTIFY {channel}, 'one'")
    await notifier.execute("SELECT pg_notify($1, 'two')", channel)
    case.check("listener receives", await wait_notifications(received, 2),
               [(True, "one"), (True, "two")])
    # The notifier never listened; a notification may still only reach a listening session.
    await notifier.add_listener(ENV.name("other"), on_notifier)
    case.check("notifier receives nothing", await wait_notifications(stray, 1), [])
    await listener.remove_listener(channel, on_listener)
    await notifier.execute(f"NOTIFY {channel}, 'three'")
    case.check("nothing after UNLISTEN", await wait_notifications(received, 1), [])
    await listener.close()
    await notifier.close()


async def case_executemany_error(case):
    table = ENV.name("many")
    conn = await connect()
    await conn.execute(f"CREATE TABLE {table} (v int CHECK (v > 0))")
    # executemany sends every Bind/Execute before one Sync: an error in the middle of the
    # pipeline leaves nothing behind.
    case.check("row 3 violates the check", await sqlstate_of(conn.executemany(
        f"INSERT INTO {table} VALUES ($1)", [(1,), (2,), (-3,), (4,)])), "23514")
    case.check("rows", await conn.fetchval(f"SELECT count(*) FROM {table}"), 0)
    await conn.executemany(f"INSERT INTO {table} VALUES ($1)", [(5,), (6,)])
    case.check("rows after a good batch", tuple(await conn.fetchrow(
        f"SELECT count(*), sum(v) FROM {table}")), (2, 11))
    async with conn.transaction():
        case.check("error inside a transaction", await sqlstate_of(
            conn.fetchval("SELECT 1 / $1::int", 0)), "22012")
        case.check("next statement", await sqlstate_of(conn.fetchval("SELECT 2")), "25P02")
        case.check("still in the transaction", conn.is_in_transaction(), True)
        raised = "no"
        try:
            async with conn.transaction():
                pass
        except asyncpg.PostgresError as e:
            raised = e.sqlstate
        case.check("savepoint in the failed transaction", raised, "25P02")
    case.check("usable afterwards", await conn.fetchval("SELECT $1::int + 1", 41), 42)
    await conn.execute(f"DROP TABLE {table}")
    await conn.close()


async def case_cursor_in_transaction(case):
    conn = await connect()
    rot = await Rotator().open()
    batches = []
    async with conn.transaction():
        # A portal that stays open across several Syncs inside the transaction.
        cursor = await conn.cursor("SELECT g FROM generate_series(1, $1::int) g", 30)
        while True:
            await rot.turn()
            rows = await cursor.fetch(8)
            if not rows:
                break
            batches.append((rows[0]["g"], len(rows)))
    case.check("batches", batches, [(1, 8), (9, 8), (17, 8), (25, 6)])
    async with conn.transaction():
        total = 0
        async for record in conn.cursor("SELECT g FROM generate_series(1, 100) g", prefetch=7):
            total += record["g"]
    case.check("iterated sum", total, 5050)
    await rot.close()
    await conn.close()


async def case_advisory_lock(case):
    # No Rotator: the two clients take turns on the server connection the other just used.
    key = ENV.lock_key("asyncpg")
    holder = await connect()
    other = await connect()
    await holder.execute(f"SELECT pg_advisory_lock({key})")
    case.check("other cannot take it",
               await other.fetchval("SELECT pg_try_advisory_lock($1::bigint)", key), False)
    case.check("holder unlocks",
               await holder.fetchval("SELECT pg_advisory_unlock($1::bigint)", key), True)
    case.check("other takes it",
               await other.fetchval("SELECT pg_try_advisory_lock($1::bigint)", key), True)
    await other.execute("SELECT pg_advisory_unlock_all()")
    case.check("free after unlock_all",
               await holder.fetchval("SELECT pg_try_advisory_lock($1::bigint)", key), True)
    await holder.close()
    await other.close()


def sync(coro_fn):
    return lambda case: asyncio.run(coro_fn(case))


CASES = [
    ("concurrent_connections", sync(case_concurrent_connections)),
    ("asyncpg_pool", sync(case_asyncpg_pool)),
    ("prepared_reuse", sync(case_prepared_reuse)),
    ("listen_notify", sync(case_listen_notify)),
    ("executemany_error", sync(case_executemany_error)),
    ("cursor_in_transaction", sync(case_cursor_in_transaction)),
    ("advisory_lock", sync(case_advisory_lock)),
]

if __name__ == "__main__":
    run_cases(CASES, describe_error)
