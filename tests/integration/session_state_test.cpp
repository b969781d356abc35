// tests/integration/session_state_test.cpp — state that outlives a transaction (LISTEN, session
// advisory locks, temp tables, WITH HOLD cursors, SQL PREPARE) through pgrouter in transaction
// mode against real PostgreSQL 15: with on_session_state: pin the client keeps its server
// connection and the connection is reset before anyone else gets it; with error the statement
// fails with 0A000 like a server error. Which backend answered is asked of the server; the log is
// read only for the pin line.
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/bystanders.hpp"
#include "support/extended_query.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/server_activity.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kReplyTimeout = kProtocolTimeout;
constexpr std::string_view kPinLine = "pinned to server";

std::unique_ptr<PgrouterProcess> start_router(std::uint32_t pool_size,
                                              const std::string& on_session_state = "pin") {
    RouterOptions options;
    options.pool_size = pool_size;
    options.on_session_state = on_session_state;
    options.query_wait_timeout_ms = 30000;
    return std::make_unique<PgrouterProcess>(base_yaml(options));
}

// An advisory lock key no other test process uses.
std::string unique_lock_key() {
    return std::to_string(4200000000LL + ::getpid());
}

// Backend pids holding the session advisory lock `key` (bigint form: classid/objid halves).
std::set<int> advisory_holders(const std::string& key) {
    PgConn admin(admin_conninfo());
    std::set<int> pids;
    for (const Row& row : admin.exec(
             "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
             " AND ((classid::bigint << 32) | objid::bigint) = " +
             key)) {
        pids.insert(std::stoi(row.at(0).value_or("0")));
    }
    return pids;
}

bool log_has_pin_line(const PgrouterProcess& router, std::string_view reason) {
    return wait_until(
        [&] {
            const std::string log = router.log();
            for (std::size_t pos = log.find(kPinLine); pos != std::string::npos;
                 pos = log.find(kPinLine, pos + 1)) {
                const std::size_t end = log.find('\n', pos);
                if (log.substr(pos, end - pos).find(reason) != std::string::npos) {
                    return true;
                }
            }
            return false;
        },
        seconds(5));
}

// ---- on_session_state: pin ----

TEST(SessionStatePin, ListenPinsAndTheNotificationArrives) {
    auto router = start_router(2);
    const std::string channel = unique_name("it_chan");
    PgConn a(router->conninfo("app", "app", "app"));
    a.exec("LISTEN " + channel);
    const int a_pid = a.backend_pid();
    EXPECT_TRUE(log_has_pin_line(*router, "LISTEN")) << router->log();

    Bystanders others(router->conninfo("app", "app", "app"), 3);
    others.watch();
    PgConn b(router->conninfo("app", "app", "app"));
    const Rows notify_pid = b.exec("NOTIFY " + channel + ", 'first'; SELECT pg_backend_pid()");
    ASSERT_EQ(notify_pid.size(), 1u);
    EXPECT_NE(std::stoi(notify_pid[0].at(0).value_or("0")), a_pid)
        << "B ran on the connection A is pinned to";

    // A gets it with its next statement, as with a direct connection.
    EXPECT_EQ(a.scalar("SELECT 1"), "1");
    PGnotify* first = nullptr;
    EXPECT_TRUE(wait_until(
        [&] {
            PQconsumeInput(a.raw());
            first = PQnotifies(a.raw());
            return first != nullptr;
        },
        seconds(10)))
        << "the notification never reached A";
    if (first != nullptr) {
        EXPECT_EQ(std::string(first->relname), channel);
        EXPECT_STREQ(first->extra, "first");
        EXPECT_EQ(first->be_pid, std::stoi(notify_pid[0].at(0).value_or("0")));
        PQfreemem(first);
    }

    // While A is idle, too: PostgreSQL sends it at once, so pgrouter must pass it on.
    b.exec("NOTIFY " + channel + ", 'second'");
    PGnotify* second = nullptr;
    EXPECT_TRUE(wait_until(
        [&] {
            PQconsumeInput(a.raw());
            second = PQnotifies(a.raw());
            return second != nullptr;
        },
        seconds(10)))
        << "a notification sent while A was idle did not arrive without a query";
    if (second != nullptr) {
        EXPECT_STREQ(second->extra, "second");
        PQfreemem(second);
    }

    for (int i = 0; i < 10; ++i) {
        a.exec("BEGIN");
        EXPECT_EQ(a.backend_pid(), a_pid) << "the pinned client moved to another server";
        a.exec("COMMIT");
        EXPECT_EQ(a.backend_pid(), a_pid);
    }
    // Progress, not speed: under load the others may still be logging in when A is done.
    EXPECT_TRUE(wait_until([&] { return others.watched_done() > 0; }, seconds(10)))
        << "the other clients were starved";
    others.stop();
    EXPECT_EQ(others.failures(), 0);
    EXPECT_EQ(others.watched_pids().count(a_pid), 0u)
        << "another client ran on the connection A is pinned to";
    EXPECT_EQ(
        a.scalar("SELECT count(*) FROM pg_listening_channels() WHERE pg_listening_channels = '" +
                 channel + "'"),
        "1");
}

