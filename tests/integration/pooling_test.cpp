// tests/integration/pooling_test.cpp — pooling through pgrouter against real PostgreSQL 15: server
// connections bounded by pool.size, transactions pinned to one server, per-client SETs and
// application_name re-applied on shared servers, session mode, query_wait_timeout, and 1,000
// concurrent clients over 20 server connections. Server identity is asked of the server.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/async_clients.hpp"
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

constexpr const char* kAppBackends = "usename = 'app' AND datname = 'app'";

std::unique_ptr<PgrouterProcess> start_router(std::uint32_t pool_size,
                                              const std::string& mode = "transaction",
                                              std::uint32_t query_wait_timeout_ms = 5000) {
    RouterOptions options;
    options.pool_size = pool_size;
    options.mode = mode;
    options.query_wait_timeout_ms = query_wait_timeout_ms;
    return std::make_unique<PgrouterProcess>(base_yaml(options));
}

// Server-side defaults for `app`, read over a direct connection.
std::string direct_show(const std::string& setting) {
    PgConn direct(direct_conninfo("app", "app", "app"));
    return direct.scalar("SHOW " + setting);
}

TEST(Pooling, DistinctBackendsNeverExceedPoolSize) {
    auto router = start_router(2);
    BackendCountMonitor monitor(router->pid(), kAppBackends, milliseconds(50));
    std::mutex mutex;
    std::set<std::string> pids;
    std::vector<std::thread> clients;
    for (int i = 0; i < 10; ++i) {
        clients.emplace_back([&] {
            try {
                PgConn conn(router->conninfo("app", "app", "app"));
                for (int round = 0; round < 20; ++round) {
                    conn.exec("BEGIN");
                    const std::string pid = conn.scalar("SELECT pg_backend_pid()");
                    conn.exec("COMMIT");
                    std::lock_guard lock(mutex);
                    pids.insert(pid);
                }
            } catch (const TestAbort&) {
                // recorded by PgConn
            }
        });
    }
    for (std::thread& t : clients) {
        t.join();
    }
    monitor.stop();
    EXPECT_GE(pids.size(), 1u);
    EXPECT_LE(pids.size(), 2u) << "10 clients over pool.size 2 used " << pids.size()
                               << " different server backends";
    ASSERT_GT(monitor.samples(), 0);
    EXPECT_GE(monitor.max_seen(), 1) << "the monitor never saw pgrouter's server connections";
    EXPECT_LE(monitor.max_seen(), 2) << "pg_stat_activity showed more than pool.size connections";
}

TEST(Pooling, OpenTransactionKeepsItsServer) {
    auto router = start_router(2);
    PgConn holder(router->conninfo("app", "app", "app"));
    holder.exec("BEGIN");
    const int held_pid = holder.backend_pid();

    std::atomic<bool> stop{false};
    std::atomic<int> others_done{0};
    std::mutex mutex;
    std::set<int> others_pids;
    std::vector<std::thread> others;
    for (int i = 0; i < 5; ++i) {
        others.emplace_back([&] {
            try {
                PgConn conn(router->conninfo("app", "app", "app"));
                while (!stop) {
                    conn.exec("BEGIN");
                    const int pid = conn.backend_pid();
                    conn.exec("COMMIT");
                    std::lock_guard lock(mutex);
                    others_pids.insert(pid);
                    ++others_done;
                }
            } catch (const TestAbort&) {
            }
        });
    }
    // Keep checking the holder until the others have really run a good number of transactions
    // next to it (bounded, so a stuck pgrouter fails instead of hanging).
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    int checks = 0;
    while ((others_done < 50 || checks < 10) && std::chrono::steady_clock::now() < deadline) {
        EXPECT_EQ(holder.backend_pid(), held_pid) << "the transaction moved to another server";
        ++checks;
        std::this_thread::sleep_for(milliseconds(20));
    }
    stop = true;
    for (std::thread& t : others) {
        t.join();
    }
    EXPECT_GE(others_done.load(), 50) << "the other clients were starved";
    holder.exec("COMMIT");
    EXPECT_FALSE(others_pids.empty());
    EXPECT_EQ(others_pids.count(held_pid), 0u)
        << "another client ran on the server of a transaction that was still open";
}

