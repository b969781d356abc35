// tests/support/bystanders.hpp — other clients that keep running short transactions next to the
// client a test watches, and record which server backends they got (asked of the server). Used to
// prove that a connection held by one client is never handed to another. Header-only; stops and
// joins its threads on destruction, so a failed ASSERT in the test cannot leave them running.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/libpq_client.hpp"

namespace pgrouter::test {

class Bystanders {
public:
    // Starts `count` clients on `conninfo`, each looping BEGIN; SELECT pg_backend_pid(); COMMIT.
    Bystanders(const std::string& conninfo, int count) {
        for (int i = 0; i < count; ++i) {
            threads_.emplace_back([this, conninfo] { run(conninfo); });
        }
    }
    ~Bystanders() { stop(); }
    Bystanders(const Bystanders&) = delete;
    Bystanders& operator=(const Bystanders&) = delete;

    // From now on, transactions that *begin* afterwards are recorded in watched_pids(). A
    // transaction that began earlier may legitimately have used any connection.
    void watch() {
        std::lock_guard lock(mutex_);
        watched_pids_.clear();
        watched_done_ = 0;
        watching_ = true;
    }

    void stop() {
        stop_ = true;
        for (std::thread& t : threads_) {
            if (t.joinable()) {
                t.join();
            }
        }
    }

    int watched_done() const {
        std::lock_guard lock(mutex_);
        return watched_done_;
    }
    std::set<int> watched_pids() const {
        std::lock_guard lock(mutex_);
        return watched_pids_;
    }
    int failures() const { return failures_.load(); }

private:
    void run(const std::string& conninfo) {
        try {
            PgConn conn(conninfo);
            while (!stop_) {
                bool watched = false;
                {
                    std::lock_guard lock(mutex_);
                    watched = watching_;
                }
                conn.exec("BEGIN");
                const int pid = conn.backend_pid();
                conn.exec("COMMIT");
                if (watched) {
                    std::lock_guard lock(mutex_);
                    watched_pids_.insert(pid);
                    ++watched_done_;
                }
            }
        } catch (const TestAbort&) {
            ++failures_;  // the failure itself is recorded by PgConn
        }
    }

    std::atomic<bool> stop_{false};
    std::atomic<int> failures_{0};
    mutable std::mutex mutex_;
    bool watching_ = false;
    int watched_done_ = 0;
    std::set<int> watched_pids_;
    std::vector<std::thread> threads_;
};

}  // namespace pgrouter::test
