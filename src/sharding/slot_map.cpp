// sharding/slot_map.cpp — builds and checks the slot → shard ranges of one database. Pure.
#include "pgrouter/sharding/slot_map.hpp"

#include <algorithm>
#include <string_view>

namespace pgrouter::sharding {
namespace {

// "slot 7 is" / "slots 500-511 are", with the verb in the right number.
std::string span_text(std::uint64_t first, std::uint64_t last, std::string_view one,
                      std::string_view many) {
    if (first == last) {
        return "slot " + std::to_string(first) + " " + std::string(one);
    }
    return "slots " + std::to_string(first) + "-" + std::to_string(last) + " " + std::string(many);
}

std::string shard_name(std::uint32_t shard) {
    return "shards[" + std::to_string(shard) + "]";
}

SlotMapBuild failed(std::string error) {
    SlotMapBuild build;
    build.error = std::move(error);
    return build;
}

}  // namespace

SlotMapBuild SlotMap::build(std::uint32_t slots, const std::vector<config::ShardConfig>& shards) {
    if (slots == 0) {
        return failed("slots must be at least 1");
    }
    if (shards.empty()) {
        return failed("no shards");
    }
    SlotMap map;
    map.slots_ = slots;
    for (std::size_t s = 0; s < shards.size(); ++s) {
        const auto shard = static_cast<std::uint32_t>(s);
        if (shards[s].slots.empty()) {
            return failed(shard_name(shard) + " has no slots");
        }
        for (const config::SlotRange& range : shards[s].slots) {
            if (range.first > range.last) {
                return failed(shard_name(shard) + ": range " + std::to_string(range.first) + "-" +
                              std::to_string(range.last) + " ends before it starts");
            }
            if (range.last >= slots) {
                return failed(shard_name(shard) + ": range " + std::to_string(range.first) + "-" +
                              std::to_string(range.last) + " goes past the last slot " +
                              std::to_string(slots - 1));
            }
            map.ranges_.push_back(Range{range.first, range.last, shard});
        }
    }
    std::sort(map.ranges_.begin(), map.ranges_.end(),
              [](const Range& a, const Range& b) { return a.first < b.first; });
    std::uint64_t next = 0;  // the first slot no range has covered yet
    for (std::size_t i = 0; i < map.ranges_.size(); ++i) {
        const Range& range = map.ranges_[i];
        if (range.first < next) {
            const Range& before = map.ranges_[i - 1];
            const std::uint64_t shared_last = std::min<std::uint64_t>(before.last, range.last);
            return failed(span_text(range.first, shared_last, "is", "are") + " in both " +
                          shard_name(before.shard) + " and " + shard_name(range.shard));
        }
        if (range.first > next) {
            return failed(span_text(next, range.first - 1, "belongs", "belong") + " to no shard");
        }
        next = std::uint64_t{range.last} + 1;
    }
    if (next < slots) {
        return failed(span_text(next, slots - 1, "belongs", "belong") + " to no shard");
    }
    SlotMapBuild build;
    build.map = std::move(map);
    return build;
}

std::optional<std::size_t> SlotMap::shard_for(std::uint32_t slot) const noexcept {
    if (slot >= slots_) {
        return std::nullopt;
    }
    // The last range starting at or before `slot`; the ranges tile 0..slots-1, so it holds it.
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), slot,
                               [](std::uint32_t s, const Range& range) { return s < range.first; });
    return std::prev(it)->shard;
}

}  // namespace pgrouter::sharding