TEST(SessionStatePin, AdvisoryLockPinsTheClient) {
    auto router = start_router(2);
    const std::string key = unique_lock_key();
    PgConn a(router->conninfo("app", "app", "app"));
    a.exec("SELECT pg_advisory_lock(" + key + ")");
    const int a_pid = a.backend_pid();
    EXPECT_EQ(advisory_holders(key), std::set<int>{a_pid});
    EXPECT_TRUE(log_has_pin_line(*router, "advisory")) << router->log();

    Bystanders others(router->conninfo("app", "app", "app"), 3);
    others.watch();
    for (int i = 0; i < 20; ++i) {
        a.exec("BEGIN");
        EXPECT_EQ(a.backend_pid(), a_pid) << "the pinned client moved to another server";
        a.exec("COMMIT");
        EXPECT_EQ(a.backend_pid(), a_pid);
    }
    // Let the others run a good number of transactions next to A (bounded).
    EXPECT_TRUE(wait_until([&] { return others.watched_done() >= 50; }, seconds(30)));
    others.stop();
    EXPECT_EQ(others.failures(), 0);
    EXPECT_EQ(others.watched_pids().count(a_pid), 0u)
        << "another client ran on the connection A is pinned to";
    EXPECT_EQ(advisory_holders(key), std::set<int>{a_pid});
    EXPECT_EQ(a.scalar("SELECT pg_advisory_unlock(" + key + ")"), "t");
}

TEST(SessionStatePin, PinnedServerIsResetBeforeTheNextClient) {
    auto router = start_router(1);
    const std::string key = unique_lock_key();
    const std::string temp = unique_name("it_tmp");
    const std::string channel = unique_name("it_chan");
    const std::string statement = unique_name("it_sqlprep");
    int a_pid = 0;
    {
        PgConn a(router->conninfo("app", "app", "app"));
        a.exec("SELECT pg_advisory_lock(" + key + ")");
        a.exec("CREATE TEMP TABLE " + temp + " (x int)");
        a.exec("INSERT INTO " + temp + " VALUES (1)");
        a.exec("LISTEN " + channel);
        a.exec("PREPARE " + statement + " AS SELECT 1");
        a.exec("BEGIN");
        a.exec("DECLARE it_held CURSOR WITH HOLD FOR SELECT 1");
        a.exec("COMMIT");
        a_pid = a.backend_pid();
        EXPECT_EQ(a.scalar("SELECT count(*) FROM " + temp), "1");
        EXPECT_EQ(advisory_holders(key), std::set<int>{a_pid});
    }  // A disconnects

    PgConn c(router->conninfo("app", "app", "app"));
    ASSERT_EQ(c.backend_pid(), a_pid)
        << "pool.size 1: the next client should get A's server connection, reset";
    EXPECT_TRUE(advisory_holders(key).empty()) << "A's advisory lock outlived A";
    PgConn direct(direct_conninfo("app", "app", "app"));
    EXPECT_EQ(direct.scalar("SELECT pg_try_advisory_lock(" + key + ")"), "t");
    EXPECT_EQ(direct.scalar("SELECT pg_advisory_unlock(" + key + ")"), "t");
    EXPECT_EQ(c.scalar("SELECT pg_try_advisory_lock(" + key + ")"), "t");

    EXPECT_EQ(c.scalar("SELECT count(*) FROM pg_class WHERE relname = '" + temp + "'"), "0")
        << "A's temp table is still there";
    EXPECT_EQ(c.scalar("SELECT count(*) FROM pg_listening_channels()"), "0");
    EXPECT_EQ(c.scalar("SELECT count(*) FROM pg_prepared_statements"), "0");
    EXPECT_EQ(c.scalar("SELECT count(*) FROM pg_cursors"), "0");
}

// ---- on_session_state: error ----

struct Refused {
    std::string sql;
    std::string keyword;  // what the error message must name
};

std::vector<Refused> refused_statements(const std::string& key, const std::string& suffix) {
    return {
        {"LISTEN it_chan_" + suffix, "LISTEN"},
        {"CREATE TEMP TABLE it_tmp_" + suffix + " (x int)", "CREATE TEMP TABLE"},
        {"SELECT pg_advisory_lock(" + key + ")", "pg_advisory_lock"},
        {"DECLARE it_cur_" + suffix + " CURSOR WITH HOLD FOR SELECT 1", "DECLARE"},
        {"PREPARE it_prep_" + suffix + " AS SELECT 1", "PREPARE"},
    };
}

