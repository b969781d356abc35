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

// workers: 0. Half the cores, at least one (Odyssey's "auto"): a pooler usually shares its machine
// with PostgreSQL or with its clients, and on a small machine a second I/O thread costs more CPU
// per transaction than it gains (bench/RESULTS.md).
unsigned default_workers() {
    return std::max(1u, std::thread::hardware_concurrency() / 2);
}

// One io_context per thread, each run by exactly that thread (concurrency hint 1).
std::vector<std::unique_ptr<asio::io_context>> make_contexts(unsigned threads) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    for (unsigned i = 0; i < threads; ++i) {
        contexts.push_back(std::make_unique<asio::io_context>(1));
    }
    return contexts;
}

}  // namespace

Server::Server(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)),
      threads_(config_->workers != 0 ? config_->workers : default_workers()),
      runtime_(std::make_unique<session::Runtime>(config_)),
      contexts_(make_contexts(threads_)),
      acceptor_(contexts_.front()->get_executor()) {}

void Server::stop_all() noexcept {
    for (auto& context : contexts_) {
        context->stop();
    }
}

int Server::run() {
    raise_fd_limit();
    error_code ec;
    auto address = asio::ip::make_address(config_->listen.host, ec);
    tcp::endpoint endpoint;
    if (ec) {
        Resolver resolver(main_io().get_executor());
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
    bool replicated = false;
    for (const auto& database : config_->databases) {
        // Shards are probed too: their health, and the catalogue's user aggregates that a read
        // over every shard must refuse.
        replicated = replicated || !database.replicas.empty() || !database.shards.empty();
    }
    if (replicated) {
        // One round before the first client: routing starts from what the servers say.
        prober_ = std::make_unique<probe::Prober>(*config_, runtime_->health());
        prober_->probe_once(config_->pool.connect_timeout);
        prober_->start();
    }

    auto& io = main_io();
    for (auto& context : contexts_) {
        asio::co_spawn(*context, trim_idle_sessions(),
                       [](std::exception_ptr e) { log_exception(e, "idle trimmer"); });
    }
    asio::co_spawn(io, accept_loop(), [](std::exception_ptr e) { log_exception(e, "listener"); });
    asio::co_spawn(io, janitor(), [](std::exception_ptr e) { log_exception(e, "janitor"); });
    asio::co_spawn(io, wait_for_signals(),
                   [](std::exception_ptr e) { log_exception(e, "signal handler"); });

    // The other threads wait for sessions until stop_all(); a context with nothing to do would
    // otherwise return from run() at once.
    std::vector<asio::executor_work_guard<Executor>> keep_running;
    std::vector<std::thread> workers;
    for (std::size_t i = 1; i < contexts_.size(); ++i) {
        keep_running.push_back(asio::make_work_guard(contexts_[i]->get_executor()));
        workers.emplace_back([context = contexts_[i].get()] { context->run(); });
    }
    io.run();
    stop_all();
    for (auto& t : workers) {
        t.join();
    }
    if (prober_) {
        prober_->stop();
    }
    SPDLOG_INFO("pgrouter stopped");
    return 0;
}

awaitable<void> Server::accept_loop() {
    Timer backoff(main_io().get_executor());
    while (!stopping_) {
        error_code ec;
        // Clients are dealt out to the threads in turn; each session stays on its io_context.
        asio::io_context& home = *contexts_[next_context_];
        next_context_ = (next_context_ + 1) % contexts_.size();
        Socket socket = co_await acceptor_.async_accept(home.get_executor(),
                                                        asio::redirect_error(use_awaitable, ec));
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

awaitable<void> Server::trim_idle_sessions() {
    // Per thread: clients idle for a second give up their reader's coroutine frame.
    Timer timer(co_await asio::this_coro::executor);
    while (!stopping_) {
        timer.expires_after(std::chrono::seconds(1));
        error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        session::ClientSession::trim_parked();
    }
}

awaitable<void> Server::janitor() {
    Timer timer(main_io().get_executor());
    const Executor here = main_io().get_executor();
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
                    here, [pool, credentials] { return pool->add_idle(*credentials); },
                    asio::detached);
            }
        }
    }
}

awaitable<void> Server::wait_for_signals() {
    SignalSet signals(main_io().get_executor(), SIGINT, SIGTERM);
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
    asio::co_spawn(main_io(), shutdown(),
                   [](std::exception_ptr e) { log_exception(e, "shutdown"); });
    // A second signal stops at once.
    co_await signals.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!ec) {
        SPDLOG_WARN("second signal: stopping now");
        stop_all();
    }
}

awaitable<void> Server::shutdown() {
    Timer timer(main_io().get_executor());
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
    stop_all();
}

}  // namespace pgrouter::net
