// Unit tests for health::WriteTracker: entries, position publishing with tickets, LRU eviction.
#include "pgrouter/health/write_tracker.hpp"

#include <gtest/gtest.h>

namespace pgrouter::health {
namespace {

using std::chrono::milliseconds;

const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

TEST(WriteTracker, UnknownKeyHasNoEntry) {
    WriteTracker tracker(10);
    EXPECT_EQ(tracker.find("alice"), std::nullopt);
}

TEST(WriteTracker, AWriteIsPendingUntilItsPositionIsLearnt) {
    WriteTracker tracker(10);
    tracker.record_write("alice", kT0);
    auto entry = tracker.find("alice");
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->wrote_at, kT0);
    EXPECT_EQ(entry->lsn, 0u);
    tracker.record_lsn("alice", 500);
    EXPECT_EQ(tracker.find("alice")->lsn, 500u);
    tracker.record_lsn("alice", 400);  // only raises
    EXPECT_EQ(tracker.find("alice")->lsn, 500u);
    // A new write makes the position unknown again.
    tracker.record_write("alice", kT0 + milliseconds(10));
    EXPECT_EQ(tracker.find("alice")->lsn, 0u);
    EXPECT_EQ(tracker.find("alice")->wrote_at, kT0 + milliseconds(10));
}

TEST(WriteTracker, AnOlderWriteDoesNotPublishWhileANewerOneIsPending) {
    WriteTracker tracker(10);
    std::uint64_t first = tracker.record_write("alice", kT0);
    std::uint64_t second = tracker.record_write("alice", kT0 + milliseconds(1));
    EXPECT_NE(first, second);
    tracker.record_lsn("alice", 100, first);
    EXPECT_EQ(tracker.find("alice")->lsn, 0u);
    tracker.record_lsn("alice", 90, second);  // the highest reported position wins
    EXPECT_EQ(tracker.find("alice")->lsn, 100u);
}

TEST(WriteTracker, EvictsTheLeastRecentlyUsedKey) {
    WriteTracker tracker(3);
    tracker.record_write("a", kT0);
    tracker.record_write("b", kT0);
    tracker.record_write("c", kT0);
    EXPECT_TRUE(tracker.find("a"));  // a is now the most recent; b the least
    tracker.record_write("d", kT0);
    EXPECT_EQ(tracker.size(), 3u);
    EXPECT_EQ(tracker.find("b"), std::nullopt);
    EXPECT_TRUE(tracker.find("a"));
    EXPECT_TRUE(tracker.find("c"));
    EXPECT_TRUE(tracker.find("d"));
    tracker.record_lsn("b", 10);  // evicted: ignored, not re-created
    EXPECT_EQ(tracker.find("b"), std::nullopt);
}

TEST(WriteTracker, RewritingAKeyDoesNotGrowTheTable) {
    WriteTracker tracker(2);
    for (int i = 0; i < 10; ++i) {
        tracker.record_write("a", kT0 + milliseconds(i));
    }
    EXPECT_EQ(tracker.size(), 1u);
    EXPECT_EQ(tracker.find("a")->wrote_at, kT0 + milliseconds(9));
}

TEST(WriteTracker, CapacityIsAtLeastOne) {
    WriteTracker tracker(0);
    tracker.record_write("a", kT0);
    EXPECT_TRUE(tracker.find("a"));
    tracker.record_write("b", kT0);
    EXPECT_EQ(tracker.find("a"), std::nullopt);
    EXPECT_TRUE(tracker.find("b"));
}

}  // namespace
}  // namespace pgrouter::health
