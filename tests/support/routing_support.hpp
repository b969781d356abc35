// tests/support/routing_support.hpp — what the routing integration tests (issue 7) share: the
// three servers by port, "which server answered" tallies, waiting until the replicas have
// replayed the primary's WAL, pausing replay (RAII: always resumed) and stopping/starting nodes
// through scripts/local_topology.sh. Header-only so the support library's source list stays as
// it is. Identity always comes from the server (inet_server_port()), never from pgrouter.
#pragma once

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {

struct Servers {
    int primary = 0;
    int replica1 = 0;
    int replica2 = 0;

    // "primary(25432)", "replica1(25433)", "unknown(1234)".
    std::string name(int port) const {
        const char* role = port == primary    ? "primary"
                           : port == replica1 ? "replica1"
                           : port == replica2 ? "replica2"
                                              : "unknown";
        return std::string(role) + "(" + std::to_string(port) + ")";
    }
    bool is_replica(int port) const { return port == replica1 || port == replica2; }
};

inline const Servers& servers() {
    static const Servers s{topology().primary_port, topology().replica1_port,
                           topology().replica2_port};
    return s;
}

// "127.0.0.1:25433": how pgrouter names a server in its messages.
inline std::string server_address(int port) {
    return topology().pghost + ":" + std::to_string(port);
}

// How many answers each server gave.
using PortCounts = std::map<int, int>;

inline std::string describe(const PortCounts& counts) {
    std::string out;
    for (const auto& [port, n] : counts) {
        out += (out.empty() ? "" : ", ") + servers().name(port) + " x" + std::to_string(n);
    }
    return out.empty() ? "(none)" : out;
}

// The integer in the first column of the first row (the query's inet_server_port()); records a
// failure naming `what` and throws TestAbort when the result is an error or has no such value.
inline int port_in(const ExecResult& result, const std::string& what,
                   std::source_location where = std::source_location::current()) {
    std::string problem;
    if (!result.ok) {
        problem = "failed: SQLSTATE " + (result.sqlstate.empty() ? "(none)" : result.sqlstate) +
                  ": " + result.message;
    } else if (result.rows.empty() || result.rows[0].empty() || !result.rows[0][0]) {
        problem = "returned no port: " + format_rows(result.rows);
    }
    if (!problem.empty()) {
        ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
            << what.substr(0, 300) << "\n  " << problem;
        throw TestAbort(problem);
    }
    return std::stoi(*result.rows[0][0]);
}

// Both replicas answered and nothing else did.
inline void expect_both_replicas_only(const PortCounts& counts, const std::string& what) {
    const Servers& s = servers();
    EXPECT_GT(counts.count(s.replica1), 0u)
        << what << ": replica1 never answered; got " << describe(counts);
    EXPECT_GT(counts.count(s.replica2), 0u)
        << what << ": replica2 never answered; got " << describe(counts);
    for (const auto& [port, n] : counts) {
        EXPECT_TRUE(s.is_replica(port)) << what << ": " << s.name(port) << " answered " << n
                                        << " reads; got " << describe(counts);
    }
}

inline void expect_only(const PortCounts& counts, int port, const std::string& what) {
    for (const auto& [answered, n] : counts) {
        EXPECT_EQ(answered, port) << what << ": expected only " << servers().name(port) << ", got "
                                  << describe(counts);
    }
    EXPECT_FALSE(counts.empty()) << what;
}

// Runs `sql` (whose first value is inet_server_port()) `n` times on `conn`, simple protocol.
inline PortCounts ports_of(PgConn& conn, const std::string& sql, int n,
                           std::source_location where = std::source_location::current()) {
    PortCounts counts;
    for (int i = 0; i < n; ++i) {
        ++counts[port_in(conn.try_exec(sql), sql, where)];
    }
    return counts;
}

// ---- direct superuser access (no gtest failures: usable from destructors) ----

// One statement on a fresh superuser connection to the node at `port`; the first value of the
// first row ("" when there is none), or nullopt with the reason in `*error`.
inline std::optional<std::string> superuser_query(int port, const std::string& sql,
                                                  std::string* error = nullptr) {
    const std::string conninfo = superuser_conninfo(static_cast<std::uint16_t>(port), "postgres");
    PGconn* conn = PQconnectdb((conninfo + " options='-c statement_timeout=15000'").c_str());
    std::optional<std::string> out;
    if (PQstatus(conn) != CONNECTION_OK) {
        if (error != nullptr) {
            *error = PQerrorMessage(conn);
        }
    } else {
        PGresult* res = PQexec(conn, sql.c_str());
        const ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            out = PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "";
        } else if (error != nullptr) {
            *error = PQresultErrorMessage(res);
        }
        PQclear(res);
    }
    PQfinish(conn);
    return out;
}

// True once every replica in `ports` has replayed the WAL the primary had written when the wait
// began (so a table made directly on the primary can be read there).
inline bool wait_replicas_caught_up(const std::vector<int>& ports,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                    std::string* why = nullptr) {
    std::string error;
    const auto lsn = superuser_query(servers().primary, "SELECT pg_current_wal_lsn()", &error);
    if (!lsn) {
        if (why != nullptr) {
            *why = "primary: " + error;
        }
        return false;
    }
    for (int port : ports) {
        const bool caught_up = wait_until(
            [&] {
                return superuser_query(port,
                                       "SELECT pg_last_wal_replay_lsn() >= '" + *lsn + "'::pg_lsn",
                                       &error) == std::optional<std::string>("t");
            },
            timeout, std::chrono::milliseconds(20));
        if (!caught_up) {
            if (why != nullptr) {
                *why =
                    servers().name(port) + " has not replayed up to " + *lsn + " (" + error + ")";
            }
            return false;
        }
    }
    return true;
}

