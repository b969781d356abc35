// Unit tests for pool::BackendPool (checkout, hand-over to waiters, limits, upkeep, per-io_context
// idle lists) with a fake connector: no PostgreSQL, no server connection.
#include "pgrouter/pool/backend_pool.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "pgrouter/pool/lease.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "unit/pool/pool_harness.hpp"

namespace pgrouter::pool {
namespace {

using namespace harness;

PoolSettings with_size(std::uint32_t size) {
    PoolSettings s = test_settings();
    s.size = size;
    return s;
}

const asio::execution_context* home_of(BackendConn& conn) {
    return &conn.socket.get_executor().context();
}

// Takes one idle connection on `where` and wraps it in a lease (empty when none is idle).
BackendLease take_idle(PoolHarness& h, asio::io_context& where) {
    return BackendLease(h.pool, h.pool->try_acquire_idle(where.get_executor()));
}

void expect_stats(const BackendPool& pool, std::uint32_t total, std::uint32_t idle,
                  std::uint32_t waiting) {
    PoolStats s = pool.stats();
    EXPECT_EQ(s.total, total);
    EXPECT_EQ(s.idle, idle);
    EXPECT_EQ(s.waiting, waiting);
}

TEST(BackendPool, TryAcquireIdleReturnsNullWhenNothingIsIdle) {
    PoolHarness h;
    EXPECT_EQ(h.pool->try_acquire_idle(h.ctx.get_executor()), nullptr);
    BackendLease lease = h.acquire();
    ASSERT_TRUE(lease);
    EXPECT_EQ(h.pool->try_acquire_idle(h.ctx.get_executor()), nullptr);  // the only one is leased
}

TEST(BackendPool, AcquireOpensAConnectionWhileUnderTheSizeLimit) {
    PoolHarness h;
    BackendLease a = h.acquire();
    BackendLease b = h.acquire();
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_NE(a->id, b->id);
    EXPECT_EQ(h.server->opened, 2);
    EXPECT_EQ(home_of(*a), &h.ctx);
    expect_stats(*h.pool, 2, 0, 0);
}

TEST(BackendPool, AcquireReusesAnIdleConnectionInsteadOfOpeningOne) {
    PoolHarness h;
    BackendLease first = h.acquire();
    const auto id = first->id;
    first.give_back(BackendPool::Return::Clean);
    BackendLease again = h.acquire();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, id);
    EXPECT_EQ(h.server->opened, 1);
}

TEST(BackendPool, HandsIdleConnectionsOutLastInFirstOut) {
    PoolHarness h(with_size(3));
    std::vector<BackendLease> leases;
    std::vector<std::uint64_t> released;
    for (int i = 0; i < 3; ++i) {
        leases.push_back(h.acquire());
        released.push_back(leases.back()->id);
    }
    for (auto& lease : leases) {
        lease.give_back(BackendPool::Return::Clean);
    }
    expect_stats(*h.pool, 3, 3, 0);
    for (auto it = released.rbegin(); it != released.rend(); ++it) {
        BackendLease lease = take_idle(h, h.ctx);
        ASSERT_TRUE(lease);
        EXPECT_EQ(lease->id, *it);
        lease.give_back(BackendPool::Return::Close);
    }
}

TEST(BackendPool, WaiterAtTheSizeLimitGetsTheConnectionReleasedByAnother) {
    PoolHarness h(with_size(1));
    BackendLease held = h.acquire();
    const auto id = held->id;
    auto waiter = h.start_waiter(h.ctx);
    expect_stats(*h.pool, 1, 0, 1);

    held.give_back(BackendPool::Return::Clean);
    BackendLease got = h.finish(h.ctx, *waiter);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, id);
    EXPECT_EQ(h.server->opened, 1);
    expect_stats(*h.pool, 1, 0, 0);
}

