// tests/support/test_util.cpp — implementation of the shared test helpers; every wait is bounded.
#include "support/test_util.hpp"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "support/libpq_client.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;

bool wait_readable(int fd, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd pfd{fd, POLLIN, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (n != 0 && !(n < 0 && errno == EINTR)) {
            return true;
        }
    }
}

}  // namespace

std::string unique_name(std::string_view prefix) {
    static std::atomic<int> counter{0};
    return std::string(prefix) + "_" + std::to_string(::getpid()) + "_" +
           std::to_string(counter.fetch_add(1));
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (condition()) {
            return true;
        }
        if (Clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(interval);
    }
}

ScratchTable::ScratchTable(std::string_view prefix, std::string_view columns, std::string_view user,
                           std::string_view password, std::string_view db)
    : name_(unique_name(prefix)), conninfo_(direct_conninfo(user, password, db)) {
    PgConn conn(conninfo_);
    conn.exec("SET client_min_messages = warning; DROP TABLE IF EXISTS " + name_ +
              "; CREATE TABLE " + name_ + " (" + std::string(columns) + ")");
}

ScratchTable::~ScratchTable() {
    // Best effort: a pgrouter bug may still hold a lock, so do not wait for it forever.
    PGconn* conn = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn) == CONNECTION_OK) {
        PQclear(PQexec(conn, ("SET lock_timeout = '5s'; DROP TABLE IF EXISTS " + name_).c_str()));
    }
    PQfinish(conn);
}

PgResult next_result(PGconn* conn, std::chrono::milliseconds timeout, bool* timed_out) {
    if (timed_out != nullptr) {
        *timed_out = false;
    }
    const auto deadline = Clock::now() + timeout;
    while (PQisBusy(conn) != 0) {
        if (!wait_readable(PQsocket(conn), deadline)) {
            if (timed_out != nullptr) {
                *timed_out = true;
            }
            return PgResult(nullptr);
        }
        if (PQconsumeInput(conn) == 0) {
            break;  // connection lost: PQgetResult returns the error
        }
    }
    return PgResult(PQgetResult(conn));
}

CopyOutData read_copy_out(PGconn* conn, std::chrono::milliseconds timeout) {
    CopyOutData out;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        char* buffer = nullptr;
        const int n = PQgetCopyData(conn, &buffer, 1);
        if (n > 0) {
            out.data.append(buffer, static_cast<std::size_t>(n));
            PQfreemem(buffer);
            continue;
        }
        if (n == 0) {
            if (!wait_readable(PQsocket(conn), deadline)) {
                out.error = "COPY OUT did not finish before the deadline";
                return out;
            }
            if (PQconsumeInput(conn) == 0) {
                out.error = PQerrorMessage(conn);
                return out;
            }
            continue;
        }
        if (n == -2) {
            out.error = PQerrorMessage(conn);
            return out;
        }
        break;  // -1: COPY done
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    PgResult final_result = next_result(conn, std::max(left, std::chrono::milliseconds(1)));
    if (!final_result || PQresultStatus(final_result.get()) != PGRES_COMMAND_OK) {
        out.error = final_result ? PQresultErrorMessage(final_result.get())
                                 : std::string("no final result after COPY OUT");
        return out;
    }
    while (next_result(conn, std::chrono::milliseconds(5000))) {
    }
    out.complete = true;
    return out;
}

}  // namespace pgrouter::test
