#!/usr/bin/python3
# bench/idle_clients.py — opens N PostgreSQL client connections (trust login only), optionally runs
# one simple query on each (--query, read to ReadyForQuery), holds them idle and answers bench.py's
# commands on stdin. Owns those sockets only; measures nothing itself.
#
# Protocol with the parent (one line each): after every client has finished (or failed) its login
# and query it prints
#   {"ok": N, "failed": M, "errors": {...}, "seconds": S}
# then reads commands from stdin: "check" prints {"alive": N, "closed": M} (a socket the pooler has
# closed reads as EOF), "quit" or EOF closes everything and exits.
#
# Stdlib only (Debian's /usr/bin/python3): raw sockets and selectors, no libpq, so the holder
# itself needs one file descriptor per connection and almost no memory.
import argparse
import errno
import json
import selectors
import socket
import struct
import sys
import time

kProtocolV3 = 196608


def startup_message(user, database):
    body = struct.pack("!i", kProtocolV3)
    for key, value in (("user", user), ("database", database)):
        body += key.encode() + b"\0" + value.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def query_message(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!i", len(body) + 4) + body


def error_text(body):
    # ErrorResponse: (code byte, cstring)* then a 0 byte. Keep SQLSTATE (C) and message (M).
    fields = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return f"{fields.get('C', '?')} {fields.get('M', '')}".strip()


class Conn:
    __slots__ = ("sock", "buf", "state")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.state = "connecting"


class Holder:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.startup = startup_message(args.user, args.database)
        self.query = query_message(args.query) if args.query else b""
        self.held = []
        self.ok = 0
        self.failed = 0
        self.errors = {}
        self.in_flight = 0

    def fail(self, conn, reason):
        self.failed += 1
        self.errors[reason] = self.errors.get(reason, 0) + 1
        self.finish(conn)

    def finish(self, conn):
        self.in_flight -= 1
        try:
            self.sel.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        if conn.state != "ready":
            conn.sock.close()

    def open_one(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        conn = Conn(sock)
        self.in_flight += 1
        rc = sock.connect_ex((self.args.host, self.args.port))
        if rc not in (0, errno.EINPROGRESS):
            self.fail(conn, f"connect: {errno.errorcode.get(rc, rc)}")
            return
        self.sel.register(sock, selectors.EVENT_WRITE, conn)

    def on_writable(self, conn):
        err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.fail(conn, f"connect: {errno.errorcode.get(err, err)}")
            return
        try:
            # 40 bytes always fit an empty socket send buffer.
            conn.sock.send(self.startup)
        except OSError as e:
            self.fail(conn, f"send: {e.strerror}")
            return
        conn.state = "login"
        self.sel.modify(conn.sock, selectors.EVENT_READ, conn)

    def on_readable(self, conn):
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as e:
            self.fail(conn, f"recv: {e.strerror}")
            return
        if not data:
            self.fail(conn, f"closed during {conn.state}")
            return
        conn.buf += data
        while len(conn.buf) >= 5:
            kind = conn.buf[0:1]
            (length,) = struct.unpack("!i", conn.buf[1:5])
            if len(conn.buf) < 1 + length:
                return
            body = conn.buf[5 : 1 + length]
            conn.buf = conn.buf[1 + length :]
            if kind == b"R":
                (code,) = struct.unpack("!i", body[:4])
                if code != 0:
                    self.fail(conn, f"server asked for authentication (code {code}); use trust")
                    return
            elif kind == b"E":
                self.fail(conn, f"{conn.state}: {error_text(body)}")
                return
            elif kind == b"Z":
                if conn.state == "login" and self.query:
                    if not self.send_query(conn):
                        return
                else:
                    self.hold(conn)
                    return

    def send_query(self, conn):
        try:
            # A simple query of a few bytes always fits the socket send buffer.
            conn.sock.send(self.query)
        except OSError as e:
            self.fail(conn, f"send query: {e.strerror}")
            return False
        conn.state = "query"
        return True

    def hold(self, conn):
        conn.state = "ready"
        self.ok += 1
        self.held.append(conn.sock)
        self.finish(conn)

    def run(self):
        start = time.monotonic()
        deadline = start + self.args.timeout
        remaining = self.args.count
        while remaining > 0 or self.in_flight > 0:
            while remaining > 0 and self.in_flight < self.args.parallel:
                remaining -= 1
                self.open_one()
            if time.monotonic() > deadline:
                for key in list(self.sel.get_map().values()):
                    self.fail(key.data, f"{key.data.state} timeout")
                self.failed += remaining
                if remaining:
                    self.errors["not attempted (timeout)"] = remaining
                break
            for key, events in self.sel.select(timeout=1.0):
                if events & selectors.EVENT_WRITE:
                    self.on_writable(key.data)
                else:
                    self.on_readable(key.data)
        return time.monotonic() - start

    def check(self):
        # A pooler that dropped an idle client shows up as a readable socket that returns EOF.
        check_sel = selectors.DefaultSelector()
        for sock in self.held:
            check_sel.register(sock, selectors.EVENT_READ)
        closed = 0
        for key, _ in check_sel.select(timeout=0):
            try:
                if key.fileobj.recv(65536, socket.MSG_PEEK) == b"":
                    closed += 1
            except OSError:
                closed += 1
        check_sel.close()
        return {"alive": len(self.held) - closed, "closed": closed}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", default="bench")
    parser.add_argument("--database", default="bench")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--query", default="",
                        help="simple query each client runs once after its login (default: none)")
    parser.add_argument("--parallel", type=int, default=200, help="clients in flight at once")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds for all logins and queries")
    args = parser.parse_args()

    holder = Holder(args)
    seconds = holder.run()
    print(
        json.dumps(
            {
                "ok": holder.ok,
                "failed": holder.failed,
                "errors": holder.errors,
                "seconds": round(seconds, 2),
            }
        ),
        flush=True,
    )
    for line in sys.stdin:
        command = line.strip()
        if command == "check":
            print(json.dumps(holder.check()), flush=True)
        elif command == "quit":
            break
    for sock in holder.held:
        sock.close()


if __name__ == "__main__":
    main()
