// Unit tests for sharding::SlotMap: lookups, and every way slot ranges can fail to tile the slots.
#include "pgrouter/sharding/slot_map.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace pgrouter::sharding {
namespace {

config::ShardConfig shard(std::vector<config::SlotRange> slots, std::uint16_t port = 5432) {
    config::ShardConfig shard;
    shard.slots = std::move(slots);
    shard.primary.host = "10.0.0.1";
    shard.primary.port = port;
    return shard;
}

config::SlotRange range(std::uint32_t first, std::uint32_t last) {
    config::SlotRange range;
    range.first = first;
    range.last = last;
    return range;
}

std::string error_of(std::uint32_t slots, std::vector<config::ShardConfig> shards) {
    SlotMapBuild built = SlotMap::build(slots, shards);
    EXPECT_FALSE(built.ok());
    return built.error;
}

TEST(SlotMap, TwoHalves) {
    SlotMapBuild built = SlotMap::build(1024, {shard({range(0, 511)}), shard({range(512, 1023)})});
    ASSERT_TRUE(built.ok()) << built.error;
    const SlotMap& map = *built.map;
    EXPECT_EQ(map.slots(), 1024u);
    EXPECT_EQ(map.shard_for(0), 0u);
    EXPECT_EQ(map.shard_for(511), 0u);
    EXPECT_EQ(map.shard_for(512), 1u);
    EXPECT_EQ(map.shard_for(968), 1u);
    EXPECT_EQ(map.shard_for(1023), 1u);
    EXPECT_FALSE(map.shard_for(1024));
}

TEST(SlotMap, InterleavedRangesInAnyOrder) {
    SlotMapBuild built = SlotMap::build(
        16, {shard({range(12, 15), range(0, 3)}), shard({range(4, 7)}), shard({range(8, 11)})});
    ASSERT_TRUE(built.ok()) << built.error;
    const std::vector<std::size_t> expected{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0};
    for (std::uint32_t slot = 0; slot < 16; ++slot) {
        EXPECT_EQ(built.map->shard_for(slot), expected[slot]) << slot;
    }
    ASSERT_EQ(built.map->ranges().size(), 4u);
    EXPECT_EQ(built.map->ranges().front().first, 0u);
    EXPECT_EQ(built.map->ranges().back().shard, 0u);
}

TEST(SlotMap, SingleSlotsAndOneShard) {
    SlotMapBuild one = SlotMap::build(1, {shard({range(0, 0)})});
    ASSERT_TRUE(one.ok()) << one.error;
    EXPECT_EQ(one.map->shard_for(0), 0u);
    SlotMapBuild singles =
        SlotMap::build(3, {shard({range(1, 1)}), shard({range(0, 0), range(2, 2)})});
    ASSERT_TRUE(singles.ok()) << singles.error;
    EXPECT_EQ(singles.map->shard_for(0), 1u);
    EXPECT_EQ(singles.map->shard_for(1), 0u);
    EXPECT_EQ(singles.map->shard_for(2), 1u);
}

TEST(SlotMap, LargestSlotCountStaysSmall) {
    SlotMapBuild built = SlotMap::build(
        0xffffffffu, {shard({range(0, 0x7fffffff)}), shard({range(0x80000000u, 0xfffffffeu)})});
    ASSERT_TRUE(built.ok()) << built.error;
    EXPECT_EQ(built.map->shard_for(0xfffffffeu), 1u);
    EXPECT_EQ(built.map->shard_for(0x7fffffff), 0u);
    EXPECT_FALSE(built.map->shard_for(0xffffffffu));
}

TEST(SlotMap, Errors) {
    EXPECT_EQ(error_of(0, {shard({range(0, 0)})}), "slots must be at least 1");
    EXPECT_EQ(error_of(1024, {}), "no shards");
    EXPECT_EQ(error_of(1024, {shard({range(0, 1023)}), shard({})}), "shards[1] has no slots");
    EXPECT_EQ(error_of(1024, {shard({range(0, 1024)})}),
              "shards[0]: range 0-1024 goes past the last slot 1023");
    EXPECT_EQ(error_of(1024, {shard({range(600, 500)})}),
              "shards[0]: range 600-500 ends before it starts");
    EXPECT_EQ(error_of(1024, {shard({range(0, 511)}), shard({range(500, 1023)})}),
              "slots 500-511 are in both shards[0] and shards[1]");
    EXPECT_EQ(error_of(1024, {shard({range(0, 1023)}), shard({range(7, 7)})}),
              "slot 7 is in both shards[0] and shards[1]");
    EXPECT_EQ(error_of(1024, {shard({range(0, 499)}), shard({range(512, 1023)})}),
              "slots 500-511 belong to no shard");
    EXPECT_EQ(error_of(1024, {shard({range(1, 1023)})}), "slot 0 belongs to no shard");
    EXPECT_EQ(error_of(1024, {shard({range(0, 1022)})}), "slot 1023 belongs to no shard");
}

}  // namespace
}  // namespace pgrouter::sharding