TEST(Pooling, SetIsReappliedPerClientOnASharedServer) {
    auto router = start_router(1);
    const std::string schema = unique_name("x_schema");
    PgConn direct(direct_conninfo("app", "app", "app"));
    direct.exec("CREATE SCHEMA " + schema);
    const std::string default_tz = direct_show("TimeZone");
    const std::string default_path = direct_show("search_path");
    const std::string tokyo = default_tz == "Asia/Tokyo" ? "Europe/Paris" : "Asia/Tokyo";

    PgConn a(router->conninfo("app", "app", "app"));
    PgConn b(router->conninfo("app", "app", "app"));
    a.exec("SET TimeZone = '" + tokyo + "'");
    a.exec("SET search_path TO " + schema + ", public");
    EXPECT_EQ(a.scalar("SHOW TimeZone"), tokyo);
    EXPECT_EQ(a.scalar("SHOW search_path"), schema + ", public");
    const int a_pid = a.backend_pid();

    // Same single server connection, but B must see the defaults, not A's settings.
    EXPECT_EQ(b.backend_pid(), a_pid) << "pool.size 1 should mean one server connection";
    EXPECT_EQ(b.scalar("SHOW TimeZone"), default_tz);
    EXPECT_EQ(b.scalar("SHOW search_path"), default_path);
    EXPECT_EQ(b.scalar("SELECT current_schema()"), "public");

    EXPECT_EQ(a.scalar("SHOW TimeZone"), tokyo);
    EXPECT_EQ(a.scalar("SHOW search_path"), schema + ", public");
    EXPECT_EQ(a.scalar("SELECT current_schema()"), schema);
    EXPECT_EQ(a.backend_pid(), a_pid);

    direct.exec("DROP SCHEMA " + schema + " CASCADE");
}

TEST(Pooling, ResetAndResetAllAreReappliedPerClient) {
    auto router = start_router(1);
    const std::string schema = unique_name("x_schema");
    PgConn direct(direct_conninfo("app", "app", "app"));
    direct.exec("CREATE SCHEMA " + schema);
    const std::string default_tz = direct_show("TimeZone");
    const std::string default_path = direct_show("search_path");
    const std::string tokyo = default_tz == "Asia/Tokyo" ? "Europe/Paris" : "Asia/Tokyo";

    PgConn a(router->conninfo("app", "app", "app"));
    PgConn b(router->conninfo("app", "app", "app"));
    a.exec("SET TimeZone = '" + tokyo + "'");
    a.exec("SET search_path TO " + schema + ", public");
    b.exec("SET TimeZone = 'America/New_York'");

    a.exec("RESET TimeZone");
    EXPECT_EQ(a.scalar("SHOW TimeZone"), default_tz);
    EXPECT_EQ(a.scalar("SHOW search_path"), schema + ", public");
    EXPECT_EQ(b.scalar("SHOW TimeZone"), "America/New_York");
    EXPECT_EQ(b.scalar("SHOW search_path"), default_path);
    EXPECT_EQ(a.scalar("SHOW TimeZone"), default_tz) << "A's RESET was undone by B's turn";
    EXPECT_EQ(a.scalar("SHOW search_path"), schema + ", public");

    a.exec("RESET ALL");
    EXPECT_EQ(a.scalar("SHOW search_path"), default_path);
    EXPECT_EQ(b.scalar("SHOW TimeZone"), "America/New_York");
    EXPECT_EQ(a.scalar("SHOW TimeZone"), default_tz);
    EXPECT_EQ(a.scalar("SHOW search_path"), default_path) << "A's RESET ALL was undone";
    EXPECT_EQ(a.backend_pid(), b.backend_pid());

    direct.exec("DROP SCHEMA " + schema + " CASCADE");
}

TEST(Pooling, SetRolledBackWithItsTransactionIsNotReapplied) {
    auto router = start_router(1);
    const std::string default_tz = direct_show("TimeZone");
    const std::string tokyo = default_tz == "Asia/Tokyo" ? "Europe/Paris" : "Asia/Tokyo";
    PgConn a(router->conninfo("app", "app", "app"));
    PgConn b(router->conninfo("app", "app", "app"));
    a.exec("SET TimeZone = '" + tokyo + "'");
    a.exec("BEGIN");
    a.exec("SET TimeZone = 'America/New_York'");
    EXPECT_EQ(a.scalar("SHOW TimeZone"), "America/New_York");
    a.exec("ROLLBACK");
    EXPECT_EQ(a.scalar("SHOW TimeZone"), tokyo);
    EXPECT_EQ(b.scalar("SHOW TimeZone"), default_tz);
    EXPECT_EQ(a.scalar("SHOW TimeZone"), tokyo) << "a rolled-back SET was re-applied";
}

TEST(Pooling, ApplicationNameFromStartupIsPerClient) {
    auto router = start_router(1);
    std::vector<PgConn> clients;
    for (int i = 0; i < 3; ++i) {
        clients.emplace_back(
            router->conninfo("app", "app", "app", "application_name=it_app_" + std::to_string(i)));
    }
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 3; ++i) {
            const std::string expected = "it_app_" + std::to_string(i);
            EXPECT_EQ(clients[static_cast<std::size_t>(i)].scalar("SHOW application_name"),
                      expected);
            EXPECT_EQ(clients[static_cast<std::size_t>(i)].scalar(
                          "SELECT application_name FROM pg_stat_activity"
                          " WHERE pid = pg_backend_pid()"),
                      expected);
        }
    }
    EXPECT_EQ(clients[0].backend_pid(), clients[2].backend_pid());
}

