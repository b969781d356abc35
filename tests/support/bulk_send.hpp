// tests/support/bulk_send.hpp — libpq sends of messages far larger than the socket buffers
// (hundreds of MB) under a deadline: the connection is made non-blocking and flushed with poll(),
// so a peer that stops reading fails the test instead of hanging it. Header-only; no pgrouter
// knowledge.
#pragma once

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>

#include <libpq-fe.h>

#include "support/extended_query.hpp"
#include "support/libpq_client.hpp"
#include "support/test_util.hpp"

namespace pgrouter::test {

// Time left until `deadline`, at least 1 ms (so it can be passed on as a timeout).
inline std::chrono::milliseconds left_until(std::chrono::steady_clock::time_point deadline) {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
}

// Pushes libpq's buffered output (non-blocking connection) out by `deadline`, reading input
// meanwhile so that an early ErrorResponse is kept for collect(). False when the socket failed
// or the deadline passed.
inline bool flush_within(PGconn* c, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const int r = PQflush(c);
        if (r <= 0) {
            return r == 0;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        pollfd pfd{PQsocket(c), POLLIN | POLLOUT, 0};
        if (::poll(&pfd, 1, static_cast<int>(left_until(deadline).count())) > 0 &&
            (pfd.revents & POLLIN) != 0 && PQconsumeInput(c) == 0) {
            return false;
        }
    }
}

// Makes `c` non-blocking, sends one command with `send` (a PQsend* call), pushes it out and reads
// the whole reply, all within `timeout`. The connection stays non-blocking.
inline ExecResult send_large(PGconn* c, std::chrono::milliseconds timeout,
                             const std::function<int(PGconn*)>& send) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    PQsetnonblocking(c, 1);
    if (send(c) != 1) {
        return collect(c, false);
    }
    const bool flushed = flush_within(c, deadline);
    ExecResult result = collect(c, true, left_until(deadline));
    if (!flushed && result.ok) {
        result.ok = false;
        result.message = "not sent completely: " + std::string(PQerrorMessage(c));
    }
    return result;
}

// Runs `copy_sql` (a COPY ... FROM STDIN) and sends `chunk` `times` times, one CopyData message
// each, then CopyDone; returns the command's result, all within `timeout`. When the peer gives up
// half-way, the rest is not sent and its error is returned.
inline ExecResult copy_in(PGconn* c, const std::string& copy_sql, const std::string& chunk,
                          int times, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (PQsendQuery(c, copy_sql.c_str()) != 1) {
        return collect(c, false);
    }
    PgResult started = next_result(c, left_until(deadline));
    if (!started || PQresultStatus(started.get()) != PGRES_COPY_IN) {
        ExecResult out;
        out.message = "COPY did not start: " + std::string(PQerrorMessage(c));
        return out;
    }
    PQsetnonblocking(c, 1);
    for (int i = 0; i < times; ++i) {
        if (PQputCopyData(c, chunk.data(), static_cast<int>(chunk.size())) != 1 ||
            !flush_within(c, deadline)) {
            break;
        }
    }
    if (PQputCopyEnd(c, nullptr) == 1) {
        flush_within(c, deadline);
    }
    return collect(c, true, left_until(deadline));
}

}  // namespace pgrouter::test
