// pgrouter/net/server.hpp — the process: io_context and its worker threads, the listener, the pool
// janitor, signals and the shutdown order (stop accepting, drain sessions, close pools, stop).
#pragma once

#include <memory>

#include "pgrouter/config/config.hpp"
#include "pgrouter/io/asio.hpp"
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
    awaitable<void> wait_for_signals();
    awaitable<void> shutdown();

    std::shared_ptr<const config::Config> config_;
    const unsigned threads_;  // I/O threads (workers, or one per core)
    // Declared before io_ so it outlives the sessions destroyed with io_'s pending handlers.
    std::unique_ptr<session::Runtime> runtime_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    bool stopping_ = false;
    std::uint64_t next_session_id_ = 1;
};

}  // namespace pgrouter::net
