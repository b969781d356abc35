# tests/drivers/python/driver_common.py — what the Python case files share: connection settings
# from the environment, per-run names, the transcript and the case runner. Imports no driver, and
# never prints anything that differs between two runs against equally behaving servers.
"""Transcript and runner for the driver case files (see tests/drivers/run_driver.sh).

Every case prints lines "<case> | <text>". A `check` whose value differs from what PostgreSQL
itself gives prints both values and makes the run exit 1, so the direct run proves that the
expectations are right and the routed run shows where pgrouter differs.
"""

import os
import sys
import threading
import traceback
import zlib
from contextlib import contextmanager

# One case that does not finish in this time is reported and the run goes on with the next case
# (its thread is abandoned), so that one lost reply does not hide the results of the other cases.
CASE_TIMEOUT_S = 100
CONNECT_TIMEOUT_S = 20
NOTIFY_WAIT_S = 5.0


class Env:
    """Where to connect, and names that are unique to this run (DRV_TAG never reaches the
    transcript: `scrub` replaces it)."""

    def __init__(self):
        self.host = os.environ["PGHOST"]
        self.port = int(os.environ["PGPORT"])
        self.user = os.environ["PGUSER"]
        self.password = os.environ["PGPASSWORD"]
        self.dbname = os.environ["PGDATABASE"]
        self.tag = os.environ["DRV_TAG"]

    def name(self, base):
        """A table or channel name no other run uses (run_driver.sh drops drv_<tag>_* tables)."""
        return f"drv_{self.tag}_{base}"

    def lock_key(self, base):
        """An advisory lock key no other run (or concurrently running driver) uses."""
        return zlib.crc32(f"{self.tag}/{base}".encode()) & 0x7FFFFFFF

    def scrub(self, text):
        return text.replace(self.tag, "<tag>")


class Log:
    """Lines of one case or of one concurrent client. Thread-safe."""

    def __init__(self, env):
        self.env = env
        self.lines = []
        self.failed = False
        self._lock = threading.Lock()

    def out(self, text):
        with self._lock:
            self.lines.append(self.env.scrub(str(text)))

    def unexpected(self, text):
        """Something PostgreSQL itself would not do (or the case file is wrong)."""
        with self._lock:
            self.failed = True
        self.out("UNEXPECTED " + str(text))

    def check(self, label, got, want, quiet=False):
        """Prints `got` (unless quiet and equal); a difference from `want` fails the run."""
        if got != want:
            self.unexpected(f"{label}: got {got!r}, PostgreSQL gives {want!r}")
        elif not quiet:
            self.out(f"{label}: {got!r}")

    def snapshot(self):
        with self._lock:
            return list(self.lines), self.failed


class Rotator:
    """Makes every step of a session case run on a different pooled server connection than the
    step before it, so that state a client left on one server connection meets one without it.

    Two helper clients leapfrog: before each step the idle one opens a transaction, which takes
    the most recently released server connection (the pool is LIFO: the one the last step used),
    then the one holding a transaction commits, which puts its server connection on top for the
    step. Steps alternate between two server connections; at most two are held by the helpers at
    once, so a client pinned by the pooler still leaves one for the step. Against PostgreSQL
    directly the helpers change nothing. `begin` must make its client hold a server connection
    (BEGIN plus a statement), and none of the three callables may name a statement."""

    def __init__(self, conns, begin, commit, close):
        self._conns = conns
        self._begin = begin
        self._commit = commit
        self._close = close
        self._holding = None

    @contextmanager
    def turn(self):
        idle = 0 if self._holding is None else 1 - self._holding
        self._begin(self._conns[idle])
        if self._holding is not None:
            self._commit(self._conns[self._holding])
        self._holding = idle
        yield

    def close(self):
        if self._holding is not None:
            self._commit(self._conns[self._holding])
            self._holding = None
        for conn in self._conns:
            self._close(conn)


def run_clients(case, count, client_fn, describe_error):
    """Runs client_fn(log, i, ready) in `count` threads. Each client connects, calls ready() (all
    start their work together) and reports through its own Log; the lines are printed per client
    in id order so thread scheduling never changes the transcript."""
    barrier = threading.Barrier(count)
    logs = [Log(case.env) for _ in range(count)]

    def ready():
        try:
            barrier.wait(timeout=CASE_TIMEOUT_S / 2)
        except threading.BrokenBarrierError:
            pass

    def worker(i):
        try:
            client_fn(logs[i], i, ready)
        except BaseException as e:  # noqa: BLE001 — every failure belongs in the transcript
            logs[i].unexpected(f"{type(e).__name__}: {describe_error(e)}")
            print(f"client {i}:\n{traceback.format_exc()}", file=sys.stderr)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, log in enumerate(logs):
        lines, failed = log.snapshot()
        for line in lines:
            case.out(f"client {i:02d}: {line}")
        if failed:
            with case._lock:
                case.failed = True


def run_cases(cases, describe_error):
    """Runs (name, fn) cases one after the other, each fn(case_log) in its own thread with a time
    limit, prints the transcript and exits 1 if any case met something unexpected."""
    env = Env()
    any_failed = False
    for name, fn in cases:
        case = Log(env)

        def body(fn=fn, case=case, name=name):
            try:
                fn(case)
            except BaseException as e:  # noqa: BLE001
                case.unexpected(f"{type(e).__name__}: {describe_error(e)}")
                print(f"case {name}:\n{traceback.format_exc()}", file=sys.stderr)

        thread = threading.Thread(target=body, daemon=True, name=name)
        thread.start()
        thread.join(CASE_TIMEOUT_S)
        if thread.is_alive():
            case.unexpected(f"no result within {CASE_TIMEOUT_S} s")
        lines, failed = case.snapshot()
        for line in lines:
            print(f"{name} | {line}")
        sys.stdout.flush()
        any_failed = any_failed or failed
    sys.stdout.flush()
    sys.stderr.flush()
    # Abandoned case threads may still be blocked in a driver call: do not wait for them.
    os._exit(1 if any_failed else 0)


def first_line(text):
    return str(text).strip().splitlines()[0] if str(text).strip() else ""
