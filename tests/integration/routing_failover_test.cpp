// tests/integration/routing_failover_test.cpp — issue 7, servers that go away: a replica stopped
// under read load, a replica and a primary that were never there (circuit breaker, prompt
// errors), and promotion of a replica after the primary stops, then two primaries. These tests
// stop, start and promote real nodes through scripts/local_topology.sh and put everything back
// (RAII guards); the promotion test runs last and resets the whole topology. The server that
// answered is asked of the server.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

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
constexpr const char* kFastHealth =
    "{health_check_interval_ms: 100, circuit_breaker: {failures: 2, open_ms: 1000}, "
    "pin_after_write_ms: 0}";

std::unique_ptr<PgrouterProcess> start_router(const std::string& routing,
                                              const std::string& extra_databases = "") {
    RouterOptions options;
    options.with_replicas = true;
    // A session a bug left hanging must not hold the shutdown up for long.
    options.shutdown_timeout_ms = 3000;
    options.routing_yaml = "routing: " + routing + "\n";
    // Further databases go at the end of the `databases:` block (base_yaml's next block is
    // `limits:`).
    std::string yaml = base_yaml(options);
    const std::size_t limits = yaml.find("\nlimits:\n");
    if (limits == std::string::npos) {
        throw std::runtime_error("base_yaml has no limits: block to insert databases before");
    }
    yaml.insert(limits + 1, extra_databases);
    return std::make_unique<PgrouterProcess>(yaml);
}

long long ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
}

std::string quoted_address(int port) {
    return "\"" + server_address(port) + "\"";
}

class RoutingFailover : public ::testing::Test {
protected:
    void SetUp() override { expect_replicas_caught_up(); }
};

// ---- 6. a replica stopped under load ----

struct LoadRead {
    long long at_ms = 0;  // when it was sent, after the load started
    int port = 0;         // 0: failed
    std::string error;
};

TEST_F(RoutingFailover, ReplicaStoppedUnderLoadCausesNoClientErrors) {
    NodeRestart restart("replica2");
    auto router = start_router(kFastHealth);
    std::atomic<bool> stop{false};
    std::mutex mutex;
    std::vector<LoadRead> reads;
    const auto start = Clock::now();
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i) {
        clients.emplace_back([&] {
            try {
                PgConn conn(router->conninfo("app", "app", "app"));
                while (!stop) {
                    LoadRead read;
                    read.at_ms = ms_since(start);
                    const ExecResult result = conn.try_exec(kPortQuery, seconds(15));
                    if (result.ok && !result.rows.empty() && result.rows[0][0]) {
                        read.port = std::stoi(*result.rows[0][0]);
                    } else {
                        read.error = "SQLSTATE " + result.sqlstate + ": " + result.message;
                    }
                    const bool usable = conn.ok();
                    std::unique_lock lock(mutex);
                    reads.push_back(read);
                    if (!usable) {
                        reads.push_back(LoadRead{ms_since(start), 0, "connection lost"});
                        break;
                    }
                    lock.unlock();
                    std::this_thread::sleep_for(milliseconds(1));  // load, not a busy loop
                }
            } catch (const TestAbort&) {
            }
        });
    }
    std::this_thread::sleep_for(milliseconds(1500));
    const long long stop_begin = ms_since(start);
    const bool stopped = topology_node("stop-node", "replica2");
    const long long stop_done = ms_since(start);
    while (ms_since(start) < std::max<long long>(4000, stop_done + 2000)) {
        std::this_thread::sleep_for(milliseconds(50));
    }
    stop = true;
    for (std::thread& t : clients) {
        t.join();
    }
    ASSERT_TRUE(stopped);

    PortCounts before_stop;
    PortCounts after_stop;
    std::vector<std::string> errors;
    for (const LoadRead& read : reads) {
        if (read.port == 0) {
            errors.push_back(std::to_string(read.at_ms) + " ms: " + read.error);
        } else if (read.at_ms < stop_begin) {
            ++before_stop[read.port];
        } else if (read.at_ms > stop_done) {
            ++after_stop[read.port];
        }
    }
    std::string first_errors;
    for (std::size_t i = 0; i < errors.size() && i < 5; ++i) {
        first_errors += "\n  " + errors[i];
    }
    EXPECT_TRUE(errors.empty()) << errors.size() << " of " << reads.size()
                                << " reads failed (replica2 stopped from " << stop_begin << " to "
                                << stop_done << " ms):" << first_errors;
    EXPECT_GT(before_stop.count(servers().replica2), 0u)
        << "the load never reached replica2 before it stopped: " << describe(before_stop);
    EXPECT_EQ(after_stop.count(servers().replica2), 0u) << describe(after_stop);
    EXPECT_GT(after_stop.count(servers().replica1), 0u)
        << "no reads on replica1 after replica2 stopped: " << describe(after_stop);
}