TEST(BackendPool, WaitersAreServedFirstInFirstOut) {
    PoolHarness h(with_size(1));
    BackendLease held = h.acquire();
    std::vector<std::shared_ptr<PendingAcquire>> waiters;
    for (int i = 0; i < 3; ++i) {
        waiters.push_back(h.start_waiter(h.ctx));
    }
    for (std::size_t i = 0; i < waiters.size(); ++i) {
        held.give_back(BackendPool::Return::Clean);
        held = h.finish(h.ctx, *waiters[i]);
        ASSERT_TRUE(held) << "waiter " << i;
        for (std::size_t later = i + 1; later < waiters.size(); ++later) {
            EXPECT_FALSE(waiters[later]->done()) << "waiter " << later << " served before " << i;
        }
    }
    EXPECT_EQ(h.server->opened, 1);
}

TEST(BackendPool, WaiterGetsTooManyConnectionsAfterQueryWaitTimeout) {
    PoolSettings s = with_size(1);
    s.query_wait_timeout = 50ms;
    PoolHarness h(s);
    BackendLease held = h.acquire();
    const auto started = std::chrono::steady_clock::now();
    auto waiter = start_acquire(h.ctx, h.pool);
    ASSERT_TRUE(run_until(h.ctx, [&] { return waiter->done(); }));
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(waiter->result->conn, nullptr);
    EXPECT_EQ(waiter->result->error.sqlstate, wire::sqlstate::kTooManyConnections);
    EXPECT_NE(waiter->result->error.message.find("query_wait_timeout"), std::string::npos);
    expect_stats(*h.pool, 1, 0, 0);  // the timed-out waiter left the queue
}

TEST(BackendPool, ClosingALeasedConnectionLetsTheFirstWaiterOpenANewOne) {
    PoolHarness h(with_size(1));
    BackendLease held = h.acquire();
    const auto old_id = held->id;
    auto first = h.start_waiter(h.ctx);
    auto second = h.start_waiter(h.ctx);

    held.give_back(BackendPool::Return::Close);
    BackendLease got = h.finish(h.ctx, *first);
    ASSERT_TRUE(got);
    EXPECT_NE(got->id, old_id);
    EXPECT_EQ(h.server->opened, 2);
    EXPECT_FALSE(second->done());
    expect_stats(*h.pool, 1, 0, 1);
}

TEST(BackendPool, FailedConnectFreesItsSlot) {
    PoolHarness h(with_size(1));
    h.server->refuse = true;
    auto pending = start_acquire(h.ctx, h.pool);
    ASSERT_TRUE(run_until(h.ctx, [&] { return pending->done(); }));
    EXPECT_EQ(pending->result->conn, nullptr);
    EXPECT_EQ(pending->result->error.sqlstate, "08006");
    expect_stats(*h.pool, 0, 0, 0);

    h.server->refuse = false;
    EXPECT_TRUE(h.acquire());
}

TEST(BackendPool, ReleaseClosesAConnectionOlderThanLifetime) {
    PoolSettings s = test_settings();
    s.lifetime = 1h;
    PoolHarness h(s);
    LoopbackPair pair(h.ctx);
    BackendLease old = h.acquire();
    old->socket = std::move(pair.near);
    old->created = Clock::now() - 2h;
    old.give_back(BackendPool::Return::Clean);
    expect_stats(*h.pool, 0, 0, 0);
    EXPECT_TRUE(sees_eof(pair.far));
}

TEST(BackendPool, SweepClosesConnectionsIdleLongerThanIdleTimeoutBeyondMinSize) {
    PoolSettings s = with_size(3);
    s.min_size = 1;
    s.idle_timeout = 10min;
    PoolHarness h(s);
    std::vector<BackendLease> leases;
    for (int i = 0; i < 3; ++i) {
        leases.push_back(h.acquire());
    }
    const auto newest = leases.back()->id;
    for (auto& lease : leases) {
        lease.give_back(BackendPool::Return::Clean);
    }
    EXPECT_EQ(h.pool->sweep(Clock::now()), 0u);  // nobody idle for 10 minutes yet
    expect_stats(*h.pool, 3, 3, 0);

    EXPECT_EQ(h.pool->sweep(Clock::now() + 11min), 0u);
    expect_stats(*h.pool, 1, 1, 0);
    BackendLease kept = take_idle(h, h.ctx);
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->id, newest);  // the longest idle went first
}

