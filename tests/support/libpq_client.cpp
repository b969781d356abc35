// tests/support/libpq_client.cpp — PgConn and connect_error over libpq. Blocking from the caller's
// view, but every wait is a poll() with a deadline so a misbehaving proxy fails a test, not ctest.
#include "support/libpq_client.hpp"

#include <poll.h>

#include <cctype>
#include <utility>

#include <gtest/gtest.h>

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.pop_back();
    }
    return s;
}

[[noreturn]] void abort_test(const std::string& message, const std::source_location& where) {
    ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line())) << message;
    throw TestAbort(message);
}

// Waits until the socket is readable (or writable) or the deadline passes.
bool wait_socket(int fd, bool for_write, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd pfd{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return true;
        }
        if (n < 0 && errno != EINTR) {
            return true;  // let libpq report the socket error
        }
    }
}

Rows rows_of(const PGresult* res) {
    Rows rows;
    const int n_rows = PQntuples(res);
    const int n_cols = PQnfields(res);
    rows.reserve(static_cast<std::size_t>(n_rows));
    for (int r = 0; r < n_rows; ++r) {
        Row row;
        row.reserve(static_cast<std::size_t>(n_cols));
        for (int c = 0; c < n_cols; ++c) {
            if (PQgetisnull(res, r, c)) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(PQgetvalue(res, r, c),
                                             static_cast<std::size_t>(PQgetlength(res, r, c))));
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace

PgConn::PgConn(const std::string& conninfo, std::source_location where) {
    conn_ = PQconnectdb(conninfo.c_str());
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
        std::string message = conn_ != nullptr ? trim(PQerrorMessage(conn_)) : "out of memory";
        if (conn_ != nullptr) {
            PQfinish(conn_);
            conn_ = nullptr;
        }
        abort_test("connection failed (" + conninfo.substr(0, conninfo.find(" password=")) +
                       "): " + message,
                   where);
    }
}

PgConn::~PgConn() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
    }
}

PgConn::PgConn(PgConn&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)), poisoned_(other.poisoned_) {}

PgConn& PgConn::operator=(PgConn&& other) noexcept {
    if (this != &other) {
        if (conn_ != nullptr) {
            PQfinish(conn_);
        }
        conn_ = std::exchange(other.conn_, nullptr);
        poisoned_ = other.poisoned_;
    }
    return *this;
}

bool PgConn::ok() const {
    return conn_ != nullptr && !poisoned_ && PQstatus(conn_) == CONNECTION_OK;
}

ExecResult PgConn::try_exec(const std::string& sql, std::chrono::milliseconds timeout) {
    ExecResult out;
    if (conn_ == nullptr || poisoned_) {
        out.message = "connection unusable (earlier timeout)";
        return out;
    }
    const auto deadline = Clock::now() + timeout;
    if (PQsendQuery(conn_, sql.c_str()) == 0) {
        out.message = trim(PQerrorMessage(conn_));
        return out;
    }
    // PQsendQuery flushes in blocking mode, so only the reply is waited for.
    out.ok = true;
    bool have_error = false;
    for (;;) {
        while (PQisBusy(conn_) != 0) {
            if (!wait_socket(PQsocket(conn_), false, deadline)) {
                poisoned_ = true;
                out.ok = false;
                out.sqlstate = "TIMEOUT";
                out.message = "no complete reply within " + std::to_string(timeout.count()) +
                              " ms to: " + sql.substr(0, 200);
                return out;
            }
            if (PQconsumeInput(conn_) == 0) {
                break;  // connection lost: PQgetResult reports it
            }
        }
        PGresult* res = PQgetResult(conn_);
        if (res == nullptr) {
            break;
        }
        switch (PQresultStatus(res)) {
            case PGRES_TUPLES_OK:
                out.rows = rows_of(res);
                break;
            case PGRES_COMMAND_OK:
            case PGRES_EMPTY_QUERY:
                break;
            case PGRES_COPY_IN:
                // exec() is not a COPY client; end it so the connection stays usable.
                PQputCopyEnd(conn_, "COPY is not supported by PgConn::try_exec");
                break;
            default:
                if (!have_error) {
                    have_error = true;
                    out.ok = false;
                    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                    out.sqlstate = state != nullptr ? state : "";
                    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
                    out.message = primary != nullptr ? primary : trim(PQresultErrorMessage(res));
                    if (out.message.empty()) {
                        out.message = trim(PQerrorMessage(conn_));
                    }
                }
                break;
        }
        const bool copy_out = PQresultStatus(res) == PGRES_COPY_OUT;
        PQclear(res);
        if (copy_out) {
            char* buffer = nullptr;
            while (PQgetCopyData(conn_, &buffer, 0) > 0) {
                PQfreemem(buffer);
            }
        }
        if (PQstatus(conn_) == CONNECTION_BAD && PQisBusy(conn_) == 0) {
            // libpq may have nothing more to return; avoid spinning on a dead socket.
            PGresult* rest = PQgetResult(conn_);
            while (rest != nullptr) {
                PQclear(rest);
                rest = PQgetResult(conn_);
            }
            break;
        }
    }
    if (!out.ok && out.message.empty()) {
        out.message = trim(PQerrorMessage(conn_));
    }
    return out;
}

