# tests/drivers/python/psycopg3_cases.py — psycopg 3 cases (extended protocol, every statement
# prepared by name: prepare_threshold=0, plus pipeline mode): concurrent clients, statement reuse
# across pooled server connections, pipeline errors, server-side cursors, and raw Parse/Describe
# through the low-level libpq wrapper. Prints a transcript (driver_common.py).
"""psycopg 3 cases for tests/drivers/run_driver.sh."""


import psycopg
from psycopg import pq

from driver_common import CONNECT_TIMEOUT_S, Env, Rotator, first_line, run_cases, run_clients

CLIENTS = 40
ITERATIONS = 5
ROWS_PER_ITERATION = 4
ROLLED_BACK_ITERATION = 2

ENV = Env()


def describe_error(e):
    code = getattr(e, "sqlstate", None)
    diag = getattr(e, "diag", None)
    message = diag.message_primary if diag is not None and diag.message_primary else str(e)
    return f"{code} {first_line(message)}" if code else first_line(message)


def connect(autocommit=True, prepare_threshold=0):
    # prepare_threshold=0: psycopg sends Parse with a name (_pg3_N) on first use and only Bind on
    # every later use of the same query on this connection. None: never named (unnamed Parse).
    return psycopg.connect(host=ENV.host, port=ENV.port, user=ENV.user, password=ENV.password,
                           dbname=ENV.dbname, connect_timeout=CONNECT_TIMEOUT_S,
                           autocommit=autocommit, prepare_threshold=prepare_threshold)


def one(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()


def sqlstate_of(fn):
    try:
        fn()
    except psycopg.Error as e:
        return e.sqlstate
    return "ok"


def result_state(res):
    """(status name, SQLSTATE or None) of a low-level PGresult."""
    code = res.error_field(pq.DiagnosticField.SQLSTATE)
    return (pq.ExecStatus(res.status).name, code.decode() if code else None)


def rotator():
    """A Rotator (driver_common.py) made of two more clients that never name a statement."""
    return Rotator([connect(prepare_threshold=None) for _ in range(2)],
                   begin=lambda conn: (conn.execute("BEGIN"), conn.execute("SELECT 1")),
                   commit=lambda conn: conn.execute("COMMIT"), close=lambda conn: conn.close())


def iteration_values(client, it):
    return [client * 1000 + it * 10 + k for k in range(ROWS_PER_ITERATION)]


def expected_rows(client, iterations_done):
    values = [v for it in range(iterations_done) if it != ROLLED_BACK_ITERATION
              for v in iteration_values(client, it)]
    return (len(values), sum(values))


def case_concurrent_clients(case):
    table = ENV.name("items")
    with connect() as admin:
        admin.execute(f"CREATE TABLE {table} (client int, iter int, n int)")

    def client(log, i, ready):
        conn = connect()
        # SET statements (not set_config()): settings a transaction pooler is expected to carry.
        conn.execute(f"SET drv.client = 'c{i:02d}'")
        conn.execute(f"SET application_name = 'drv-c{i:02d}'")
        ready()
        for it in range(ITERATIONS):
            values = iteration_values(i, it)
            try:
                with conn.transaction(force_rollback=(it == ROLLED_BACK_ITERATION)):
                    # executemany runs in pipeline mode (libpq >= 14): one Sync for all rows.
                    with conn.cursor() as cur:
                        cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s)",
                                        [(i, it, v) for v in values])
                    before = expected_rows(i, it)
                    log.check(f"iteration {it} rows inside the transaction",
                              one(conn, f"SELECT count(*), coalesce(sum(n), 0) FROM {table} "
                                        "WHERE client = %s", (i,)),
                              (before[0] + len(values), before[1] + sum(values)), quiet=True)
                # A pipeline of prepared statements with their own parameters.
                with conn.pipeline():
                    curs = [conn.execute("SELECT %s::int + %s::int", (i, k)) for k in range(3)]
                    setting = conn.execute("SELECT current_setting('drv.client'), "
                                           "current_setting('application_name')")
                log.check(f"iteration {it} pipeline", [c.fetchone()[0] for c in curs],
                          [i, i + 1, i + 2], quiet=True)
                log.check(f"iteration {it} settings", setting.fetchone(),
                          (f"c{i:02d}", f"drv-c{i:02d}"), quiet=True)
            except psycopg.Error as e:
                log.unexpected(f"iteration {it}: {describe_error(e)}")
        log.check("committed rows",
                  one(conn, f"SELECT count(*), coalesce(sum(n), 0) FROM {table} WHERE client = %s",
                      (i,)), expected_rows(i, ITERATIONS))
        conn.close()

    run_clients(case, CLIENTS, client, describe_error)
    with connect() as admin:
        case.check("all rows", one(admin, f"SELECT count(*), count(DISTINCT client) FROM {table}"),
                   (CLIENTS * (ITERATIONS - 1) * ROWS_PER_ITERATION, CLIENTS))
        admin.execute(f"DROP TABLE {table}")


