// tests/support/server_activity.hpp — which pg_stat_activity rows belong to one pgrouter process.
// Tests run two at a time against the same PostgreSQL, so "connections of user app" would count
// other tests' pgrouters too; a backend belongs to pgrouter P when its client_port is the local
// port of a TCP socket that P holds to the primary (read from /proc). Linux only, read-only.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <set>
#include <string>
#include <thread>

#include "support/libpq_client.hpp"

namespace pgrouter::test {

// Local ports of TCP sockets owned by process `pid` whose remote port is `remote_port`.
std::set<int> socket_ports_of(pid_t pid, std::uint16_t remote_port);

// `SELECT <columns> FROM pg_stat_activity WHERE <where>` (client backends only) restricted to the
// connections process `pid` holds to the primary. `admin` should be a superuser connection so
// that every column is visible. The port snapshot is taken before and after the query, so a
// connection that existed during the whole call is never missed.
Rows backends_of(PgConn& admin, pid_t pid, const std::string& columns,
                 const std::string& where = "true");

int count_backends_of(PgConn& admin, pid_t pid, const std::string& where = "true");

// Samples count_backends_of(pid, where) on its own superuser connection every `interval` until
// stop() or destruction, and keeps the largest count seen. The constructor returns once the
// monitor is connected and has taken its first sample, and stop() takes a last one, so even a
// short run is observed. Sampling errors become test failures.
class BackendCountMonitor {
public:
    BackendCountMonitor(pid_t pid, std::string where,
                        std::chrono::milliseconds interval = std::chrono::milliseconds{100});
    ~BackendCountMonitor();
    BackendCountMonitor(const BackendCountMonitor&) = delete;
    BackendCountMonitor& operator=(const BackendCountMonitor&) = delete;

    void stop();
    int max_seen() const { return max_seen_.load(); }
    int samples() const { return samples_.load(); }

private:
    void run(pid_t pid, const std::string& where, std::chrono::milliseconds interval,
             std::promise<void>& ready);
    void record(int count);

    std::atomic<bool> stop_{false};
    std::atomic<int> max_seen_{0};
    std::atomic<int> samples_{0};
    std::thread thread_;
};

// Superuser connection straight to the primary (postgres/postgres, database postgres).
std::string admin_conninfo();

}  // namespace pgrouter::test