TEST(SessionStateError, StatementsThatCreateSessionStateFailWith0A000) {
    auto router = start_router(1, "error");
    const std::string key = unique_lock_key();
    const std::string suffix = std::to_string(::getpid());
    PgConn conn(router->conninfo("app", "app", "app"));
    PGconn* c = conn.raw();
    for (const Refused& r : refused_statements(key, suffix)) {
        SCOPED_TRACE(r.sql);
        const ExecResult autocommit = conn.try_exec(r.sql, kReplyTimeout);
        EXPECT_FALSE(autocommit.ok);
        EXPECT_EQ(autocommit.sqlstate, "0A000") << autocommit.message;
        EXPECT_NE(autocommit.message.find("on_session_state"), std::string::npos)
            << autocommit.message;
        EXPECT_NE(autocommit.message.find(r.keyword), std::string::npos) << autocommit.message;
        EXPECT_EQ(tx_status(c), 'I');
        EXPECT_EQ(conn.scalar("SELECT 'still works'"), "still works");

        // Inside a transaction it aborts the transaction, like a server error.
        conn.exec("BEGIN");
        const ExecResult in_tx = conn.try_exec(r.sql, kReplyTimeout);
        EXPECT_EQ(in_tx.sqlstate, "0A000") << in_tx.message;
        EXPECT_EQ(tx_status(c), 'E');
        EXPECT_EQ(conn.try_exec("SELECT 1", kReplyTimeout).sqlstate, "25P02");
        const ExecResult commit = conn.try_exec("COMMIT", kReplyTimeout);
        EXPECT_TRUE(commit.ok) << outcome(commit);
        EXPECT_EQ(tx_status(c), 'I');
        EXPECT_EQ(conn.scalar("SELECT 'works after the transaction'"),
                  "works after the transaction");
    }
    // None of them happened on the server.
    EXPECT_TRUE(advisory_holders(key).empty());
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM pg_listening_channels()"), "0");
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM pg_class WHERE relname = 'it_tmp_" + suffix + "'"),
              "0");
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM pg_prepared_statements"), "0");
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM pg_cursors"), "0");
    EXPECT_EQ(router->log().find(kPinLine), std::string::npos) << router->log();
}

TEST(SessionStateError, ExtendedProtocolStatementsAreRefusedToo) {
    auto router = start_router(1, "error");
    const std::string key = unique_lock_key();
    PgConn conn(router->conninfo("app", "app", "app"));
    PGconn* c = conn.raw();
    const ExecResult lock = exec_params(c, "SELECT pg_advisory_lock($1::bigint)", {key});
    EXPECT_FALSE(lock.ok) << outcome(lock);
    EXPECT_EQ(lock.sqlstate, "0A000") << lock.message;
    EXPECT_NE(lock.message.find("on_session_state"), std::string::npos) << lock.message;
    const ExecResult named = prepare(c, "temp_maker", "CREATE TEMP TABLE it_ext_tmp (x int)");
    EXPECT_EQ(named.sqlstate, "0A000") << outcome(named);
    EXPECT_EQ(tx_status(c), 'I');
    EXPECT_EQ(cell(exec_params(c, "SELECT $1::int + 1", {"41"})), "42");

    conn.exec("BEGIN");
    EXPECT_EQ(exec_params(c, "SELECT pg_advisory_lock($1::bigint)", {key}).sqlstate, "0A000");
    EXPECT_EQ(exec_params(c, "SELECT 1").sqlstate, "25P02");
    conn.exec("ROLLBACK");
    EXPECT_TRUE(advisory_holders(key).empty());
    EXPECT_EQ(router->log().find(kPinLine), std::string::npos) << router->log();
}

TEST(SessionStateError, TransactionScopedStateStillWorks) {
    // Not session state: transaction-level advisory locks and cursors without HOLD end with
    // their transaction, so they must not be refused.
    auto router = start_router(1, "error");
    const std::string key = unique_lock_key();
    PgConn conn(router->conninfo("app", "app", "app"));
    conn.exec("BEGIN");
    EXPECT_EQ(conn.scalar("SELECT pg_try_advisory_xact_lock(" + key + ")"), "t");
    conn.exec("DECLARE it_plain CURSOR FOR SELECT 7");
    EXPECT_EQ(conn.scalar("FETCH 1 FROM it_plain"), "7");
    conn.exec("COMMIT");
    EXPECT_TRUE(advisory_holders(key).empty());
}

}  // namespace
}  // namespace pgrouter::test