TEST(Pooling, SessionModeSecondClientWaitsAndGetsADiscardedServer) {
    RouterOptions options;
    options.mode = "session";
    options.pool_size = 1;
    options.query_wait_timeout_ms = 20000;
    PgrouterProcess router(base_yaml(options));
    const std::string temp_table = unique_name("it_tmp");

    auto a = std::make_unique<PgConn>(router.conninfo("app", "app", "app"));
    const int a_pid = a->backend_pid();
    a->exec("CREATE TEMP TABLE " + temp_table + " (x int)");
    a->exec("SET work_mem = '7777kB'");

    std::atomic<bool> b_done{false};
    auto b = std::async(std::launch::async, [&] {
        PgConn conn(router.conninfo("app", "app", "app"));
        const int pid = conn.backend_pid();
        const std::string temp =
            conn.scalar("SELECT coalesce(to_regclass('pg_temp." + temp_table + "')::text, 'none')");
        const std::string work_mem = conn.scalar("SHOW work_mem");
        b_done = true;
        return std::make_tuple(pid, temp, work_mem);
    });
    // While A stays connected, B must not get the only server connection.
    std::this_thread::sleep_for(milliseconds(1500));
    EXPECT_FALSE(b_done.load()) << "session mode gave the single server to a second client";
    EXPECT_EQ(a->backend_pid(), a_pid);
    a.reset();  // disconnect A

    ASSERT_EQ(b.wait_for(seconds(15)), std::future_status::ready)
        << "B still waiting after A disconnected";
    const auto [b_pid, temp, work_mem] = b.get();
    EXPECT_EQ(b_pid, a_pid) << "expected the same (single) server connection";
    EXPECT_EQ(temp, "none") << "A's TEMP table survived into B's session (no DISCARD ALL)";
    EXPECT_NE(work_mem, "7777kB") << "A's SET survived into B's session";
}

TEST(Pooling, QueryWaitTimeoutFailsWith53300InsteadOfHanging) {
    auto router = start_router(1, "transaction", 500);
    PgConn a(router->conninfo("app", "app", "app"));
    a.exec("BEGIN");
    a.exec("SELECT 1");
    // A transaction-mode login needs no server connection of its own (pgrouter already knows
    // the server's parameters from A's), so B connects; its first query must wait and time out.
    PgConn b(router->conninfo("app", "app", "app"));
    ExecResult waited = b.try_exec("SELECT 1", milliseconds(20000));
    EXPECT_FALSE(waited.ok);
    EXPECT_EQ(waited.sqlstate, "53300") << waited.message;
    a.exec("COMMIT");
    PgConn c(router->conninfo("app", "app", "app"));
    EXPECT_EQ(c.scalar("SELECT 'served'"), "served");
}

// One of the 1,000 clients: SET TimeZone, then kTransactions transactions that insert a row
// tagged with its id and check, inside the transaction, that it sees exactly its own rows and
// its own settings on the very backend that did the INSERT.
class ManyClient : public ScriptedClient {
public:
    static constexpr std::size_t kTransactions = 3;

    ManyClient(int id, std::string conninfo, std::string table, std::string tz)
        : id_(id), conninfo_(std::move(conninfo)), table_(std::move(table)), tz_(std::move(tz)) {}

    std::string conninfo() const override { return conninfo_; }

    std::optional<std::string> statement(std::size_t step) override {
        if (step == 0) {
            return "SET TimeZone = '" + tz_ + "'";
        }
        const std::size_t tx = (step - 1) / 4;
        if (tx >= kTransactions) {
            return std::nullopt;
        }
        const std::string id = std::to_string(id_);
        switch ((step - 1) % 4) {
            case 0:
                return "BEGIN";
            case 1:
                return "INSERT INTO " + table_ + " VALUES (" + id + ", " + std::to_string(tx) +
                       ", pg_backend_pid()) RETURNING backend_pid";
            case 2:
                return "SELECT count(*), max(tx), sum(tx), current_setting('TimeZone'),"
                       " current_setting('application_name'), pg_backend_pid() FROM " +
                       table_ + " WHERE client_id = " + id;
            default:
                return "COMMIT";
        }
    }