TEST(BackendPool, SweepReportsHowManyConnectionsMinSizeIsMissing) {
    PoolSettings s = with_size(5);
    s.min_size = 3;
    PoolHarness h(s);
    EXPECT_EQ(h.pool->sweep(Clock::now()), 3u);
    BackendLease lease = h.acquire();
    EXPECT_EQ(h.pool->sweep(Clock::now()), 2u);  // leased connections count too
    lease.give_back(BackendPool::Return::Clean);
    EXPECT_EQ(h.pool->sweep(Clock::now()), 2u);
}

TEST(BackendPool, SweepClosesConnectionsPastLifetimeEvenBelowMinSize) {
    PoolSettings s = test_settings();
    s.min_size = 1;
    s.lifetime = 1h;
    PoolHarness h(s);
    h.acquire().give_back(BackendPool::Return::Clean);
    EXPECT_EQ(h.pool->sweep(Clock::now() + 2h), 1u);
    expect_stats(*h.pool, 0, 0, 0);
}

TEST(BackendPool, CloseAllClosesIdleConnectionsAndLaterReleasesClose) {
    PoolHarness h;
    LoopbackPair idle_pair(h.ctx);
    BackendLease idle = h.acquire();
    BackendLease leased = h.acquire();
    idle->socket = std::move(idle_pair.near);
    idle.give_back(BackendPool::Return::Clean);
    expect_stats(*h.pool, 2, 1, 0);

    h.pool->close_all();
    expect_stats(*h.pool, 1, 0, 0);
    EXPECT_TRUE(sees_eof(idle_pair.far));

    leased.give_back(BackendPool::Return::Clean);
    expect_stats(*h.pool, 0, 0, 0);  // closed, not listed
    EXPECT_EQ(h.pool->try_acquire_idle(h.ctx.get_executor()), nullptr);
}

TEST(BackendPool, PrefersAConnectionReleasedOnTheCallersOwnContext) {
    PoolHarness h;
    BackendLease on_a = h.acquire_on(h.ctx);
    BackendLease on_b = h.acquire_on(h.other);
    const auto a_id = on_a->id;
    const auto b_id = on_b->id;
    on_b.give_back(BackendPool::Return::Clean);  // the other context's list comes first
    on_a.give_back(BackendPool::Return::Clean);

    BackendLease for_a = take_idle(h, h.ctx);
    ASSERT_TRUE(for_a);
    EXPECT_EQ(for_a->id, a_id);
    EXPECT_EQ(home_of(*for_a), &h.ctx);
    for_a.give_back(BackendPool::Return::Clean);  // now the most recent overall, but not B's own

    BackendLease for_b = take_idle(h, h.other);
    ASSERT_TRUE(for_b);
    EXPECT_EQ(for_b->id, b_id);
    EXPECT_EQ(home_of(*for_b), &h.other);
}

TEST(BackendPool, TryAcquireIdleMovesAConnectionToACallerOnAnotherContext) {
    PoolHarness h;
    BackendLease on_a = h.acquire_on(h.ctx);
    const auto id = on_a->id;
    const auto fd = on_a->socket.native_handle();
    on_a.give_back(BackendPool::Return::Clean);

    BackendLease for_b = take_idle(h, h.other);
    ASSERT_TRUE(for_b);
    EXPECT_EQ(for_b->id, id);
    EXPECT_EQ(home_of(*for_b), &h.other);
    EXPECT_TRUE(for_b->socket.is_open());
    EXPECT_EQ(for_b->socket.native_handle(), fd);  // the same descriptor, not a new connection
    EXPECT_EQ(h.server->opened, 1);
}

TEST(BackendPool, AcquireMovesAnIdleConnectionToTheCallersContext) {
    PoolHarness h;
    h.acquire_on(h.ctx).give_back(BackendPool::Return::Clean);
    BackendLease for_b = h.acquire_on(h.other);
    ASSERT_TRUE(for_b);
    EXPECT_EQ(home_of(*for_b), &h.other);
    EXPECT_EQ(h.server->opened, 1);
}

