// Unit tests for backend::ServerStatementCache (the per-server-connection statement LRU).
#include "pgrouter/backend/statement_cache.hpp"

#include <gtest/gtest.h>

namespace pgrouter::backend {
namespace {

TEST(ServerStatementCache, EvictsTheLeastRecentlyUsed) {
    ServerStatementCache cache(2);
    EXPECT_FALSE(cache.add("a"));
    EXPECT_FALSE(cache.add("b"));
    EXPECT_TRUE(cache.use("a"));  // b is now the oldest
    auto evicted = cache.add("c");
    ASSERT_TRUE(evicted);
    EXPECT_EQ(*evicted, "b");
    EXPECT_TRUE(cache.use("a"));
    EXPECT_TRUE(cache.use("c"));
    EXPECT_FALSE(cache.use("b"));
    EXPECT_EQ(cache.size(), 2u);
}

TEST(ServerStatementCache, AddingAPresentNameEvictsNothing) {
    ServerStatementCache cache(1);
    EXPECT_FALSE(cache.add("a"));
    EXPECT_FALSE(cache.add("a"));
    cache.remove("a");
    EXPECT_FALSE(cache.use("a"));
    EXPECT_FALSE(cache.add("b"));
    cache.clear();
    EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace pgrouter::backend
