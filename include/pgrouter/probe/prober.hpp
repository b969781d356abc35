// pgrouter/probe/prober.hpp — the health prober: its own thread, one persistent non-blocking libpq
// connection per server, so a slow or hung server never delays the others and pgrouter's I/O
// threads never wait on a probe. Writes what it learns (role, replay position, lag, reachability,
// circuit breaker, the primary's write functions) into a health::HealthBoard.
#pragma once

#include <chrono>
#include <memory>

#include "pgrouter/config/config.hpp"
#include "pgrouter/health/server_health.hpp"

namespace pgrouter::probe {

// The user the prober logs in as: `health_check_user` (the loader fills in its default: the first
// user with a server password or trust auth). Null when there is none (then every probe fails
// with a clear message).
const config::UserConfig* probe_user(const config::Config& config);

// How often every server is probed: the smallest routing.health_check_interval over databases
// (the global one when there are none).
std::chrono::milliseconds probe_interval(const config::Config& config);

class Prober {
public:
    // `board` must outlive the prober; `config` is copied.
    Prober(const config::Config& config, health::HealthBoard& board);
    ~Prober();  // stop()
    Prober(const Prober&) = delete;
    Prober& operator=(const Prober&) = delete;

    // One synchronous round on the calling thread (start-up, before pgrouter listens, and before
    // start()): every server probed and every database's catalogue read, or `timeout` passed.
    // True when every server answered.
    bool probe_once(std::chrono::milliseconds timeout);

    // Probes on a background thread until stop(). stop() is idempotent and returns once the
    // thread has ended (within a poll wake-up, never waiting on a server).
    void start();
    void stop();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pgrouter::probe