TEST(BackendPool, HandsAConnectionToAWaiterOnAnotherContext) {
    PoolHarness h(with_size(1));
    BackendLease on_a = h.acquire_on(h.ctx);
    const auto id = on_a->id;
    auto waiter = h.start_waiter(h.other);
    on_a.give_back(BackendPool::Return::Clean);
    BackendLease got = h.finish(h.other, *waiter);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, id);
    EXPECT_EQ(home_of(*got), &h.other);
}

TEST(BackendPool, StatsCountOpenIdleAndWaitingConnections) {
    PoolHarness h;
    expect_stats(*h.pool, 0, 0, 0);
    BackendLease a = h.acquire();
    BackendLease b = h.acquire();
    expect_stats(*h.pool, 2, 0, 0);
    auto waiter = h.start_waiter(h.ctx);
    expect_stats(*h.pool, 2, 0, 1);
    a.give_back(BackendPool::Return::Clean);  // straight to the waiter, never idle
    expect_stats(*h.pool, 2, 0, 0);
    BackendLease c = h.finish(h.ctx, *waiter);
    b.give_back(BackendPool::Return::Clean);
    expect_stats(*h.pool, 2, 1, 0);
    c.give_back(BackendPool::Return::Close);
    expect_stats(*h.pool, 1, 1, 0);
}

TEST(BackendPool, StartupParamsComeFromTheFirstConnection) {
    PoolHarness h;
    EXPECT_EQ(h.pool->startup_params(), nullptr);
    BackendLease first = h.acquire();
    h.server->startup_status = {{"server_version", "16.0"}};
    BackendLease second = h.acquire();
    auto params = h.pool->startup_params();
    ASSERT_NE(params, nullptr);
    EXPECT_EQ(*params, (backend::ParamState::Entries{{"server_version", "15.0"}}));
}

TEST(BackendPool, ResetListsTheConnectionIdleWhenTheServerIsReadyAgain) {
    PoolHarness h;
    LoopbackPair pair(h.ctx);
    BackendLease lease = h.acquire();
    lease->socket = std::move(pair.near);
    // The server's answer to the reset query, sent ahead: ReadyForQuery, idle.
    const std::uint8_t ready[] = {'Z', 0, 0, 0, 5, 'I'};
    asio::write(pair.far, asio::buffer(ready));

    lease.give_back(BackendPool::Return::Reset);
    ASSERT_TRUE(run_until(h.ctx, [&] { return h.pool->stats().idle == 1; }));
    expect_stats(*h.pool, 1, 1, 0);
    // Query: 'Q', length 16, "DISCARD ALL" and its terminating zero.
    const std::string reset_query("Q\0\0\0\020DISCARD ALL", 17);
    EXPECT_EQ(read_from(h.ctx, pair.far, reset_query.size()), reset_query);
}

TEST(BackendPool, ResetClosesTheConnectionWhenTheResetFails) {
    PoolHarness h;
    BackendLease lease = h.acquire();  // an unconnected socket: writing the reset query fails
    lease.give_back(BackendPool::Return::Reset);
    ASSERT_TRUE(run_until(h.ctx, [&] { return h.pool->stats().total == 0; }));
    expect_stats(*h.pool, 0, 0, 0);
}

TEST(BackendPool, DropsAnIdleConnectionThatLooksDeadAfterAPause) {
    PoolSettings s = test_settings();
    s.check_idle = true;
    PoolHarness h(s);
    BackendLease lease = h.acquire();  // unconnected: recv fails with ENOTCONN, so it looks dead
    const auto dead_id = lease->id;
    lease.give_back(BackendPool::Return::Clean);
    std::this_thread::sleep_for(1100ms);  // idle peeks happen only after 1 s without use

    EXPECT_EQ(h.pool->try_acquire_idle(h.ctx.get_executor()), nullptr);
    expect_stats(*h.pool, 0, 0, 0);
    BackendLease fresh = h.acquire();
    ASSERT_TRUE(fresh);
    EXPECT_NE(fresh->id, dead_id);
}

}  // namespace
}  // namespace pgrouter::pool
