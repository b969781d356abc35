// Unit tests for pool::BackendConn's socket checks and moves (looks_dead, move_to) on a loopback
// TCP pair: no PostgreSQL, no server connection.
#include "pgrouter/pool/backend_conn.hpp"

#include <gtest/gtest.h>

#include "unit/pool/pool_harness.hpp"

namespace pgrouter::pool {
namespace {

using namespace harness;

// A connection whose socket is `pair.near`; `pair.far` plays the server.
BackendConn conn_on(asio::io_context& ctx, LoopbackPair& pair) {
    BackendConn conn(ctx.get_executor());
    conn.socket = std::move(pair.near);
    return conn;
}

// looks_dead() until it says yes, for at most 5 s (loopback delivery is immediate in practice).
bool eventually_dead(const BackendConn& conn) {
    const auto give_up = std::chrono::steady_clock::now() + 5s;
    while (!conn.looks_dead()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

TEST(BackendConn, LooksAliveWhileTheServerIsQuiet) {
    asio::io_context ctx;
    LoopbackPair pair(ctx);
    BackendConn conn = conn_on(ctx, pair);
    EXPECT_FALSE(conn.looks_dead());
    EXPECT_FALSE(conn.looks_dead());  // peeking consumed nothing
}

TEST(BackendConn, LooksDeadWhenTheServerClosed) {
    asio::io_context ctx;
    LoopbackPair pair(ctx);
    BackendConn conn = conn_on(ctx, pair);
    pair.far.close();
    EXPECT_TRUE(eventually_dead(conn));
}

TEST(BackendConn, LooksDeadWhenTheServerSentSomethingUnasked) {
    asio::io_context ctx;
    LoopbackPair pair(ctx);
    BackendConn conn = conn_on(ctx, pair);
    const std::uint8_t fatal_start[] = {'E'};
    asio::write(pair.far, asio::buffer(fatal_start));
    EXPECT_TRUE(eventually_dead(conn));
    EXPECT_TRUE(conn.looks_dead());  // a peek: the byte is still there
}

TEST(BackendConn, MoveToAnotherContextKeepsTheDescriptorAndWorksThere) {
    asio::io_context a;
    asio::io_context b;
    LoopbackPair pair(a);
    BackendConn conn = conn_on(a, pair);
    const auto fd = conn.socket.native_handle();
    conn.move_to(b.get_executor());
    EXPECT_EQ(&conn.socket.get_executor().context(), &b);
    EXPECT_EQ(conn.socket.native_handle(), fd);

    // An asynchronous read now completes on b, the socket's new reactor.
    std::uint8_t byte = 0;
    bool read = false;
    conn.socket.async_read_some(asio::buffer(&byte, 1),
                                [&](error_code ec, std::size_t n) { read = !ec && n == 1; });
    const std::uint8_t ping[] = {'x'};
    asio::write(pair.far, asio::buffer(ping));
    EXPECT_TRUE(run_until(b, [&] { return read; }));
    EXPECT_EQ(byte, 'x');
}

TEST(BackendConn, MoveToItsOwnContextChangesNothing) {
    asio::io_context ctx;
    LoopbackPair pair(ctx);
    BackendConn conn = conn_on(ctx, pair);
    const auto fd = conn.socket.native_handle();
    conn.move_to(ctx.get_executor());
    EXPECT_EQ(&conn.socket.get_executor().context(), &ctx);
    EXPECT_EQ(conn.socket.native_handle(), fd);
    EXPECT_FALSE(conn.looks_dead());
}

}  // namespace
}  // namespace pgrouter::pool
