// tests/integration/routing_consistency_test.cpp — issue 7, read-your-writes and replica lag
// against a real primary and two real replicas: window mode (connection and user scope), LSN
// mode with replay paused on both replicas (connection and key scope, SET and comment forms),
// and a replica that falls behind max_replica_lag_ms. Replay is paused with RAII guards that
// always resume it; the server that answered is asked of the server.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/extended_query.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/routing_support.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kPortQuery = "SELECT inet_server_port()";

std::unique_ptr<PgrouterProcess> start_router(const std::string& routing) {
    RouterOptions options;
    options.with_replicas = true;
    // A session a bug left hanging must not hold the shutdown up for long.
    options.shutdown_timeout_ms = 3000;
    options.routing_yaml = "routing: " + routing + "\n";
    return std::make_unique<PgrouterProcess>(base_yaml(options));
}

class RoutingConsistency : public ::testing::Test {
protected:
    void SetUp() override { expect_replicas_caught_up(); }
};

int read_port(PgConn& conn) {
    return port_in(conn.try_exec(kPortQuery), kPortQuery);
}

long long ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

// Reads on `conn` until one lands on a replica; returns when (ms after `start`), or -1.
long long wait_back_on_replica(PgConn& conn, Clock::time_point start, milliseconds timeout) {
    int port = 0;
    const bool back = wait_until(
        [&] {
            port = read_port(conn);
            return servers().is_replica(port);
        },
        timeout, milliseconds(50));
    return back ? ms_since(start) : -1;
}

// ---- 4. read-your-writes, window mode ----

TEST_F(RoutingConsistency, WindowPinsOnlyTheWritingConnection) {
    ScratchTable table("rc_window", "id int");
    expect_replicas_caught_up();
    auto router = start_router("{pin_after_write_ms: 2000, consistency: window}");
    PgConn writer(router->conninfo("app", "app", "app"));
    PgConn other(router->conninfo("app", "app", "app"));
    ASSERT_TRUE(servers().is_replica(read_port(writer))) << "reads before any write";

    const auto start = Clock::now();  // pgrouter cannot see the write before this
    const std::string insert =
        "INSERT INTO " + table.name() + " VALUES (1) RETURNING inet_server_port()";
    ASSERT_EQ(port_in(writer.try_exec(insert), insert), servers().primary);
    // Any read that has completed within 2000 ms of `start` was routed less than 2000 ms after
    // the write: it must be on the primary. 1900 leaves room for clock granularity.
    int early_reads = 0;
    while (ms_since(start) < 1500) {
        const int port = read_port(writer);
        const long long at = ms_since(start);
        if (at < 1900) {
            ++early_reads;
            EXPECT_EQ(servers().name(port), servers().name(servers().primary))
                << "read " << at << " ms after the write left the primary";
        }
        const int others = read_port(other);
        EXPECT_TRUE(servers().is_replica(others))
            << "another connection was pinned (scope connection): " << servers().name(others);
        std::this_thread::sleep_for(milliseconds(100));
    }
    EXPECT_GT(early_reads, 0) << "the machine is too slow to check the window";
    const long long back = wait_back_on_replica(writer, start, seconds(6));
    EXPECT_GE(back, 0) << "the writer's reads never went back to the replicas";
    EXPECT_GE(back, 1900) << "the pin ended after " << back << " ms (window 2000 ms)";
}

TEST_F(RoutingConsistency, WindowScopeUserPinsTheUsersOtherConnections) {
    ScratchTable table("rc_user", "id int");
    expect_replicas_caught_up();
    auto router =
        start_router("{pin_after_write_ms: 2000, consistency: window, consistency_scope: user}");
    PgConn writer(router->conninfo("app", "app", "app"));
    PgConn same_user(router->conninfo("app", "app", "app"));
    PgConn other_user(router->conninfo("md5user", "md5pw", "app"));
    ASSERT_TRUE(servers().is_replica(read_port(same_user))) << "reads before any write";

    const auto start = Clock::now();
    writer.exec("INSERT INTO " + table.name() + " VALUES (1)");
    const int same = read_port(same_user);
    const long long at = ms_since(start);
    if (at < 1900) {
        EXPECT_EQ(servers().name(same), servers().name(servers().primary))
            << "scope user: a second connection of the writing user read from a replica " << at
            << " ms after the write";
    }
    const int other = read_port(other_user);
    EXPECT_TRUE(servers().is_replica(other))
        << "another user was pinned by app's write: " << servers().name(other);
    EXPECT_GE(wait_back_on_replica(same_user, start, seconds(6)), 0)
        << "the user's reads never went back to the replicas";
}

