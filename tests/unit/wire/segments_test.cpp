// Unit tests for wire::Segments, the batch builder of forwarded and own bytes.
#include "pgrouter/wire/segments.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgrouter::wire {
namespace {

std::string gather(const Segments& segments, std::span<const std::uint8_t> borrowed) {
    std::string out;
    segments.for_each(borrowed, [&](std::span<const std::uint8_t> s) {
        out.append(reinterpret_cast<const char*>(s.data()), s.size());
    });
    return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(Segments, AdjacentBorrowedSlicesJoin) {
    const std::string buffer = "abcdefgh";
    Segments segments;
    segments.borrow(0, 3);
    segments.borrow(3, 2);
    EXPECT_EQ(segments.slices(), 1u);
    EXPECT_EQ(gather(segments, bytes_of(buffer)), "abcde");
}

TEST(Segments, OwnBytesKeepTheirPlaceBetweenBorrowedOnes) {
    const std::string buffer = "abcdefgh";
    Segments segments;
    segments.borrow(0, 2);
    std::size_t mark = segments.own_mark();
    segments.own().push_back('X');
    segments.commit_own(mark);
    segments.append_own(bytes_of("YZ"));  // joins the own slice before it
    segments.borrow(4, 2);
    EXPECT_EQ(segments.slices(), 3u);
    EXPECT_EQ(segments.bytes(), 7u);
    EXPECT_EQ(gather(segments, bytes_of(buffer)), "abXYZef");
}

TEST(Segments, AGapBetweenBorrowedSlicesIsNotJoined) {
    const std::string buffer = "abcdefgh";
    Segments segments;
    segments.borrow(0, 2);
    segments.borrow(3, 2);  // 'c' is left out (a message answered by pgrouter itself)
    EXPECT_EQ(gather(segments, bytes_of(buffer)), "abde");
}

TEST(Segments, EmptyCommitsAddNothingAndClearKeepsNothing) {
    Segments segments;
    segments.commit_own(segments.own_mark());
    segments.borrow(5, 0);
    EXPECT_TRUE(segments.empty());
    segments.append_own(bytes_of("q"));
    segments.clear();
    EXPECT_TRUE(segments.empty());
    EXPECT_EQ(segments.bytes(), 0u);
}

}  // namespace
}  // namespace pgrouter::wire
