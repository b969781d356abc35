# tests/drivers/python/psycopg2_cases.py — psycopg2 (libpq, simple query protocol) cases: many
# concurrent clients with their own rows and settings, then the session-state cases at SQL level.
# Prints a transcript (driver_common.py); never depends on timing or on which server it talks to.
"""psycopg2 cases for tests/drivers/run_driver.sh."""

import select
import time

import psycopg2

from driver_common import (CONNECT_TIMEOUT_S, NOTIFY_WAIT_S, Env, Rotator, first_line,
                           run_cases, run_clients)

CLIENTS = 40
ITERATIONS = 5
ROWS_PER_ITERATION = 4
ROLLED_BACK_ITERATION = 2  # this iteration ends in ROLLBACK: its rows must never be seen

ENV = Env()


def describe_error(e):
    code = getattr(e, "pgcode", None)
    diag = getattr(e, "diag", None)
    message = diag.message_primary if diag is not None and diag.message_primary else str(e)
    return f"{code} {first_line(message)}" if code else first_line(message)


def connect(autocommit=True):
    conn = psycopg2.connect(host=ENV.host, port=ENV.port, user=ENV.user, password=ENV.password,
                            dbname=ENV.dbname, connect_timeout=CONNECT_TIMEOUT_S)
    conn.autocommit = autocommit
    return conn


