// tests/support/test_util.hpp — small helpers shared by the integration tests: unique names (two
// tests run at once against one PostgreSQL), scratch tables made directly on the primary, and
// bounded waiting. No pgrouter knowledge here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <libpq-fe.h>

namespace pgrouter::test {

// "<prefix>_<getpid()>_<n>": unique across concurrently running test processes and within one.
std::string unique_name(std::string_view prefix);

// Polls `condition` every `interval` until it is true (returns true) or `timeout` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds{50});

// A table created directly on the primary (no pgrouter) by `user`, dropped in the destructor.
class ScratchTable {
public:
    ScratchTable(std::string_view prefix, std::string_view columns, std::string_view user = "app",
                 std::string_view password = "app", std::string_view db = "app");
    ~ScratchTable();
    ScratchTable(const ScratchTable&) = delete;
    ScratchTable& operator=(const ScratchTable&) = delete;

    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::string conninfo_;
};

// Result of a libpq call made with a deadline; null when the deadline passed or on no result.
struct ResultDeleter {
    void operator()(PGresult* res) const { PQclear(res); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// PQgetResult that waits at most `timeout` for libpq to have a result ready. `timed_out` (when
// given) tells a deadline apart from the NULL that ends a query's results.
PgResult next_result(PGconn* conn, std::chrono::milliseconds timeout, bool* timed_out = nullptr);

struct CopyOutData {
    bool complete = false;  // the CopyDone and the final result arrived
    std::string data;       // all CopyData payloads concatenated
    std::string error;      // why it is not complete
};

// After a COPY ... TO STDOUT reached PGRES_COPY_OUT: reads every row, then the command's result.
CopyOutData read_copy_out(PGconn* conn, std::chrono::milliseconds timeout);

}  // namespace pgrouter::test