Rows PgConn::exec(const std::string& sql, std::source_location where) {
    ExecResult result = try_exec(sql);
    if (!result.ok) {
        abort_test("query failed: " + sql.substr(0, 300) + "\n  SQLSTATE " +
                       (result.sqlstate.empty() ? "(none)" : result.sqlstate) + ": " +
                       result.message,
                   where);
    }
    return std::move(result.rows);
}

std::string PgConn::scalar(const std::string& sql, std::source_location where) {
    Rows rows = exec(sql, where);
    if (rows.empty() || rows[0].empty() || !rows[0][0].has_value()) {
        abort_test("query returned no value: " + sql.substr(0, 300), where);
    }
    return *rows[0][0];
}

int PgConn::server_port(std::source_location where) {
    return std::stoi(scalar("SELECT inet_server_port()", where));
}

int PgConn::backend_pid(std::source_location where) {
    return std::stoi(scalar("SELECT pg_backend_pid()", where));
}

std::optional<std::string> PgConn::parameter_status(const std::string& name) const {
    if (conn_ == nullptr) {
        return std::nullopt;
    }
    const char* value = PQparameterStatus(conn_, name.c_str());
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

std::string sqlstate_from_verbose_message(std::string_view message) {
    for (std::string_view severity : {"FATAL:  ", "ERROR:  ", "PANIC:  "}) {
        std::size_t pos = 0;
        while ((pos = message.find(severity, pos)) != std::string_view::npos) {
            const std::size_t start = pos + severity.size();
            if (start + 6 <= message.size() && message[start + 5] == ':') {
                bool code = true;
                for (std::size_t i = start; i < start + 5; ++i) {
                    const unsigned char c = static_cast<unsigned char>(message[i]);
                    code = code && (std::isdigit(c) || std::isupper(c));
                }
                if (code) {
                    return std::string(message.substr(start, 5));
                }
            }
            pos = start;
        }
    }
    return "";
}

ConnectError connect_error(const std::string& conninfo, std::chrono::milliseconds timeout) {
    ConnectError out;
    PGconn* conn = PQconnectStart(conninfo.c_str());
    if (conn == nullptr) {
        out.message = "out of memory";
        return out;
    }
    // Before the first poll nothing has been read yet, so every server error that follows is
    // formatted with its SQLSTATE.
    PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
    const auto deadline = Clock::now() + timeout;
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    bool timed_out = false;
    while (PQstatus(conn) != CONNECTION_BAD && state != PGRES_POLLING_OK &&
           state != PGRES_POLLING_FAILED) {
        if (!wait_socket(PQsocket(conn), state == PGRES_POLLING_WRITING, deadline)) {
            timed_out = true;
            break;
        }
        state = PQconnectPoll(conn);
    }
    if (timed_out) {
        out.message =
            "connection attempt did not finish within " + std::to_string(timeout.count()) + " ms";
        out.sqlstate = "TIMEOUT";
    } else if (state == PGRES_POLLING_OK && PQstatus(conn) == CONNECTION_OK) {
        out.connected = true;
    } else {
        out.message = trim(PQerrorMessage(conn));
        out.sqlstate = sqlstate_from_verbose_message(out.message);
    }
    PQfinish(conn);
    return out;
}

std::string format_rows(const Rows& rows) {
    std::string out;
    for (const Row& row : rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            out += (i == 0 ? "" : "|");
            out += row[i].value_or("NULL");
        }
        out += "\n";
    }
    return out;
}

}  // namespace pgrouter::test
