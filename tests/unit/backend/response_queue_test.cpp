// Unit tests for backend::ResponseQueue — hiding injected replies, placing synthetic ones.
#include "pgrouter/backend/response_queue.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgrouter::backend {
namespace {

using Kind = ResponseQueue::Kind;

// Feeds server message letters; returns what the client would see ('+' marks synthetic bytes).
std::string feed(ResponseQueue& q, const std::string& server) {
    std::string seen;
    auto emit = [&](std::span<const std::uint8_t> bytes) {
        seen += '+';
        seen.append(bytes.begin(), bytes.end());
    };
    for (char type : server) {
        q.pop_synthetic(emit);
        if (q.on_server_message(type)) {
            seen += type;
        }
    }
    q.pop_synthetic(emit);
    return seen;
}

std::span<const std::uint8_t> bytes(const char* s) {
    return {reinterpret_cast<const std::uint8_t*>(s), std::char_traits<char>::length(s)};
}

TEST(ResponseQueue, PassesEverythingWhenNothingIsHidden) {
    ResponseQueue q;
    q.push(Kind::Parse, false);
    q.push(Kind::Bind, false);
    q.push(Kind::Execute, false);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "12DDCZ"), "12DDCZ");
    EXPECT_TRUE(q.empty());
}

TEST(ResponseQueue, HidesTheReplyToAnInjectedParse) {
    ResponseQueue q;
    q.push(Kind::Parse, true);  // statement missing on this server connection
    q.push(Kind::Bind, false);
    q.push(Kind::Execute, false);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "12DCZ"), "2DCZ");
}

TEST(ResponseQueue, SyntheticReplyGoesAfterEarlierRowsAndBeforeLaterReplies) {
    ResponseQueue q;
    q.push(Kind::Bind, false);
    q.push(Kind::Execute, false);
    q.push_synthetic(bytes("1"));  // ParseComplete for a statement the server already has
    q.push(Kind::Bind, false);
    q.push(Kind::Execute, false);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "2DDC2DCZ"), "2DDC+12DCZ");
}

TEST(ResponseQueue, SyntheticAtTheFrontIsReleasedWithoutServerTraffic) {
    ResponseQueue q;
    q.push_synthetic(bytes("1"));
    std::string seen;
    q.pop_synthetic([&](std::span<const std::uint8_t> b) { seen.append(b.begin(), b.end()); });
    EXPECT_EQ(seen, "1");
    EXPECT_TRUE(q.empty());
}

TEST(ResponseQueue, ErrorSkipsToSyncDroppingSyntheticAndHiddenEntries) {
    ResponseQueue q;
    q.push(Kind::Parse, true);  // injected Parse fails: its error is the client's
    q.push(Kind::Bind, false);
    q.push_synthetic(bytes("3"));
    q.push(Kind::Execute, false);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "EZ"), "EZ");
    EXPECT_TRUE(q.empty());
}

TEST(ResponseQueue, ErrorInsideASimpleQueryWaitsForItsReadyForQuery) {
    ResponseQueue q;
    q.push(Kind::Query, false);
    q.push(Kind::Query, false);
    EXPECT_EQ(feed(q, "TDCEZ"), "TDCEZ");
    EXPECT_EQ(q.size(), 1u);
    EXPECT_EQ(feed(q, "CZ"), "CZ");
}

TEST(ResponseQueue, HiddenQueryIsSwallowedUpToItsReadyForQuery) {
    ResponseQueue q;
    q.push(Kind::Query, true);  // settings replay
    q.push(Kind::Query, false);
    EXPECT_EQ(feed(q, "CCZTDCZ"), "TDCZ");
}

TEST(ResponseQueue, AsyncMessagesAlwaysPass) {
    ResponseQueue q;
    q.push(Kind::Query, true);
    EXPECT_EQ(feed(q, "SNACZ"), "SNA");
}

TEST(ResponseQueue, DescribeStatementEndsAtRowDescriptionOrNoData) {
    ResponseQueue q;
    q.push(Kind::Describe, false);
    q.push(Kind::Describe, true);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "tTtnZ"), "tTZ");
}

TEST(ResponseQueue, ErrorAtSyncBelongsToTheSync) {
    ResponseQueue q;
    q.push(Kind::Execute, false);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "CEZ"), "CEZ");  // deferred constraint failing at the implicit COMMIT
    EXPECT_TRUE(q.empty());
}

TEST(ResponseQueue, CopyThroughExtendedExecuteEndsAtCommandComplete) {
    ResponseQueue q;
    q.push(Kind::Execute, false);
    q.push(Kind::Close, true);
    q.push(Kind::Sync, false);
    EXPECT_EQ(feed(q, "HddcC3Z"), "HddcCZ");
}

}  // namespace
}  // namespace pgrouter::backend

namespace pgrouter::backend {
namespace {

TEST(ResponseQueue, FailedAndSkippedTaggedEntriesAreReported) {
    ResponseQueue q;
    q.push(Kind::Parse, false, 1);  // fails
    const char complete[] = "1";
    q.push_synthetic(std::span(reinterpret_cast<const std::uint8_t*>(complete), 1), 2);  // skipped
    q.push(Kind::Parse, true, 3);                                                        // skipped
    q.push(Kind::Sync, false);
    q.push(Kind::Parse, false, 4);  // succeeds after the Sync
    EXPECT_EQ(feed(q, "EZ1"), "EZ1");
    std::vector<std::uint32_t> failed;
    q.take_failed([&](std::uint32_t tag) { failed.push_back(tag); });
    EXPECT_EQ(failed, (std::vector<std::uint32_t>{1, 2, 3}));
    q.take_failed([&](std::uint32_t tag) { failed.push_back(tag); });
    EXPECT_EQ(failed.size(), 3u);
}

}  // namespace
}  // namespace pgrouter::backend