def case_prepared_reuse(case):
    conn = connect()
    rot = rotator()
    for k in range(4):
        with rot.turn():
            case.check(f"execution {k}", one(conn, "SELECT %s::int * 3", (k,)), (k * 3,))
    rot.close()
    conn.close()


def case_pipeline_errors(case):
    table = ENV.name("pipe")
    conn = connect()
    conn.execute(f"CREATE TABLE {table} (v int)")
    contents = f"SELECT coalesce(array_agg(v ORDER BY v), '{{}}') FROM {table}"
    # Sync points split a pipeline into implicit transactions: the error loses only its own.
    outcome = "ok"
    try:
        with conn.pipeline() as p:
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (1,))
            p.sync()
            conn.execute("SELECT 1 / %s", (0,))
            case.check("sync after the error", sqlstate_of(p.sync), "22012")
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (2,))
    except psycopg.Error as e:
        outcome = e.sqlstate
    case.check("pipeline with sync points", outcome, "ok")
    case.check("rows", one(conn, contents), ([1, 2],))
    # Without a sync point everything up to the end is one implicit transaction.
    try:
        with conn.pipeline():
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (3,))
            conn.execute("SELECT 1 / %s", (0,))
            conn.execute(f"INSERT INTO {table} VALUES (%s)", (4,))
        outcome = "ok"
    except psycopg.Error as e:
        outcome = e.sqlstate
    case.check("pipeline without sync points", outcome, "22012")
    case.check("rows", one(conn, contents), ([1, 2],))
    # An explicit transaction around a pipeline is rolled back as a whole.
    try:
        with conn.transaction():
            with conn.pipeline():
                conn.execute(f"INSERT INTO {table} VALUES (%s)", (5,))
                conn.execute(f"INSERT INTO {table} VALUES (%s)", ("not a number",))
        outcome = "ok"
    except psycopg.Error as e:
        outcome = e.sqlstate
    case.check("pipeline in a transaction", outcome, "22P02")
    case.check("rows", one(conn, contents), ([1, 2],))
    case.check("usable afterwards", one(conn, "SELECT %s::int + 1", (41,)), (42,))
    conn.execute(f"DROP TABLE {table}")
    conn.close()


def case_server_side_cursor(case):
    conn = connect()
    rot = rotator()
    batches = []
    with conn.transaction():
        with conn.cursor(name="drv_ssc") as cur:
            cur.execute("SELECT g, %s::text FROM generate_series(1, 40) g", ("x",))
            while True:
                with rot.turn():
                    rows = cur.fetchmany(9)
                if not rows:
                    break
                batches.append([r[0] for r in rows])
    case.check("batches", [(b[0], len(b)) for b in batches],
               [(1, 9), (10, 9), (19, 9), (28, 9), (37, 4)])
    rot.close()
    conn.close()


def case_unprepared_statement_name(case):
    conn = connect()
    raw = conn.pgconn
    # Describe (statement) and Bind of a name this client never sent a Parse for.
    case.check("Describe", result_state(raw.describe_prepared(b"drv_never_prepared")),
               ("FATAL_ERROR", "26000"))
    case.check("Bind", result_state(raw.exec_prepared(b"drv_never_prepared", [b"1"])),
               ("FATAL_ERROR", "26000"))
    case.check("Describe of an unknown portal", result_state(raw.describe_portal(b"drv_nope")),
               ("FATAL_ERROR", "34000"))
    case.check("usable afterwards", one(conn, "SELECT %s::int", (7,)), (7,))
    conn.close()


def case_other_clients_statement_names(case):
    # Names are per client. Another client prepares first and releases its server connection,
    # which the pool hands to the subject next: its statements must stay invisible.
    other = connect()
    case.check("other client prepares",
               result_state(other.pgconn.prepare(b"drv_shared", b"SELECT 'other'")),
               ("COMMAND_OK", None))
    conn = connect()
    raw = conn.pgconn
    case.check("Describe of the other client's name",
               result_state(raw.describe_prepared(b"drv_shared")), ("FATAL_ERROR", "26000"))
    case.check("Bind of the other client's name",
               result_state(raw.exec_prepared(b"drv_shared", [])), ("FATAL_ERROR", "26000"))
    case.check("Parse of the same name",
               result_state(raw.prepare(b"drv_shared", b"SELECT 'mine'")), ("COMMAND_OK", None))
    res = raw.exec_prepared(b"drv_shared", [])
    case.check("own definition", (result_state(res), res.get_value(0, 0) if res.ntuples else None),
               (("TUPLES_OK", None), b"mine"))
    res = other.pgconn.exec_prepared(b"drv_shared", [])
    case.check("other client's definition",
               (result_state(res), res.get_value(0, 0) if res.ntuples else None),
               (("TUPLES_OK", None), b"other"))
    conn.close()
    other.close()


