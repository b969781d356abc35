// pgrouter/net/server.hpp — the process: one io_context per I/O thread, the listener that deals
// accepted clients out to them, the pool janitor, signals and the shutdown order (stop accepting,
// drain sessions, close pools, stop). A session lives on one io_context for its whole life, so
// nothing of a session is ever touched by two threads and the hot path needs no strand.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "pgrouter/config/config.hpp"
#include "pgrouter/io/asio.hpp"
#include "pgrouter/probe/prober.hpp"
#include "pgrouter/session/runtime.hpp"

namespace pgrouter::net {

class Server {
public:
    explicit Server(std::shared_ptr<const config::Config> config);
    // Binds the listen address (throws std::system_error if it cannot), serves until SIGTERM or
    // SIGINT and the drain, then returns the process exit code.
    int run();

private:
    awaitable<void> accept_loop();
    awaitable<void> janitor();
    awaitable<void> trim_idle_sessions();
    awaitable<void> wait_for_signals();
    awaitable<void> shutdown();

    std::shared_ptr<const config::Config> config_;
    const unsigned threads_;  // I/O threads (workers, or half the cores)
    asio::io_context& main_io() noexcept { return *contexts_.front(); }
    void stop_all() noexcept;

    // Declared before the contexts so it outlives the sessions destroyed with their handlers.
    std::unique_ptr<session::Runtime> runtime_;
    // Health, lag and role probes (libpq, its own thread); only when some database has replicas.
    std::unique_ptr<probe::Prober> prober_;
    std::vector<std::unique_ptr<asio::io_context>> contexts_;  // one per I/O thread
    std::size_t next_context_ = 0;
    Acceptor acceptor_;
    std::atomic<bool> stopping_{false};  // read by every thread's idle trimmer
    std::uint64_t next_session_id_ = 1;
};

}  // namespace pgrouter::net
