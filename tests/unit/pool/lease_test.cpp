// Unit tests for pool::BackendLease (RAII ownership of one server connection) against a pool fed
// by a fake connector: no PostgreSQL, no server connection.
#include "pgrouter/pool/lease.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

#include "unit/pool/pool_harness.hpp"

namespace pgrouter::pool {
namespace {

using namespace harness;

// A lease whose connection's socket is `pair.near`, so the test can tell from `pair.far` whether
// the connection was closed.
BackendLease acquire_watched(PoolHarness& h, LoopbackPair& pair) {
    BackendLease lease = h.acquire();
    lease->socket = std::move(pair.near);
    return lease;
}

bool still_open(LoopbackPair& pair) {
    return !sees_eof(pair.far, 0ms);
}

TEST(BackendLease, DestroyingWithoutGiveBackClosesTheConnection) {
    PoolHarness h;
    LoopbackPair pair(h.ctx);
    {
        BackendLease lease = acquire_watched(h, pair);
        EXPECT_EQ(h.pool->stats().total, 1u);
    }
    EXPECT_EQ(h.pool->stats().total, 0u);
    EXPECT_EQ(h.pool->stats().idle, 0u);
    EXPECT_TRUE(sees_eof(pair.far));
}

TEST(BackendLease, DestroyingWithoutGiveBackLetsAWaiterConnect) {
    PoolSettings s = test_settings();
    s.size = 1;
    PoolHarness h(s);
    auto lease = std::make_unique<BackendLease>(h.acquire());
    auto waiter = h.start_waiter(h.ctx);
    lease.reset();
    BackendLease got = h.finish(h.ctx, *waiter);
    ASSERT_TRUE(got);
    EXPECT_EQ(h.server->opened, 2);  // closed, so the waiter opened a new one
    EXPECT_EQ(h.pool->stats().total, 1u);
}

TEST(BackendLease, GiveBackCleanListsTheConnectionIdle) {
    PoolHarness h;
    LoopbackPair pair(h.ctx);
    BackendLease lease = acquire_watched(h, pair);
    lease.give_back(BackendPool::Return::Clean);
    EXPECT_FALSE(lease);
    EXPECT_EQ(h.pool->stats().total, 1u);
    EXPECT_EQ(h.pool->stats().idle, 1u);
    EXPECT_TRUE(still_open(pair));
}

TEST(BackendLease, GiveBackCloseFreesTheSlot) {
    PoolHarness h;
    LoopbackPair pair(h.ctx);
    BackendLease lease = acquire_watched(h, pair);
    lease.give_back(BackendPool::Return::Close);
    EXPECT_FALSE(lease);
    EXPECT_EQ(h.pool->stats().total, 0u);
    EXPECT_EQ(h.pool->stats().idle, 0u);
    EXPECT_TRUE(sees_eof(pair.far));
}

TEST(BackendLease, GiveBackTwiceReleasesOnce) {
    PoolHarness h;
    BackendLease kept = h.acquire();
    BackendLease lease = h.acquire();
    lease.give_back(BackendPool::Return::Close);
    lease.give_back(BackendPool::Return::Close);
    EXPECT_EQ(h.pool->stats().total, 1u);  // `kept` still counts
}

TEST(BackendLease, EmptyLeaseGivesNothingBack) {
    BackendLease empty;
    EXPECT_FALSE(empty);
    EXPECT_EQ(empty.get(), nullptr);
    empty.give_back(BackendPool::Return::Clean);
    EXPECT_FALSE(empty);
}

TEST(BackendLease, MoveConstructionMovesOwnership) {
    PoolHarness h;
    BackendLease kept = h.acquire();
    std::optional<BackendLease> from(h.acquire());
    BackendConn* conn = from->get();
    BackendLease to(std::move(*from));
    EXPECT_FALSE(*from);
    EXPECT_EQ(to.get(), conn);
    EXPECT_EQ(to.pool(), h.pool);
    from.reset();  // the moved-from lease releases nothing
    EXPECT_EQ(h.pool->stats().total, 2u);
    to.give_back(BackendPool::Return::Close);
    EXPECT_EQ(h.pool->stats().total, 1u);
}

TEST(BackendLease, MoveAssignmentClosesTheConnectionItReplaces) {
    PoolHarness h;
    LoopbackPair pair(h.ctx);
    BackendLease target = acquire_watched(h, pair);
    BackendLease from = h.acquire();
    BackendConn* conn = from.get();
    target = std::move(from);
    EXPECT_FALSE(from);
    EXPECT_EQ(target.get(), conn);
    EXPECT_EQ(h.pool->stats().total, 1u);
    EXPECT_TRUE(sees_eof(pair.far));
}

TEST(BackendLease, SelfMoveAssignmentKeepsTheConnection) {
    PoolHarness h;
    BackendLease lease = h.acquire();
    BackendConn* conn = lease.get();
    BackendLease& alias = lease;
    lease = std::move(alias);
    EXPECT_EQ(lease.get(), conn);
    EXPECT_EQ(h.pool->stats().total, 1u);
}

TEST(BackendLease, DroppedDuringExceptionUnwindingFreesTheSlot) {
    PoolHarness h;
    LoopbackPair pair(h.ctx);
    try {
        BackendLease lease = acquire_watched(h, pair);
        ASSERT_EQ(h.pool->stats().total, 1u);
        throw std::runtime_error("session failed mid-transaction");
    } catch (const std::runtime_error&) {
    }
    EXPECT_EQ(h.pool->stats().total, 0u);
    EXPECT_EQ(h.pool->stats().idle, 0u);
    EXPECT_TRUE(sees_eof(pair.far));
}

}  // namespace
}  // namespace pgrouter::pool