def case_deallocate_all(case):
    conn = connect()
    rot = rotator()
    raw = conn.pgconn
    for name in (b"drv_da1", b"drv_da2"):
        with rot.turn():
            case.check(f"Parse {name.decode()}",
                       result_state(raw.prepare(name, b"SELECT $1::int", [23])),
                       ("COMMAND_OK", None))
    with rot.turn():
        case.check("DEALLOCATE ALL", result_state(raw.exec_(b"DEALLOCATE ALL")),
                   ("COMMAND_OK", None))
    with rot.turn():
        case.check("Bind after DEALLOCATE ALL",
                   result_state(raw.exec_prepared(b"drv_da1", [b"1"])), ("FATAL_ERROR", "26000"))
    with rot.turn():
        case.check("Parse of the name again",
                   result_state(raw.prepare(b"drv_da2", b"SELECT $1::int + 1", [23])),
                   ("COMMAND_OK", None))
    with rot.turn():
        res = raw.exec_prepared(b"drv_da2", [b"1"])
        case.check("new definition", (result_state(res), res.get_value(0, 0)),
                   (("TUPLES_OK", None), b"2"))
    with rot.turn():
        case.check("psycopg's own statements still work", one(conn, "SELECT %s::int * 4", (2,)),
                   (8,))
    rot.close()
    conn.close()


def case_duplicate_statement_name(case):
    conn = connect()
    rot = rotator()
    raw = conn.pgconn
    with rot.turn():
        case.check("first Parse", result_state(raw.prepare(b"drv_dup", b"SELECT 1")),
                   ("COMMAND_OK", None))
    with rot.turn():
        case.check("second Parse of the name",
                   result_state(raw.prepare(b"drv_dup", b"SELECT 2")), ("FATAL_ERROR", "42P05"))
    with rot.turn():
        res = raw.exec_prepared(b"drv_dup", [])
        case.check("the first definition stays",
                   (result_state(res), res.get_value(0, 0) if res.ntuples else None),
                   (("TUPLES_OK", None), b"1"))
    with rot.turn():
        case.check("DEALLOCATE", result_state(raw.exec_(b"DEALLOCATE drv_dup")),
                   ("COMMAND_OK", None))
    with rot.turn():
        case.check("Parse after DEALLOCATE",
                   result_state(raw.prepare(b"drv_dup", b"SELECT 3")), ("COMMAND_OK", None))
    rot.close()
    conn.close()


def case_set_reset(case):
    conn = connect()
    rot = rotator()
    with rot.turn():
        conn.execute("SET work_mem = '2345kB'")
    with rot.turn():
        case.check("after SET", one(conn, "SELECT current_setting('work_mem')"), ("2345kB",))
    with rot.turn():
        conn.execute("SET drv.flag = 'yes'")
    with rot.turn():
        case.check("custom setting", one(conn, "SELECT current_setting('drv.flag')"), ("yes",))
    with rot.turn():
        conn.execute("RESET ALL")
    with rot.turn():
        case.check("after RESET ALL",
                   one(conn, "SELECT current_setting('work_mem'), "
                             "current_setting('drv.flag', true)"), ("4MB", ""))
    rot.close()
    conn.close()


def case_set_config_function(case):
    # set_config(..., false) changes the session like SET does, but through a function call.
    conn = connect()
    rot = rotator()
    with rot.turn():
        case.check("set_config", one(conn, "SELECT set_config('drv.via_function', %s, false)",
                                     ("yes",)), ("yes",))
    with rot.turn():
        case.check("next transaction sees it",
                   one(conn, "SELECT current_setting('drv.via_function', true)"), ("yes",))
    with rot.turn():
        case.check("set_config(..., true) lasts one transaction",
                   one(conn, "SELECT set_config('work_mem', '999kB', true), "
                             "current_setting('work_mem')"), ("999kB", "999kB"))
    with rot.turn():
        case.check("after it", one(conn, "SELECT current_setting('work_mem')"), ("4MB",))
    rot.close()
    conn.close()


def case_temp_table(case):
    conn = connect()
    rot = rotator()
    with rot.turn():
        conn.execute("CREATE TEMP TABLE drv_tmp3 (v int)")
    for v in (10, 20, 30):
        with rot.turn():
            conn.execute("INSERT INTO drv_tmp3 VALUES (%s)", (v,))
    with rot.turn():
        case.check("temp rows", one(conn, "SELECT count(*), sum(v) FROM drv_tmp3"), (3, 60))
    rot.close()
    conn.close()


CASES = [
    ("concurrent_clients", case_concurrent_clients),
    ("prepared_reuse", case_prepared_reuse),
    ("pipeline_errors", case_pipeline_errors),
    ("server_side_cursor", case_server_side_cursor),
    ("unprepared_statement_name", case_unprepared_statement_name),
    ("duplicate_statement_name", case_duplicate_statement_name),
    ("other_clients_statement_names", case_other_clients_statement_names),
    ("deallocate_all", case_deallocate_all),
    ("set_reset", case_set_reset),
    ("set_config_function", case_set_config_function),
    ("temp_table", case_temp_table),
]

if __name__ == "__main__":
    run_cases(CASES, describe_error)