def one(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def run(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)


def sqlstate_of(fn):
    """Runs fn and returns the SQLSTATE it failed with, or 'ok'."""
    try:
        fn()
    except psycopg2.Error as e:
        return e.pgcode
    return "ok"


def rotator():
    """A Rotator (driver_common.py) made of two more psycopg2 clients."""
    return Rotator([connect(), connect()],
                   begin=lambda conn: (run(conn, "BEGIN"), run(conn, "SELECT 1")),
                   commit=lambda conn: run(conn, "COMMIT"), close=lambda conn: conn.close())


def expected_rows(client, iterations_done):
    """(count, sum(n)) of a client's committed rows after `iterations_done` iterations."""
    count = 0
    total = 0
    for it in range(iterations_done):
        if it == ROLLED_BACK_ITERATION:
            continue
        for k in range(ROWS_PER_ITERATION):
            count += 1
            total += client * 1000 + it * 10 + k
    return (count, total)


def case_concurrent_clients(case):
    table = ENV.name("items")
    with connect() as admin:
        run(admin, f"CREATE TABLE {table} (client int, iter int, n int, note text)")
    admin.close()

    def client(log, i, ready):
        conn = connect()
        app_name = f"drv-c{i:02d}"
        run(conn, "SET application_name = %s", (app_name,))
        run(conn, "SET drv.client = %s", (f"c{i:02d}",))
        run(conn, "SET work_mem = %s", (f"{1100 + i}kB",))
        want_settings = (app_name, f"c{i:02d}", f"{1100 + i}kB")
        ready()
        for it in range(ITERATIONS):
            try:
                run(conn, "BEGIN")
                for k in range(ROWS_PER_ITERATION):
                    run(conn, f"INSERT INTO {table} VALUES (%s, %s, %s, %s)",
                        (i, it, i * 1000 + it * 10 + k, f"client {i} iteration {it}"))
                # Inside its transaction a client sees its own uncommitted rows and nobody's else.
                inside = one(conn, f"SELECT count(*), coalesce(sum(n), 0) FROM {table} "
                                   "WHERE client = %s", (i,))
                want_inside = expected_rows(i, it)
                want_inside = (want_inside[0] + ROWS_PER_ITERATION,
                               want_inside[1] + sum(i * 1000 + it * 10 + k
                                                    for k in range(ROWS_PER_ITERATION)))
                log.check(f"iteration {it} rows inside the transaction", inside, want_inside,
                          quiet=True)
                run(conn, "ROLLBACK" if it == ROLLED_BACK_ITERATION else "COMMIT")
                settings = one(conn, "SELECT current_setting('application_name'), "
                                     "current_setting('drv.client'), current_setting('work_mem')")
                log.check(f"iteration {it} settings", settings, want_settings, quiet=True)
            except psycopg2.Error as e:
                log.unexpected(f"iteration {it}: {describe_error(e)}")
                if not conn.closed:
                    conn.rollback()
        final = one(conn, f"SELECT count(*), coalesce(sum(n), 0) FROM {table} WHERE client = %s",
                    (i,))
        log.check("committed rows", final, expected_rows(i, ITERATIONS))
        conn.close()

    run_clients(case, CLIENTS, client, describe_error)
    with connect() as admin:
        total = one(admin, f"SELECT count(*), count(DISTINCT client) FROM {table}")
        case.check("all rows", total,
                   (CLIENTS * (ITERATIONS - 1) * ROWS_PER_ITERATION, CLIENTS))
        run(admin, f"DROP TABLE {table}")
    admin.close()


def case_set_reset(case):
    conn = connect()
    rot = rotator()
    with rot.turn():
        run(conn, "SET work_mem = '1234kB'")
    with rot.turn():
        case.check("work_mem after SET", one(conn, "SHOW work_mem"), ("1234kB",))
    with rot.turn():
        run(conn, "SET drv.flag = 'on'")
    with rot.turn():
        case.check("custom setting after SET", one(conn, "SELECT current_setting('drv.flag')"),
                   ("on",))
    with rot.turn():
        run(conn, "RESET work_mem")
    with rot.turn():
        case.check("work_mem after RESET", one(conn, "SHOW work_mem"), ("4MB",))
    with rot.turn():
        run(conn, "SET application_name = 'drv-set'")
        run(conn, "SET statement_timeout = '17s'")
    with rot.turn():
        case.check("after two SETs", one(conn, "SELECT current_setting('application_name'), "
                                               "current_setting('statement_timeout')"),
                   ("drv-set", "17s"))
    with rot.turn():
        run(conn, "RESET ALL")
    with rot.turn():
        case.check("after RESET ALL",
                   one(conn, "SELECT current_setting('application_name'), "
                             "current_setting('statement_timeout'), "
                             "current_setting('drv.flag', true)"), ("", "0", ""))
    # SET LOCAL ends with its transaction, pooled or not.
    run(conn, "BEGIN")
    run(conn, "SET LOCAL work_mem = '777kB'")
    with rot.turn():
        case.check("SET LOCAL inside", one(conn, "SHOW work_mem"), ("777kB",))
    run(conn, "COMMIT")
    with rot.turn():
        case.check("SET LOCAL after COMMIT", one(conn, "SHOW work_mem"), ("4MB",))
    rot.close()
    conn.close()


def case_temp_table(case):
    conn = connect()
    rot = rotator()
    with rot.turn():
        run(conn, "CREATE TEMP TABLE drv_tmp (v int)")
    with rot.turn():
        run(conn, "INSERT INTO drv_tmp VALUES (1), (2), (3)")
    with rot.turn():
        case.check("temp rows", one(conn, "SELECT count(*), sum(v) FROM drv_tmp"), (3, 6))
    other = connect()
    case.check("other client sees no temp table",
               sqlstate_of(lambda: one(other, "SELECT count(*) FROM drv_tmp")), "42P01")
    other.close()
    with rot.turn():
        run(conn, "DROP TABLE drv_tmp")
    rot.close()
    conn.close()


def case_with_hold_cursor(case):
    conn = connect()
    rot = rotator()
    run(conn, "BEGIN")
    run(conn, "DECLARE drv_hold CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 10) g")
    with conn.cursor() as cur:
        cur.execute("FETCH 3 FROM drv_hold")
        case.check("fetched in the transaction", cur.fetchall(), [(1,), (2,), (3,)])
    run(conn, "COMMIT")
    with rot.turn():
        with conn.cursor() as cur:
            cur.execute("FETCH 3 FROM drv_hold")
            case.check("fetched after COMMIT", cur.fetchall(), [(4,), (5,), (6,)])
    with rot.turn():
        with conn.cursor() as cur:
            cur.execute("FETCH ALL FROM drv_hold")
            case.check("rest", cur.fetchall(), [(7,), (8,), (9,), (10,)])
    with rot.turn():
        run(conn, "CLOSE drv_hold")
    with rot.turn():
        case.check("FETCH after CLOSE",
                   sqlstate_of(lambda: run(conn, "FETCH 1 FROM drv_hold")), "34000")
    rot.close()
    conn.close()


def case_sql_prepare(case):
    conn = connect()
    rot = rotator()
    with rot.turn():
        run(conn, "PREPARE drv_double(int) AS SELECT $1 * 2")
    with rot.turn():
        case.check("listed", one(conn, "SELECT count(*) FROM pg_prepared_statements "
                                       "WHERE name = 'drv_double'"), (1,))
    with rot.turn():
        case.check("EXECUTE", one(conn, "EXECUTE drv_double(21)"), (42,))
    with rot.turn():
        case.check("PREPARE of a used name",
                   sqlstate_of(lambda: run(conn, "PREPARE drv_double(int) AS SELECT $1")),
                   "42P05")
    with rot.turn():
        case.check("EXECUTE again", one(conn, "EXECUTE drv_double(5)"), (10,))
    with rot.turn():
        run(conn, "DEALLOCATE drv_double")
    with rot.turn():
        case.check("EXECUTE after DEALLOCATE",
                   sqlstate_of(lambda: run(conn, "EXECUTE drv_double(1)")), "26000")
    with rot.turn():
        case.check("EXECUTE of a name never prepared",
                   sqlstate_of(lambda: run(conn, "EXECUTE drv_never(1)")), "26000")
    rot.close()
    conn.close()


def case_advisory_locks(case):
    # Two clients take turns without a Rotator: the LIFO pool hands each the server connection the
    # other just used, the order in which a lock left behind on a server connection shows. (Once
    # both are pinned, a Rotator would need a fourth server connection.)
    key = ENV.lock_key("advisory")
    holder = connect()
    other = connect()
    case.check("holder locks", one(holder, "SELECT pg_advisory_lock(%s)", (key,)), ("",))
    case.check("other cannot take it",
               one(other, "SELECT pg_try_advisory_lock(%s)", (key,)), (False,))
    case.check("holder unlocks", one(holder, "SELECT pg_advisory_unlock(%s)", (key,)), (True,))
    case.check("now other can", one(other, "SELECT pg_try_advisory_lock(%s)", (key,)), (True,))
    case.check("holder cannot", one(holder, "SELECT pg_try_advisory_lock(%s)", (key,)), (False,))
    case.check("other unlocks", one(other, "SELECT pg_advisory_unlock(%s)", (key,)), (True,))
    # Transaction-level locks are the pooling-friendly kind: they must work either way.
    run(holder, "BEGIN")
    case.check("xact lock", one(holder, "SELECT pg_try_advisory_xact_lock(%s)", (key,)), (True,))
    case.check("other during xact lock",
               one(other, "SELECT pg_try_advisory_xact_lock(%s)", (key,)), (False,))
    run(holder, "COMMIT")
    case.check("other after COMMIT",
               one(other, "SELECT pg_try_advisory_xact_lock(%s)", (key,)), (True,))
    holder.close()
    other.close()


def wait_notifies(conn, count):
    deadline = time.monotonic() + NOTIFY_WAIT_S
    while len(conn.notifies) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if select.select([conn], [], [], left) != ([], [], []):
            conn.poll()
    got = [(n.channel == ENV.name("chan"), n.payload) for n in conn.notifies]
    conn.notifies.clear()
    return got


def case_listen_notify(case):
    # No Rotator (see case_advisory_locks): the notifier gets the server connection the listener
    # just used, so a LISTEN left behind on it would deliver to the wrong client.
    channel = ENV.name("chan")
    listener = connect()
    notifier = connect()
    run(listener, f"LISTEN {channel}")
    run(notifier, f"NOTIFY {channel}, 'hello'")
    run(notifier, "SELECT pg_notify(%s, 'world')", (channel,))
    case.check("listener receives", wait_notifies(listener, 2), [(True, "hello"), (True, "world")])
    case.check("notifier receives nothing", wait_notifies(notifier, 1), [])
    run(listener, f"UNLISTEN {channel}")
    run(notifier, f"NOTIFY {channel}, 'after unlisten'")
    case.check("nothing after UNLISTEN", wait_notifies(listener, 1), [])
    listener.close()
    notifier.close()


def case_named_cursor(case):
    conn = connect(autocommit=False)
    rot = rotator()
    got = []
    # A psycopg2 named cursor is DECLARE + FETCH FORWARD inside the transaction psycopg2 opened.
    with conn.cursor("drv_named") as cur:
        cur.itersize = 7
        cur.execute("SELECT g, g * g FROM generate_series(1, 50) g")
        while True:
            with rot.turn():
                rows = cur.fetchmany(7)
            if not rows:
                break
            got.append(len(rows))
            case.out(f"batch of {len(rows)}, first {rows[0]}")
    conn.commit()
    case.check("batches", got, [7, 7, 7, 7, 7, 7, 7, 1])
    rot.close()
    conn.close()


def case_named_cursor_with_hold(case):
    conn = connect(autocommit=False)
    rot = rotator()
    cur = conn.cursor("drv_named_hold", withhold=True)
    cur.execute("SELECT g FROM generate_series(1, 12) g")
    case.check("before COMMIT", cur.fetchmany(5), [(1,), (2,), (3,), (4,), (5,)])
    conn.commit()
    conn.autocommit = True
    with rot.turn():
        case.check("after COMMIT", cur.fetchmany(5), [(6,), (7,), (8,), (9,), (10,)])
    with rot.turn():
        case.check("rest", cur.fetchall(), [(11,), (12,)])
    with rot.turn():
        cur.close()
    rot.close()
    conn.close()


def case_error_in_transaction(case):
    table = ENV.name("errtx")
    conn = connect()
    run(conn, f"CREATE TABLE {table} (v int)")
    run(conn, "BEGIN")
    run(conn, f"INSERT INTO {table} VALUES (1)")
    case.check("division by zero", sqlstate_of(lambda: run(conn, "SELECT 1 / 0")), "22012")
    case.check("next statement in the failed transaction",
               sqlstate_of(lambda: run(conn, "SELECT 1")), "25P02")
    run(conn, "ROLLBACK")
    case.check("rows after ROLLBACK", one(conn, f"SELECT count(*) FROM {table}"), (0,))
    case.check("usable afterwards", one(conn, "SELECT 41 + 1"), (42,))
    run(conn, f"DROP TABLE {table}")
    conn.close()


def case_multi_statement_error(case):
    table = ENV.name("multi")
    conn = connect()
    run(conn, f"CREATE TABLE {table} (v int)")
    # One Query message with several statements is one implicit transaction.
    case.check("error in the middle", sqlstate_of(lambda: run(
        conn, f"INSERT INTO {table} VALUES (1); SELECT 1 / 0; INSERT INTO {table} VALUES (2)")),
        "22012")
    case.check("rows", one(conn, f"SELECT count(*) FROM {table}"), (0,))
    run(conn, f"INSERT INTO {table} VALUES (3); INSERT INTO {table} VALUES (4)")
    case.check("rows after a good one", one(conn, f"SELECT count(*), sum(v) FROM {table}"),
               (2, 7))
    run(conn, f"DROP TABLE {table}")
    conn.close()


CASES = [
    ("concurrent_clients", case_concurrent_clients),
    ("set_reset", case_set_reset),
    ("temp_table", case_temp_table),
    ("with_hold_cursor", case_with_hold_cursor),
    ("sql_prepare", case_sql_prepare),
    ("advisory_locks", case_advisory_locks),
    ("listen_notify", case_listen_notify),
    ("named_cursor", case_named_cursor),
    ("named_cursor_with_hold", case_named_cursor_with_hold),
    ("error_in_transaction", case_error_in_transaction),
    ("multi_statement_error", case_multi_statement_error),
]

if __name__ == "__main__":
    run_cases(CASES, describe_error)
