// Unit tests for pool::PoolSet (one BackendPool per server, database and user, created on first
// use) with a fake connector: no PostgreSQL, no server connection.
#include "pgrouter/pool/pool_set.hpp"

#include <gtest/gtest.h>

#include "unit/pool/pool_harness.hpp"

namespace pgrouter::pool {
namespace {

using namespace harness;

const config::Address kPrimary{"10.0.0.1", 5432};

PoolSet make_set(std::shared_ptr<FakeServer> server) {
    PoolSettings s = test_settings();
    s.connector = fake_connector(std::move(server));
    return PoolSet(std::move(s));
}

TEST(PoolSet, ReturnsTheSamePoolForTheSameServerDatabaseAndUser) {
    PoolSet set = make_set(std::make_shared<FakeServer>());
    auto pool = set.get(kPrimary, "appdb", "app");
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(set.get(config::Address{"10.0.0.1", 5432}, "appdb", "app"), pool);
    EXPECT_EQ(pool->server(), kPrimary);
    EXPECT_EQ(pool->dbname(), "appdb");
    EXPECT_EQ(pool->user(), "app");
}

TEST(PoolSet, KeepsOnePoolPerServerDatabaseAndUser) {
    PoolSet set = make_set(std::make_shared<FakeServer>());
    auto pool = set.get(kPrimary, "appdb", "app");
    EXPECT_NE(set.get(config::Address{"10.0.0.2", 5432}, "appdb", "app"), pool);
    EXPECT_NE(set.get(config::Address{"10.0.0.1", 5433}, "appdb", "app"), pool);
    EXPECT_NE(set.get(kPrimary, "otherdb", "app"), pool);
    EXPECT_NE(set.get(kPrimary, "appdb", "admin"), pool);
    EXPECT_EQ(set.all().size(), 5u);
}

TEST(PoolSet, PoolsOpenConnectionsWithTheSetsSettings) {
    auto server = std::make_shared<FakeServer>();
    PoolSet set = make_set(server);
    asio::io_context ctx;
    auto pool = set.get(kPrimary, "appdb", "app");
    auto pending = start_acquire(ctx, pool);
    ASSERT_TRUE(run_until(ctx, [&] { return pending->done(); }));
    BackendLease lease(pool, std::move(pending->result->conn));
    ASSERT_TRUE(lease);
    EXPECT_EQ(server->opened, 1);  // the set's connector, not connect_backend
    EXPECT_EQ(set.settings().size, test_settings().size);
}

TEST(PoolSet, CloseAllClosesEveryPool) {
    auto server = std::make_shared<FakeServer>();
    PoolSet set = make_set(server);
    asio::io_context ctx;
    std::vector<BackendLease> leases;
    for (const char* user : {"app", "admin"}) {
        auto pool = set.get(kPrimary, "appdb", user);
        auto pending = start_acquire(ctx, pool);
        ASSERT_TRUE(run_until(ctx, [&] { return pending->done(); }));
        BackendLease(pool, std::move(pending->result->conn)).give_back(BackendPool::Return::Clean);
    }
    set.close_all();
    for (const auto& pool : set.all()) {
        EXPECT_EQ(pool->stats().total, 0u);
        EXPECT_EQ(pool->stats().idle, 0u);
    }
}

}  // namespace
}  // namespace pgrouter::pool
