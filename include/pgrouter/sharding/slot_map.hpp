// pgrouter/sharding/slot_map.hpp — slot → shard index for one sharded database, built once per
// config snapshot from its shard list. Pure; building allocates, looking up does not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pgrouter/config/config.hpp"

namespace pgrouter::sharding {

struct SlotMapBuild;

class SlotMap {
public:
    struct Range {
        std::uint32_t first = 0;  // inclusive
        std::uint32_t last = 0;   // inclusive
        std::uint32_t shard = 0;  // index into DatabaseConfig::shards
    };

    // Checks that the shards' ranges cover every slot 0..slots-1 exactly once and returns the
    // map, or the first problem found ("slots 500-511 are in both shards[0] and shards[1]").
    [[nodiscard]] static SlotMapBuild build(std::uint32_t slots,
                                            const std::vector<config::ShardConfig>& shards);

    // The shard owning `slot`; nullopt when slot >= slots(). Binary search over the ranges (a
    // few per shard), so the map stays small whatever the slot count.
    std::optional<std::size_t> shard_for(std::uint32_t slot) const noexcept;

    std::uint32_t slots() const noexcept { return slots_; }
    const std::vector<Range>& ranges() const noexcept { return ranges_; }  // sorted by first

private:
    std::uint32_t slots_ = 0;
    std::vector<Range> ranges_;
};

struct SlotMapBuild {
    std::optional<SlotMap> map;  // set only when `error` is empty
    std::string error;

    bool ok() const noexcept { return map.has_value(); }
};

}  // namespace pgrouter::sharding