// ---- 4. read-your-writes, LSN mode ----

// "port|count" of one read of the table's row count, asked of the server that answered.
struct CountRead {
    int port = 0;
    std::string count;
};

CountRead read_count(PgConn& conn, const std::string& table, const std::string& prefix = "") {
    const std::string sql = prefix + "SELECT inet_server_port(), count(*) FROM " + table;
    const ExecResult result = conn.try_exec(sql);
    return CountRead{port_in(result, sql), cell(result, 0, 1)};
}

TEST_F(RoutingConsistency, LsnModeReadsTheOwnWriteWhileReplayIsPaused) {
    ScratchTable table("rc_lsn", "id int");
    expect_replicas_caught_up();
    // The window is short: only the LSN can keep the reads on the primary past it. The lag limit
    // is far away, so the paused replicas stay in use for every other client.
    auto router = start_router(
        "{consistency: lsn, pin_after_write_ms: 1000, health_check_interval_ms: 100, "
        "max_replica_lag_ms: 60000}");
    PgConn writer(router->conninfo("app", "app", "app"));
    PgConn other(router->conninfo("app", "app", "app"));
    ReplayPause pause1(servers().replica1);
    ReplayPause pause2(servers().replica2);

    writer.exec("INSERT INTO " + table.name() + " VALUES (1)");
    const auto start = Clock::now();
    while (ms_since(start) < 2500) {
        const CountRead own = read_count(writer, table.name());
        EXPECT_EQ(own.count, "1") << "the writer did not see its row, read on "
                                  << servers().name(own.port) << " " << ms_since(start)
                                  << " ms after the write";
        EXPECT_EQ(servers().name(own.port), servers().name(servers().primary));
        std::this_thread::sleep_for(milliseconds(150));
    }
    const CountRead stale = read_count(other, table.name());
    ASSERT_TRUE(servers().is_replica(stale.port))
        << "another connection was pinned: " << servers().name(stale.port);
    EXPECT_EQ(stale.count, "0") << "replay is not paused on " << servers().name(stale.port);

    pause1.resume();
    pause2.resume();
    const auto resumed = Clock::now();
    CountRead last;
    const bool back = wait_until(
        [&] {
            last = read_count(writer, table.name());
            EXPECT_EQ(last.count, "1") << "read on " << servers().name(last.port);
            return servers().is_replica(last.port);
        },
        seconds(3), milliseconds(50));
    EXPECT_TRUE(back) << "reads did not return to the replicas within 3 s of resuming replay";
    if (back) {
        EXPECT_EQ(last.count, "1");
        std::printf("[ info ] back on %s %lld ms after resuming replay\n",
                    servers().name(last.port).c_str(), ms_since(resumed));
    }
}