    std::string check(std::size_t step, const ExecResult& reply) override {
        if (!reply.ok) {
            return "SQLSTATE " + reply.sqlstate + ": " + reply.message;
        }
        if (step == 0) {
            return "";
        }
        const std::size_t tx = (step - 1) / 4;
        const std::size_t phase = (step - 1) % 4;
        if (phase == 1) {
            if (reply.rows.size() != 1 || !reply.rows[0][0]) {
                return "INSERT ... RETURNING returned no row";
            }
            insert_pid_ = *reply.rows[0][0];
        }
        if (phase != 2) {
            return "";
        }
        if (reply.rows.size() != 1 || reply.rows[0].size() != 6) {
            return "unexpected reply shape: " + format_rows(reply.rows);
        }
        const Row& row = reply.rows[0];
        const std::string expected_sum = std::to_string(tx * (tx + 1) / 2);
        const std::string expected_name = "it_c" + std::to_string(id_);
        if (row[0] != std::to_string(tx + 1) || row[1] != std::to_string(tx) ||
            row[2] != expected_sum) {
            return "sees rows count/max/sum " + format_rows({row}) + " in transaction " +
                   std::to_string(tx) + " (its own uncommitted row must be visible)";
        }
        if (row[3] != tz_) {
            return "TimeZone is " + row[3].value_or("NULL") + ", expected " + tz_;
        }
        if (row[4] != expected_name) {
            return "application_name is " + row[4].value_or("NULL") + ", expected " + expected_name;
        }
        if (row[5] != insert_pid_) {
            return "transaction moved from backend " + insert_pid_ + " to " +
                   row[5].value_or("NULL");
        }
        return "";
    }

private:
    int id_;
    std::string conninfo_;
    std::string table_;
    std::string tz_;
    std::string insert_pid_;
};

TEST(Pooling, ThousandClientsShareTwentyServerConnections) {
    constexpr int kClients = 1000;
    constexpr std::uint32_t kPoolSize = 20;
    raise_nofile_limit();
    rlimit files{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
    // The test process holds one socket per client; pgrouter inherits the same limit.
    ASSERT_GE(files.rlim_cur, static_cast<rlim_t>(kClients + 200))
        << "RLIMIT_NOFILE hard limit too low for " << kClients << " clients (ulimit -Hn)";
    ScratchTable table("it_many", "client_id int NOT NULL, tx int NOT NULL, backend_pid int");
    RouterOptions options;
    options.pool_size = kPoolSize;
    options.query_wait_timeout_ms = 120000;
    options.log_connections = false;
    PgrouterProcess router(base_yaml(options));

    const std::vector<std::string> zones = {
        "Asia/Tokyo",       "Europe/Paris",    "America/New_York",  "UTC",
        "Australia/Sydney", "Africa/Cairo",    "America/Sao_Paulo", "Asia/Kolkata",
        "Pacific/Auckland", "Europe/Helsinki", "America/Denver",    "Asia/Singapore"};
    std::mt19937 rng(12345);
    std::vector<std::unique_ptr<ScriptedClient>> clients;
    for (int id = 0; id < kClients; ++id) {
        const std::string tz = zones[rng() % zones.size()];
        clients.push_back(std::make_unique<ManyClient>(
            id,
            router.conninfo("app", "app", "app",
                            "application_name=it_c" + std::to_string(id) + " connect_timeout=60"),
            table.name(), tz));
    }

    BackendCountMonitor monitor(router.pid(), kAppBackends, milliseconds(100));
    AsyncRunOptions run;
    run.threads = 4;
    run.max_connecting_per_thread = 8;
    run.wait_all_connected = true;
    run.deadline = milliseconds(240000);
    const AsyncRunReport report = run_scripted_clients(clients, run);
    monitor.stop();

    std::string failures;
    for (const std::string& f : report.failures) {
        failures += "\n  " + f;
    }
    EXPECT_FALSE(report.timed_out) << failures;
    EXPECT_EQ(report.failed, 0u) << failures;
    EXPECT_EQ(report.finished, static_cast<std::size_t>(kClients)) << failures;
    EXPECT_EQ(report.max_connected, static_cast<std::size_t>(kClients))
        << "not every client was connected at the same time";

    ASSERT_GT(monitor.samples(), 0);
    EXPECT_GE(monitor.max_seen(), 1);
    EXPECT_LE(monitor.max_seen(), static_cast<int>(kPoolSize))
        << "pg_stat_activity showed more server connections than pool.size";

    PgConn direct(direct_conninfo("app", "app", "app"));
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()),
              std::to_string(kClients * ManyClient::kTransactions));
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM (SELECT client_id FROM " + table.name() +
                            " GROUP BY client_id HAVING count(*) <> " +
                            std::to_string(ManyClient::kTransactions) + ") wrong"),
              "0");
}

}  // namespace
}  // namespace pgrouter::test
