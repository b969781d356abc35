// tests/unit/pool/pool_harness.hpp — what the pool tests share: a fake connector that gives the
// pool unconnected sockets instead of server connections, loopback socket pairs, and helpers that
// run an io_context until the pool has done something. No PostgreSQL and no server is ever
// contacted.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "pgrouter/pool/backend_pool.hpp"
#include "pgrouter/pool/lease.hpp"

namespace pgrouter::pool::harness {

using namespace std::chrono_literals;

// What the fake connector did, and what it answers next; shared with the pool's settings.
struct FakeServer {
    int opened = 0;       // connector calls
    bool refuse = false;  // answer connects with 08006 instead of a connection
    backend::ParamState::Entries startup_status{{"server_version", "15.0"}};
};

// Opens nothing: a fresh unconnected TCP socket on the caller's io_context, as connect_backend
// would return a connection that reached ReadyForQuery.
inline awaitable<ConnectResult> fake_connect(std::shared_ptr<FakeServer> server,
                                             config::Address address, std::uint64_t id) {
    auto here = co_await asio::this_coro::executor;
    ++server->opened;
    if (server->refuse) {
        co_return ConnectResult{nullptr, ServerError{"08006", "connection refused", {}}};
    }
    auto conn = std::make_unique<BackendConn>(here);
    conn->socket.open(tcp::v4());
    conn->address = std::move(address);
    conn->id = id;
    conn->startup_status = server->startup_status;
    conn->created = conn->last_used = Clock::now();
    co_return ConnectResult{std::move(conn), {}};
}

inline Connector fake_connector(std::shared_ptr<FakeServer> server) {
    return [server](const config::Address& address, const std::string&, const Credentials&,
                    std::chrono::milliseconds,
                    std::uint64_t id) { return fake_connect(server, address, id); };
}

// Small limits, no idle peek (the fake's unconnected sockets would look dead), and a wait long
// enough that only run_until's bound can end a test whose hand-over is broken.
inline PoolSettings test_settings() {
    PoolSettings s;
    s.size = 2;
    s.check_idle = false;
    s.query_wait_timeout = 30s;
    return s;
}

inline Credentials test_credentials() {
    Credentials c;
    c.user = "app";
    c.password = "secret";
    return c;
}

// Runs `ctx` until `done()` holds. The 5 s bound only stops a broken test; it is not a timing.
template <typename Done>
bool run_until(asio::io_context& ctx, Done done) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        ctx.restart();
        if (ctx.run_one_for(10ms) == 0) {
            std::this_thread::sleep_for(1ms);
        }
    }
    return true;
}

// An acquire() running as a coroutine on some io_context; `result` is set when it returns.
struct PendingAcquire {
    std::optional<ConnectResult> result;
    bool done() const noexcept { return result.has_value(); }
};

inline std::shared_ptr<PendingAcquire> start_acquire(asio::io_context& where,
                                                     std::shared_ptr<BackendPool> pool) {
    auto pending = std::make_shared<PendingAcquire>();
    asio::co_spawn(
        where.get_executor(),
        [pool, pending]() -> awaitable<void> {
            pending->result = co_await pool->acquire(test_credentials());
        },
        [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
    return pending;
}

// A connected TCP pair on 127.0.0.1 (no server behind it): `near` plays the pool's side.
struct LoopbackPair {
    explicit LoopbackPair(asio::io_context& ctx)
        : near(ctx.get_executor()), far(ctx.get_executor()) {
        Acceptor acceptor(ctx.get_executor(), tcp::endpoint(asio::ip::address_v4::loopback(), 0));
        near.connect(acceptor.local_endpoint());
        acceptor.accept(far);
    }
    Socket near;
    Socket far;
};

// True when `peer` reads end-of-file within the bound, i.e. the other side closed the connection.
inline bool sees_eof(Socket& peer, std::chrono::milliseconds bound = 5000ms) {
    pollfd p{peer.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(bound.count())) != 1) {
        return false;
    }
    std::uint8_t byte;
    return ::recv(peer.native_handle(), &byte, 1, MSG_DONTWAIT) == 0;
}

// Reads `n` bytes from `peer` by running `ctx`, for at most 5 s; whatever arrived.
inline std::string read_from(asio::io_context& ctx, Socket& peer, std::size_t n) {
    std::string bytes(n, '\0');
    bool done = false;
    asio::async_read(peer, asio::buffer(bytes), [&](error_code, std::size_t got) {
        bytes.resize(got);
        done = true;
    });
    if (!run_until(ctx, [&] { return done; })) {
        peer.close();  // aborts the read; its handler must run before `bytes` goes away
        run_until(ctx, [&] { return done; });
    }
    return bytes;
}

// One pool fed by a FakeServer, and two io_contexts standing for two I/O threads (both run by the
// test's thread, one at a time).
struct PoolHarness {
    explicit PoolHarness(PoolSettings settings = test_settings()) {
        settings.connector = fake_connector(server);
        pool = std::make_shared<BackendPool>(config::Address{"127.0.0.1", 5432}, "appdb", "app",
                                             std::move(settings));
    }

    // A connection acquired by a session on `where` (the first context unless told).
    BackendLease acquire() { return acquire_on(ctx); }
    BackendLease acquire_on(asio::io_context& where) {
        auto pending = start_acquire(where, pool);
        return finish(where, *pending);
    }

    // A session on `where` that has queued for a connection (stats().waiting grew by one).
    std::shared_ptr<PendingAcquire> start_waiter(asio::io_context& where) {
        const auto waiting = pool->stats().waiting;
        auto pending = start_acquire(where, pool);
        EXPECT_TRUE(run_until(where, [&] { return pool->stats().waiting == waiting + 1; }));
        EXPECT_FALSE(pending->done());
        return pending;
    }

    // Runs `where` until `pending` returned; its connection as a lease (empty on error).
    BackendLease finish(asio::io_context& where, PendingAcquire& pending) {
        EXPECT_TRUE(run_until(where, [&] { return pending.done(); }));
        if (!pending.done()) {
            return {};
        }
        return BackendLease(pool, std::move(pending.result->conn));
    }

    asio::io_context ctx;
    asio::io_context other;
    std::shared_ptr<FakeServer> server = std::make_shared<FakeServer>();
    std::shared_ptr<BackendPool> pool;
};

}  // namespace pgrouter::pool::harness
