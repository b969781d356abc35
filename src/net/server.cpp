// pgrouter/net/server.cpp — threads, accept loop, janitor, signal-driven shutdown.
#include "pgrouter/net/server.hpp"

#include <sys/resource.h>

#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

#include "pgrouter/session/client_session.hpp"

namespace pgrouter::net {
namespace {

// Thousands of clients need thousands of descriptors; take the hard limit we are allowed.
void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

void log_exception(std::exception_ptr e, const char* what) {
    if (!e) {
        return;
    }
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        SPDLOG_ERROR("{} failed: {}", what, ex.what());
    }
}

}  // namespace

Server::Server(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)),
      threads_(config_->workers != 0 ? config_->workers
                                     : std::max(1u, std::thread::hardware_concurrency())),
      io_(threads_ == 1 ? 1 : BOOST_ASIO_CONCURRENCY_HINT_DEFAULT),
      acceptor_(io_) {
    runtime_ = std::make_unique<session::Runtime>(io_, config_);
}

int Server::run() {
    raise_fd_limit();
    error_code ec;
    auto address = asio::ip::make_address(config_->listen.host, ec);
    tcp::endpoint endpoint;
    if (ec) {
        tcp::resolver resolver(io_);
        auto results = resolver.resolve(config_->listen.host, std::to_string(config_->listen.port));
        endpoint = *results.begin();
    } else {
        endpoint = tcp::endpoint(address, config_->listen.port);
    }
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    SPDLOG_INFO("pgrouter listening on {} ({} mode, pool size {})", config_->listen.to_string(),
                config::to_string(config_->pool.mode), config_->pool.size);

    asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) { log_exception(e, "listener"); });
    asio::co_spawn(io_, janitor(), [](std::exception_ptr e) { log_exception(e, "janitor"); });
    asio::co_spawn(io_, wait_for_signals(),
                   [](std::exception_ptr e) { log_exception(e, "signal handler"); });

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads_; ++i) {
        workers.emplace_back([this] { io_.run(); });
    }
    io_.run();
    for (auto& t : workers) {
        t.join();
    }
    SPDLOG_INFO("pgrouter stopped");
    return 0;
}

awaitable<void> Server::accept_loop() {
    asio::steady_timer backoff(io_);
    while (!stopping_) {
        error_code ec;
        // One thread needs no strand: everything already runs in order on it, and the strand's
        // queue and locks are a measurable part of the per-transaction cost.
        asio::any_io_executor session_executor =
            threads_ == 1 ? asio::any_io_executor(io_.get_executor())
                          : asio::any_io_executor(asio::make_strand(io_));
        tcp::socket socket = co_await acceptor_.async_accept(
            session_executor, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (stopping_ || ec == asio::error::operation_aborted) {
                break;
            }
            // Out of descriptors or memory: wait instead of spinning on the error.
            SPDLOG_WARN("accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(asio::redirect_error(use_awaitable, ec));
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        auto session = std::make_shared<session::ClientSession>(*runtime_, std::move(socket),
                                                                next_session_id_++);
        runtime_->register_session(session);
        session->start();
    }
}

awaitable<void> Server::janitor() {
    asio::steady_timer timer(io_);
    auto strand = asio::make_strand(io_);
    while (!stopping_) {
        timer.expires_after(std::chrono::seconds(1));
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        if (stopping_) {
            break;
        }
        auto now = pool::Clock::now();
        for (auto& pool : runtime_->pools().all()) {
            std::uint32_t missing = pool->sweep(now);
            const session::UserAuth* user = runtime_->user_auth(pool->user());
            if (missing == 0 || user == nullptr) {
                continue;
            }
            auto credentials = runtime_->server_credentials(*user);
            if (credentials->password.empty() && !credentials->scram_client_key &&
                user->config->auth != config::AuthMethod::Trust) {
                continue;  // pass-through users need a client login first
            }
            for (std::uint32_t i = 0; i < missing; ++i) {
                // The coroutine takes its credentials by reference: the lambda keeps them alive.
                asio::co_spawn(
                    strand, [pool, credentials] { return pool->add_idle(*credentials); },
                    asio::detached);
            }
        }
    }
}

awaitable<void> Server::wait_for_signals() {
    asio::signal_set signals(io_, SIGINT, SIGTERM);
    error_code ec;
    int signal = co_await signals.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return;
    }
    SPDLOG_INFO("received signal {}: draining (up to {} ms)", signal,
                config_->limits.shutdown_timeout.count());
    stopping_ = true;
    acceptor_.close(ec);
    runtime_->drain_all();
    asio::co_spawn(io_, shutdown(), [](std::exception_ptr e) { log_exception(e, "shutdown"); });
    // A second signal stops at once.
    co_await signals.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!ec) {
        SPDLOG_WARN("second signal: stopping now");
        io_.stop();
    }
}

awaitable<void> Server::shutdown() {
    asio::steady_timer timer(io_);
    auto deadline = std::chrono::steady_clock::now() + config_->limits.shutdown_timeout;
    while (runtime_->live_sessions() > 0 && std::chrono::steady_clock::now() < deadline) {
        timer.expires_after(std::chrono::milliseconds(20));
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    if (runtime_->live_sessions() > 0) {
        SPDLOG_WARN("{} sessions still open after shutdown_timeout; closing them",
                    runtime_->live_sessions());
    }
    runtime_->pools().close_all();
    io_.stop();
}

}  // namespace pgrouter::net