// ---- 7. servers that are not there ----

TEST_F(RoutingFailover, DeadReplicaNeverFailsAReadAndGetsNone) {
    const int dead = free_port();
    const Servers& s = servers();
    const std::string db = "  app_deadrep: {dbname: app, primary: \"{{primary}}\", replicas: [" +
                           quoted_address(s.replica1) + ", " + quoted_address(dead) + ", " +
                           quoted_address(s.replica2) + "]}\n";
    auto router = start_router(kFastHealth, db);
    PgConn conn(router->conninfo("app", "app", "app_deadrep"));
    // From the first read on (a probe round runs at start-up), and across several open_ms
    // periods of the dead replica's circuit.
    PortCounts counts;
    std::vector<std::string> errors;
    const auto start = Clock::now();
    while (ms_since(start) < 3500) {
        const ExecResult result = conn.try_exec(kPortQuery, seconds(10));
        if (!result.ok || result.rows.empty()) {
            errors.push_back(std::to_string(ms_since(start)) + " ms: SQLSTATE " + result.sqlstate +
                             ": " + result.message);
            ASSERT_TRUE(conn.ok()) << "the connection was lost: " << errors.back();
        } else {
            ++counts[std::stoi(*result.rows[0][0])];
        }
        std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_TRUE(errors.empty()) << errors.size() << " reads failed, first: " << errors.front();
    EXPECT_GT(counts.count(s.replica1), 0u) << describe(counts);
    EXPECT_GT(counts.count(s.replica2), 0u) << describe(counts);
    EXPECT_EQ(counts.count(s.primary), 0u) << describe(counts);
}

TEST_F(RoutingFailover, DeadPrimaryGivesAPromptErrorAndTheConnectionStaysUsable) {
    ScratchTable table("rf_deadprim", "id int");
    expect_replicas_caught_up();
    const int dead = free_port();
    const Servers& s = servers();
    const std::string db = "  app_deadprim: {dbname: app, primary: " + quoted_address(dead) +
                           ", replicas: [" + quoted_address(s.replica1) + ", " +
                           quoted_address(s.replica2) + "]}\n";
    auto router = start_router(kFastHealth, db);  // connect_timeout_ms: 2000 (default)
    PgConn conn(router->conninfo("app", "app", "app_deadprim"));
    for (int attempt = 0; attempt < 2; ++attempt) {
        SCOPED_TRACE("attempt " + std::to_string(attempt));
        const auto sent = Clock::now();
        const ExecResult write =
            conn.try_exec("INSERT INTO " + table.name() + " VALUES (1)", seconds(20));
        const long long took = ms_since(sent);
        ASSERT_FALSE(write.ok) << "a write succeeded with the primary down";
        EXPECT_TRUE(write.sqlstate == "08006" || write.sqlstate == "57P03")
            << "SQLSTATE " << write.sqlstate << ": " << write.message;
        EXPECT_NE(write.message.find(server_address(dead)), std::string::npos)
            << "the error does not name the dead primary " << server_address(dead) << ": "
            << write.message;
        EXPECT_LE(took, 4000) << "the error took " << took << " ms (connect_timeout_ms 2000)";
        ASSERT_TRUE(conn.ok()) << "the connection was closed by the failed write";
        const int port = port_in(conn.try_exec(kPortQuery), "read after the failed write");
        EXPECT_TRUE(s.is_replica(port)) << s.name(port);
    }
    PgConn direct(direct_conninfo("app", "app", "app"));
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()), "0");
}

// ---- 8. promotion (last: it changes the topology, then resets it) ----

// `local_topology.sh reset DIR PRIMARY_PORT` when destroyed: the next test (or binary) finds a
// fresh primary with two streaming replicas whatever this one did.
class TopologyReset {
public:
    TopologyReset() = default;
    ~TopologyReset() {
        const CommandResult result = run_topology_script(
            {"reset", topology().topology_dir, std::to_string(servers().primary)}, seconds(300));
        if (!script_ok(result)) {
            ADD_FAILURE() << "local_topology.sh reset failed: " << result.output;
        }
    }
    TopologyReset(const TopologyReset&) = delete;
    TopologyReset& operator=(const TopologyReset&) = delete;
};

