// tests/support/async_clients.hpp — drives many libpq connections at once with non-blocking libpq
// and poll() from a few threads, so a test can hold 1,000 real clients without 1,000 threads.
// Each client follows a script (statement per step + a check of the reply); no pgrouter knowledge.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/libpq_client.hpp"

namespace pgrouter::test {

class ScriptedClient {
public:
    virtual ~ScriptedClient() = default;
    virtual std::string conninfo() const = 0;
    // The SQL to send at step `step` (0-based), or nullopt when this client is done.
    virtual std::optional<std::string> statement(std::size_t step) = 0;
    // Checks the complete reply to step `step`; a non-empty string fails the client with it.
    virtual std::string check(std::size_t step, const ExecResult& reply) = 0;
};

struct AsyncRunOptions {
    int threads = 4;
    int max_connecting_per_thread = 8;  // connection attempts in flight per thread
    // Hold every client at its first statement until all of them are connected (or failed), so
    // the whole set is connected at the same time.
    bool wait_all_connected = true;
    std::chrono::milliseconds deadline{240000};
};

struct AsyncRunReport {
    std::size_t finished = 0;  // clients that ran all their steps and passed every check
    std::size_t failed = 0;
    std::size_t max_connected = 0;      // clients connected at the same time, at most
    std::vector<std::string> failures;  // the first few, "client N step S: ..."
    bool timed_out = false;
};

// Runs every client to completion (or failure, or the deadline). Connections stay open until all
// clients of the run are done, then are closed.
AsyncRunReport run_scripted_clients(std::vector<std::unique_ptr<ScriptedClient>>& clients,
                                    const AsyncRunOptions& options = {});

}  // namespace pgrouter::test
