// tests/unit/sql/statement_cache_test.cpp — StatementCache: hits and misses, shared results, LRU
// eviction at capacity, texts too long to keep, concurrent use.
#include "pgrouter/sql/statement_cache.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace pgrouter::sql {
namespace {

TEST(StatementCache, SecondLookupIsAHitWithTheSamePointer) {
    StatementCache cache(8);
    auto first = cache.classify("SET search_path = a");
    auto second = cache.classify("SET search_path = a");
    EXPECT_EQ(first.get(), second.get());
    EXPECT_EQ(cache.misses(), 1u);
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(cache.size(), 1u);
    ASSERT_EQ(first->settings.size(), 1u);
    EXPECT_EQ(first->settings[0].replay, "SET search_path = a");
}

TEST(StatementCache, DifferentTextsAreDifferentEntries) {
    StatementCache cache(8);
    auto a = cache.classify("SET a.x = 1");
    auto b = cache.classify("SET a.x = 2");
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(b->settings.at(0).replay, "SET a.x = 2");
    EXPECT_EQ(cache.misses(), 2u);
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_EQ(cache.size(), 2u);
}

TEST(StatementCache, EvictsTheLeastRecentlyUsedAtCapacity) {
    StatementCache cache(2);
    auto a = cache.classify("SELECT 1");
    cache.classify("SELECT 2");
    cache.classify("SELECT 1");  // hit: "SELECT 2" is now the oldest
    cache.classify("SELECT 3");  // evicts "SELECT 2"
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.hits(), 1u);
    EXPECT_EQ(cache.misses(), 3u);

    EXPECT_EQ(cache.classify("SELECT 1").get(), a.get());
    EXPECT_EQ(cache.hits(), 2u);
    cache.classify("SELECT 2");
    EXPECT_EQ(cache.misses(), 4u);
    EXPECT_EQ(cache.size(), 2u);
}

TEST(StatementCache, ZeroCapacityNeverKeepsAnything) {
    StatementCache cache(0);
    auto a = cache.classify("SELECT 1");
    auto b = cache.classify("SELECT 1");
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.misses(), 2u);
    EXPECT_EQ(cache.hits(), 0u);
}

TEST(StatementCache, LongTextsAreClassifiedButNotKept) {
    StatementCache cache(8, 32);
    std::string long_text = "SET application_name = '" + std::string(64, 'x') + "'";
    auto a = cache.classify(long_text);
    auto b = cache.classify(long_text);
    EXPECT_NE(a.get(), b.get());
    EXPECT_EQ(a->settings.at(0).name, "application_name");
    EXPECT_EQ(cache.size(), 0u);
    cache.classify("SELECT 1");
    EXPECT_EQ(cache.size(), 1u);
}

TEST(StatementCache, ParseErrorsAreCachedToo) {
    StatementCache cache(8);
    auto a = cache.classify("SELEC 1");
    auto b = cache.classify("SELEC 1");
    EXPECT_TRUE(a->parse_error);
    EXPECT_EQ(a.get(), b.get());
}

TEST(StatementCache, ConcurrentUseStaysConsistent) {
    StatementCache cache(16);
    constexpr int kThreads = 4;
    constexpr int kCalls = 500;
    std::vector<std::thread> threads;
    std::vector<int> wrong(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kCalls; ++i) {
                int k = (i * 7 + t) % 24;  // more texts than capacity: evictions under contention
                std::string text = "SET a.k" + std::to_string(k) + " = 1";
                auto result = cache.classify(text);
                if (result->settings.size() != 1 || result->settings[0].replay != text) {
                    ++wrong[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(wrong, std::vector<int>(kThreads, 0));
    EXPECT_EQ(cache.hits() + cache.misses(), static_cast<std::uint64_t>(kThreads * kCalls));
    EXPECT_LE(cache.size(), 16u);
}

}  // namespace
}  // namespace pgrouter::sql