inline void expect_replicas_caught_up(
    std::source_location where = std::source_location::current()) {
    std::string why;
    if (!wait_replicas_caught_up({servers().replica1, servers().replica2}, std::chrono::seconds(30),
                                 &why)) {
        ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
            << "the replicas do not follow the primary: " << why;
        throw TestAbort(why);
    }
}

// Pauses WAL replay on one replica until destroyed (or resume()): the replica keeps answering
// reads, with data frozen as of the pause. The destructor always resumes, even when the test
// failed half-way, so the next test finds a streaming replica.
class ReplayPause {
public:
    explicit ReplayPause(int port, std::source_location where = std::source_location::current())
        : port_(port) {
        std::string error;
        const bool paused =
            superuser_query(port_, "SELECT pg_wal_replay_pause()", &error).has_value() &&
            wait_until(
                [&] {
                    return superuser_query(port_, "SELECT pg_get_wal_replay_pause_state()",
                                           &error) == std::optional<std::string>("paused");
                },
                std::chrono::seconds(10), std::chrono::milliseconds(20));
        if (!paused) {
            resume();
            ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
                << "could not pause replay on " << servers().name(port_) << ": " << error;
            throw TestAbort("pause replay");
        }
        active_ = true;
    }
    ~ReplayPause() { resume(); }
    ReplayPause(const ReplayPause&) = delete;
    ReplayPause& operator=(const ReplayPause&) = delete;

    void resume() {
        for (int attempt = 0; attempt < 20; ++attempt) {
            std::string error;
            if (superuser_query(port_, "SELECT pg_wal_replay_resume()", &error)) {
                active_ = false;
                return;
            }
            // Not in recovery any more (promoted) or stopped: nothing left to resume.
            if (error.find("recovery is not in progress") != std::string::npos) {
                active_ = false;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (active_) {
            std::fprintf(stderr, "*** could not resume replay on %s\n",
                         servers().name(port_).c_str());
        }
    }

private:
    int port_;
    bool active_ = true;
};

// Inserts a row into `table` (a table with a column `v int`) directly on the primary every
// `every` on its own thread until destroyed or stop(): WAL that a paused replica falls behind on.
class BackgroundWriter {
public:
    BackgroundWriter(std::string table, std::chrono::milliseconds every)
        : thread_([this, table = std::move(table), every] { run(table, every); }) {}
    ~BackgroundWriter() { stop(); }
    BackgroundWriter(const BackgroundWriter&) = delete;
    BackgroundWriter& operator=(const BackgroundWriter&) = delete;

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    int writes() const { return writes_; }
    int failures() const { return failures_; }

private:
    void run(const std::string& table, std::chrono::milliseconds every) {
        PGconn* conn = PQconnectdb(
            (direct_conninfo("app", "app", "app") + " options='-c statement_timeout=5000'")
                .c_str());
        while (!stop_) {
            PGresult* res = PQexec(conn, ("INSERT INTO " + table + " (v) VALUES (1)").c_str());
            if (PQresultStatus(res) == PGRES_COMMAND_OK) {
                ++writes_;
            } else {
                ++failures_;
            }
            PQclear(res);
            std::this_thread::sleep_for(every);
        }
        PQfinish(conn);
    }

    std::atomic<bool> stop_{false};
    std::atomic<int> writes_{0};
    std::atomic<int> failures_{0};
    std::thread thread_;
};

// ---- scripts/local_topology.sh ----

inline CommandResult run_topology_script(
    const std::vector<std::string>& args,
    std::chrono::milliseconds timeout = std::chrono::seconds(240)) {
    std::vector<std::string> argv{"/bin/bash",
                                  std::string(PGROUTER_SOURCE_DIR) + "/scripts/local_topology.sh"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, timeout);
}

inline bool script_ok(const CommandResult& result) {
    return result.status && WIFEXITED(*result.status) && WEXITSTATUS(*result.status) == 0;
}

// `local_topology.sh stop-node|start-node DIR name`; records a failure when it does not work.
inline bool topology_node(const std::string& verb, const std::string& node,
                          std::source_location where = std::source_location::current()) {
    const CommandResult result = run_topology_script({verb, topology().topology_dir, node});
    if (!script_ok(result)) {
        ADD_FAILURE_AT(where.file_name(), static_cast<int>(where.line()))
            << "local_topology.sh " << verb << " " << node << ": "
            << (result.status ? describe_wait_status(*result.status) : "timed out") << "\n"
            << result.output;
        return false;
    }
    return true;
}

// Starts `node` again when destroyed (start-node is a no-op for a running node), so a test that
// stops a node never leaves the topology short of it.
class NodeRestart {
public:
    explicit NodeRestart(std::string node) : node_(std::move(node)) {}
    ~NodeRestart() { topology_node("start-node", node_); }
    NodeRestart(const NodeRestart&) = delete;
    NodeRestart& operator=(const NodeRestart&) = delete;

private:
    std::string node_;
};

}  // namespace pgrouter::test
