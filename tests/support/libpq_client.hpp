// tests/support/libpq_client.hpp — thin libpq helpers for integration tests: a connection that
// fails the test with the server's message, and questions asked of the *server* (which port and
// backend answered). Knows nothing about pgrouter; every call is bounded by a deadline.
#pragma once

#include <chrono>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

namespace pgrouter::test {

using Row = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL
using Rows = std::vector<Row>;

inline constexpr std::chrono::milliseconds kDefaultQueryTimeout{60000};

struct ExecResult {
    bool ok = false;
    // SQLSTATE of the first error; empty when libpq made the error itself (connection lost);
    // "TIMEOUT" when no complete reply arrived before the deadline.
    std::string sqlstate;
    std::string message;
    Rows rows;  // rows of the last result that returned rows
};

// Thrown (after the failure is recorded) when a helper cannot go on, so the test stops there
// instead of indexing into rows that do not exist. GoogleTest reports it as a failure.
struct TestAbort : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class PgConn {
public:
    // Connects (blocking, bounded by connect_timeout in `conninfo`, 10 s by default). On failure
    // records a test failure with libpq's message and throws TestAbort.
    explicit PgConn(const std::string& conninfo,
                    std::source_location where = std::source_location::current());
    ~PgConn();
    PgConn(PgConn&& other) noexcept;
    PgConn& operator=(PgConn&& other) noexcept;
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;

    // Runs `sql` (simple Query protocol, may hold several statements). On any error records a
    // test failure quoting the SQL, SQLSTATE and server message, then throws TestAbort.
    Rows exec(const std::string& sql, std::source_location where = std::source_location::current());

    // First column of the first row; records a failure and throws when there is none or it is NULL.
    std::string scalar(const std::string& sql,
                       std::source_location where = std::source_location::current());

    // Never fails the test: the caller inspects the result. After a timeout the connection is
    // left unusable (a reply may still be in flight) and ok() turns false.
    ExecResult try_exec(const std::string& sql,
                        std::chrono::milliseconds timeout = kDefaultQueryTimeout);

    // SELECT inet_server_port() / pg_backend_pid(): asked of the server that answers.
    int server_port(std::source_location where = std::source_location::current());
    int backend_pid(std::source_location where = std::source_location::current());

    // Value the server (or pgrouter) reported in ParameterStatus, as libpq keeps it.
    std::optional<std::string> parameter_status(const std::string& name) const;

    // CONNECTION_OK and no timed-out query pending.
    bool ok() const;
    PGconn* raw() const { return conn_; }

private:
    PGconn* conn_ = nullptr;
    bool poisoned_ = false;
};

struct ConnectError {
    bool connected = false;  // the connection succeeded (then sqlstate/message are empty)
    std::string sqlstate;    // e.g. "28P01"; empty when the failure had none (refused, EOF...)
    std::string message;     // libpq's full error text
};

// Tries to connect and reports why it failed. The SQLSTATE comes from libpq's verbose error text
// ("FATAL:  28P01: password authentication failed..."), because PQresultErrorField is not
// available for a connection that never got established. Bounded by `timeout`.
ConnectError connect_error(const std::string& conninfo,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds{15000});

// Extracts the first "SEVERITY:  XXXXX:" SQLSTATE from a verbose libpq error message.
std::string sqlstate_from_verbose_message(std::string_view message);

// Rows -> "a|b\nc|d" for failure messages.
std::string format_rows(const Rows& rows);

}  // namespace pgrouter::test
