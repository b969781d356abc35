// tests/integration/shutdown_test.cpp — SIGTERM handling against real PostgreSQL 15: idle clients
// are told 57P01 and disconnected, open transactions may finish, new connections are refused, and
// the process exits 0 within limits.shutdown_timeout_ms.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Slack on top of shutdown_timeout_ms for process start-up noise on a busy machine.
constexpr milliseconds kExitSlack{5000};

milliseconds left_until(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? left : milliseconds(0);
}

TEST(Shutdown, SigtermDrainsIdleClientsAndLetsOpenTransactionsCommit) {
    constexpr std::uint32_t kShutdownTimeoutMs = 15000;
    ScratchTable table("it_shutdown", "id int");
    RouterOptions options;
    options.shutdown_timeout_ms = kShutdownTimeoutMs;
    PgrouterProcess router(base_yaml(options));

    PgConn a(router.conninfo("app", "app", "app"));
    PgConn b(router.conninfo("app", "app", "app"));
    EXPECT_EQ(b.scalar("SELECT 'b idle'"), "b idle");
    a.exec("BEGIN");
    a.exec("INSERT INTO " + table.name() + " VALUES (1)");

    ASSERT_TRUE(router.send_signal(SIGTERM));
    const auto exit_deadline = Clock::now() + milliseconds(kShutdownTimeoutMs) + kExitSlack;

    // B sits idle between transactions: pgrouter disconnects it (FATAL 57P01, or just a close).
    ExecResult b_result;
    const bool b_disconnected = wait_until(
        [&] {
            b_result = b.try_exec("SELECT 1", milliseconds(5000));
            return !b_result.ok;
        },
        milliseconds(10000), milliseconds(200));
    ASSERT_TRUE(b_disconnected) << "the idle client was still served 10 s after SIGTERM";
    EXPECT_TRUE(b_result.sqlstate == "57P01" ||
                (b_result.sqlstate.empty() && PQstatus(b.raw()) == CONNECTION_BAD))
        << "idle client got SQLSTATE '" << b_result.sqlstate << "': " << b_result.message;

    // While A's transaction is still open, nobody new gets in.
    const ConnectError refused =
        connect_error(router.conninfo("app", "app", "app"), milliseconds(10000));
    EXPECT_FALSE(refused.connected) << "a new connection was accepted after SIGTERM";

    // A finishes its transaction on the same server.
    const ExecResult insert = a.try_exec("INSERT INTO " + table.name() + " VALUES (2)");
    EXPECT_TRUE(insert.ok) << insert.sqlstate << " " << insert.message;
    const ExecResult commit = a.try_exec("COMMIT");
    EXPECT_TRUE(commit.ok) << commit.sqlstate << " " << commit.message;

    PgConn direct(direct_conninfo("app", "app", "app"));
    EXPECT_EQ(direct.scalar("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM " +
                            table.name()),
              "1,2");

    const std::optional<int> status = router.wait_exit(left_until(exit_deadline));
    ASSERT_TRUE(status.has_value()) << "pgrouter still running after shutdown_timeout_ms";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
}

TEST(Shutdown, SigtermWithoutClientsExitsZeroAndStopsListening) {
    RouterOptions options;
    options.shutdown_timeout_ms = 10000;
    PgrouterProcess router(base_yaml(options));
    {
        PgConn conn(router.conninfo("app", "app", "app"));
        EXPECT_EQ(conn.scalar("SELECT 1"), "1");
    }
    ASSERT_TRUE(router.send_signal(SIGTERM));
    const std::optional<int> status = router.wait_exit(milliseconds(10000) + kExitSlack);
    ASSERT_TRUE(status.has_value()) << "pgrouter still running after shutdown_timeout_ms";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << describe_wait_status(*status);
    EXPECT_FALSE(port_accepts(router.port()));
}

TEST(Shutdown, TransactionStillOpenAtTheTimeoutIsCutOffAndRolledBack) {
    constexpr std::uint32_t kShutdownTimeoutMs = 2000;
    ScratchTable table("it_shutdown_stuck", "id int");
    RouterOptions options;
    options.shutdown_timeout_ms = kShutdownTimeoutMs;
    PgrouterProcess router(base_yaml(options));
    PgConn stuck(router.conninfo("app", "app", "app"));
    stuck.exec("BEGIN");
    stuck.exec("INSERT INTO " + table.name() + " VALUES (1)");
    const std::string backend = std::to_string(stuck.backend_pid());

    ASSERT_TRUE(router.send_signal(SIGTERM));
    const std::optional<int> status =
        router.wait_exit(milliseconds(kShutdownTimeoutMs) + kExitSlack);
    ASSERT_TRUE(status.has_value()) << "an open transaction kept pgrouter alive past the timeout";
    EXPECT_TRUE(WIFEXITED(*status)) << describe_wait_status(*status);

    EXPECT_FALSE(stuck.try_exec("COMMIT", milliseconds(5000)).ok);
    // Once its server backend is gone the transaction's fate is sealed: it must not be committed.
    PgConn direct(direct_conninfo("app", "app", "app"));
    EXPECT_TRUE(wait_until(
        [&] {
            return direct.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + backend) ==
                   "0";
        },
        milliseconds(10000)))
        << "the server backend of the cut-off transaction is still alive";
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()), "0")
        << "the unfinished transaction was committed";
}

}  // namespace
}  // namespace pgrouter::test