TEST_F(RoutingConsistency, LsnScopeKeySharesTheWriteBetweenConnections) {
    ScratchTable table("rc_key", "id int");
    expect_replicas_caught_up();
    auto router = start_router(
        "{consistency: lsn, consistency_scope: key, pin_after_write_ms: 1000, "
        "health_check_interval_ms: 100, max_replica_lag_ms: 60000}");
    PgConn a(router->conninfo("app", "app", "app"));
    PgConn b(router->conninfo("app", "app", "app"));
    PgConn c(router->conninfo("app", "app", "app"));
    a.exec("SET pgrouter.consistency_key = 'user:1'");
    b.exec("SET pgrouter.consistency_key = 'user:1'");
    c.exec("SET pgrouter.consistency_key = 'user:9'");
    EXPECT_EQ(b.scalar("SHOW pgrouter.consistency_key"), "user:1");
    ReplayPause pause1(servers().replica1);
    ReplayPause pause2(servers().replica2);

    a.exec("INSERT INTO " + table.name() + " VALUES (1)");
    const auto start = Clock::now();
    // Past the 1000 ms window too: the key's LSN is what keeps B on the primary.
    for (int round = 0; round < 2; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        const CountRead shared = read_count(b, table.name());
        EXPECT_EQ(shared.count, "1")
            << "B (same key) did not see A's row, read on " << servers().name(shared.port);
        EXPECT_EQ(servers().name(shared.port), servers().name(servers().primary));
        const CountRead unrelated = read_count(c, table.name());
        EXPECT_TRUE(servers().is_replica(unrelated.port))
            << "another key was pinned: " << servers().name(unrelated.port);
        EXPECT_EQ(unrelated.count, "0");
        if (round == 0) {
            std::this_thread::sleep_for(milliseconds(1500) - (Clock::now() - start));
        }
    }

    // The comment form, on connections without a key of their own.
    PgConn d(router->conninfo("app", "app", "app"));
    PgConn e(router->conninfo("app", "app", "app"));
    d.exec("/* pgrouter: key=user:2 */ INSERT INTO " + table.name() + " VALUES (2)");
    const CountRead keyed = read_count(e, table.name(), "/* pgrouter: key=user:2 */ ");
    EXPECT_EQ(keyed.count, "2") << "read with key=user:2 on " << servers().name(keyed.port);
    EXPECT_EQ(servers().name(keyed.port), servers().name(servers().primary));
    const CountRead other_key = read_count(e, table.name(), "/* pgrouter: key=user:3 */ ");
    EXPECT_TRUE(servers().is_replica(other_key.port)) << servers().name(other_key.port);
    EXPECT_EQ(other_key.count, "0");
}

// ---- 5. lag ----

TEST_F(RoutingConsistency, LaggingReplicaGetsNoReadsUntilItCatchesUp) {
    ScratchTable table("rc_lag", "v int");
    expect_replicas_caught_up();
    auto router = start_router(
        "{max_replica_lag_ms: 300, health_check_interval_ms: 100, pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    const PortCounts before = ports_of(conn, kPortQuery, 10);
    ASSERT_EQ(before.size(), 2u) << "reads should use both replicas first: " << describe(before);

    ReplayPause pause(servers().replica1);
    BackgroundWriter writes(table.name(), milliseconds(50));
    const auto paused = Clock::now();
    // 15 reads in a row without replica1, all of them on replica2.
    int streak = 0;
    PortCounts window;
    const bool dropped = wait_until(
        [&] {
            const int port = read_port(conn);
            if (port == servers().replica1) {
                streak = 0;
                window.clear();
                return false;
            }
            ++window[port];
            return ++streak >= 15;
        },
        seconds(5), milliseconds(20));
    const long long dropped_after = ms_since(paused);
    ASSERT_TRUE(dropped) << "replica1 still gets reads " << dropped_after
                         << " ms after its replay was paused under writes (max_replica_lag_ms "
                            "300); writes so far: "
                         << writes.writes();
    expect_only(window, servers().replica2, "reads while replica1 lags");
    std::printf("[ info ] replica1 dropped within %lld ms of pausing replay\n", dropped_after);
    EXPECT_LE(dropped_after, 3000) << "a lag of 300 ms took too long to be noticed";

    pause.resume();
    const auto resumed = Clock::now();
    const bool back = wait_until([&] { return read_port(conn) == servers().replica1; }, seconds(6),
                                 milliseconds(20));
    EXPECT_TRUE(back) << "replica1 got no reads within 6 s of resuming replay";
    std::printf("[ info ] replica1 back %lld ms after resuming\n", ms_since(resumed));
    writes.stop();
    EXPECT_EQ(writes.failures(), 0);
}

}  // namespace
}  // namespace pgrouter::test