// pg_ctl promote on replica1 as the user that owns the clusters.
bool promote_replica1() {
    const Topology& t = topology();
    const std::string data = t.values.at("REPLICA1_DATA");
    const std::string pg_ctl = t.pg_bin + "/pg_ctl -D '" + data + "' -w -t 60 promote";
    const std::string command = "cd '" + t.topology_dir + "' && " +
                                (::geteuid() == 0 ? "runuser -u postgres -- " + pg_ctl : pg_ctl);
    const CommandResult result = run_program({"/bin/sh", "-c", command}, seconds(90));
    if (!script_ok(result)) {
        ADD_FAILURE() << "promote failed: " << result.output;
        return false;
    }
    return true;
}

TEST_F(RoutingFailover, PromotedReplicaTakesWritesAndTwoPrimariesRefuseThem) {
    TopologyReset reset;
    const Servers& s = servers();
    const std::string table = unique_name("rf_promote");
    {
        PgConn direct(direct_conninfo("app", "app", "app"));
        direct.exec("CREATE TABLE " + table + " (id int)");
    }
    expect_replicas_caught_up();
    auto router = start_router(kFastHealth);
    PgConn conn(router->conninfo("app", "app", "app"));
    const std::string write = "INSERT INTO " + table + " VALUES (1) RETURNING inet_server_port()";
    ASSERT_EQ(port_in(conn.try_exec(write), write), s.primary);

    ASSERT_TRUE(topology_node("stop-node", "primary"));
    ASSERT_TRUE(promote_replica1());
    const auto promoted = Clock::now();

    // Same client connection, no reconnecting: a few failed attempts are allowed while the
    // probes catch up, then the write must land on the promoted replica.
    std::vector<std::string> errors;
    int landed = 0;
    while (landed == 0 && ms_since(promoted) < 5000) {
        const ExecResult result = conn.try_exec(write, seconds(10));
        if (result.ok && !result.rows.empty() && result.rows[0][0]) {
            landed = std::stoi(*result.rows[0][0]);
            break;
        }
        errors.push_back(std::to_string(ms_since(promoted)) + " ms: SQLSTATE " + result.sqlstate +
                         ": " + result.message);
        ASSERT_TRUE(conn.ok()) << "pgrouter closed the client connection: " << errors.back();
        std::this_thread::sleep_for(milliseconds(200));
    }
    std::string tried;
    for (const std::string& e : errors) {
        tried += "\n  " + e;
    }
    ASSERT_EQ(s.name(landed), s.name(s.replica1))
        << "no write landed on the promoted replica1 within 5 s; attempts:" << tried;
    std::printf(
        "[ info ] first write on the promoted replica %lld ms after promotion (%zu "
        "failed attempts)\n",
        ms_since(promoted), errors.size());
    EXPECT_LE(ms_since(promoted), 3500) << "failover took longer than ~3 s:" << tried;
    const int read = port_in(conn.try_exec(kPortQuery), "read after the failover");
    EXPECT_NE(read, s.primary);

    // The old primary comes back as a primary too: nobody may take writes.
    ASSERT_TRUE(topology_node("start-node", "primary"));
    const auto both = Clock::now();
    ExecResult refused;
    std::vector<std::string> landed_while_two;
    const bool refusing = wait_until(
        [&] {
            refused = conn.try_exec(write, seconds(10));
            if (refused.ok) {
                landed_while_two.push_back(s.name(port_in(refused, write)));
            }
            return !refused.ok;
        },
        seconds(5), milliseconds(100));
    ASSERT_TRUE(refusing) << "writes still succeed with two primaries";
    std::printf("[ info ] writes refused %lld ms after the old primary came back\n",
                ms_since(both));
    for (const std::string& port : landed_while_two) {
        EXPECT_EQ(port, s.name(s.replica1)) << "a write landed on the old primary";
    }
    for (int i = 0; i < 5; ++i) {
        SCOPED_TRACE("refused write " + std::to_string(i));
        EXPECT_EQ(refused.sqlstate, "57P03") << refused.message;
        EXPECT_NE(refused.message.find("primary"), std::string::npos) << refused.message;
        ASSERT_TRUE(conn.ok());
        const int port = port_in(conn.try_exec(kPortQuery), "read with two primaries");
        EXPECT_NE(port, 0);
        std::this_thread::sleep_for(milliseconds(100));
        refused = conn.try_exec(write, seconds(10));
        EXPECT_FALSE(refused.ok) << "a write landed on " << s.name(port_in(refused, write));
    }
    conn.try_exec("SELECT 1");
    router.reset();
}

}  // namespace
}  // namespace pgrouter::test
