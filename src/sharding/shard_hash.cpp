// sharding/shard_hash.cpp — XXH3-64 (seed 0) over the key bytes, and hash or key → slot. The one
// place the shard hash is computed; README "Shard hash" is its specification.
#include "pgrouter/sharding/shard_hash.hpp"

#include <xxhash.h>

namespace pgrouter::sharding {

std::uint64_t shard_hash(std::span<const std::uint8_t> bytes) noexcept {
    return XXH3_64bits_withSeed(bytes.data(), bytes.size(), kShardHashSeed);
}

std::uint64_t shard_hash(const ShardKey& key) noexcept {
    return shard_hash(key.hash_bytes());
}

std::uint32_t slot_of_hash(std::uint64_t hash, std::uint32_t slots) noexcept {
    return static_cast<std::uint32_t>(hash % slots);
}

std::uint32_t slot_of_modulo(std::int64_t key, std::uint32_t slots) noexcept {
    // C++'s % keeps the sign of the key; operators expect -1 in the last slot, not slot -1.
    const auto n = static_cast<std::int64_t>(slots);
    return static_cast<std::uint32_t>(((key % n) + n) % n);
}

std::optional<std::uint32_t> slot_of(const ShardKey& key,
                                     const config::ShardingConfig& sharding) noexcept {
    if (sharding.slots == 0) {
        return std::nullopt;
    }
    if (sharding.function == config::ShardFunction::Modulo) {
        if (key.kind() != ShardKey::Kind::Integer) {
            return std::nullopt;
        }
        return slot_of_modulo(key.integer_value(), sharding.slots);
    }
    return slot_of_hash(shard_hash(key), sharding.slots);
}

}  // namespace pgrouter::sharding
