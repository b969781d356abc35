// Unit tests for probe::LagTracker (replica lag from the primary's position history).
#include "pgrouter/probe/lag_tracker.hpp"

#include <gtest/gtest.h>

namespace pgrouter::probe {
namespace {

using health::Clock;
using std::chrono::milliseconds;

const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

TEST(LagTracker, NoHistoryMeansNoLag) {
    LagTracker tracker;
    EXPECT_EQ(tracker.lag(0, kT0), milliseconds(0));
    EXPECT_EQ(tracker.latest(), 0u);
}

TEST(LagTracker, CaughtUpReplicaHasNoLagHoweverOldTheSample) {
    LagTracker tracker;
    tracker.sample(kT0, 1000);
    EXPECT_EQ(tracker.lag(1000, kT0 + std::chrono::hours(1)), milliseconds(0));
    EXPECT_EQ(tracker.lag(2000, kT0 + milliseconds(5)), milliseconds(0));
}

TEST(LagTracker, LagIsTheTimeSinceTheFirstPositionBeyondTheReplay) {
    LagTracker tracker;
    tracker.sample(kT0, 1000);
    tracker.sample(kT0 + milliseconds(100), 1000);  // idle primary: not a new sighting
    tracker.sample(kT0 + milliseconds(200), 1500);
    tracker.sample(kT0 + milliseconds(300), 2000);
    auto now = kT0 + milliseconds(1000);
    EXPECT_EQ(tracker.lag(1000, now), milliseconds(800));  // 1500 first seen at +200
    EXPECT_EQ(tracker.lag(1499, now), milliseconds(800));
    EXPECT_EQ(tracker.lag(1500, now), milliseconds(700));  // 2000 first seen at +300
    EXPECT_EQ(tracker.lag(999, now), milliseconds(1000));
    EXPECT_EQ(tracker.lag(2000, now), milliseconds(0));
    EXPECT_EQ(tracker.size(), 3u);
    EXPECT_EQ(tracker.latest(), 2000u);
}

TEST(LagTracker, CutHistoryGivesALowerBound) {
    LagTracker tracker(2);
    tracker.sample(kT0, 100);
    tracker.sample(kT0 + milliseconds(10), 200);
    tracker.sample(kT0 + milliseconds(20), 300);
    EXPECT_EQ(tracker.size(), 2u);
    EXPECT_EQ(tracker.lag(50, kT0 + milliseconds(100)), milliseconds(90));
}

TEST(LagTracker, APositionGoingBackStartsAgain) {
    LagTracker tracker;
    tracker.sample(kT0, 5000);
    tracker.sample(kT0 + milliseconds(10), 100);
    EXPECT_EQ(tracker.size(), 1u);
    EXPECT_EQ(tracker.latest(), 100u);
    EXPECT_EQ(tracker.lag(50, kT0 + milliseconds(30)), milliseconds(20));
}

}  // namespace
}  // namespace pgrouter::probe
