// pgrouter/sharding/shard_hash.hpp — the shard hash and key → slot, exactly as README "Shard hash"
// defines them (operators and backfill scripts compute the same numbers elsewhere). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "pgrouter/config/config.hpp"
#include "pgrouter/sharding/shard_key.hpp"

namespace pgrouter::sharding {

inline constexpr std::uint64_t kShardHashSeed = 0;

// XXH3-64 with seed 0 over `bytes`.
[[nodiscard]] std::uint64_t shard_hash(std::span<const std::uint8_t> bytes) noexcept;
// shard_hash(key.hash_bytes()).
[[nodiscard]] std::uint64_t shard_hash(const ShardKey& key) noexcept;

// hash mod slots. slots > 0.
[[nodiscard]] std::uint32_t slot_of_hash(std::uint64_t hash, std::uint32_t slots) noexcept;
// `function: modulo`: the mathematical (non-negative) key mod slots, ((key % slots) + slots) %
// slots, so -1 goes to the last slot. slots > 0.
[[nodiscard]] std::uint32_t slot_of_modulo(std::int64_t key, std::uint32_t slots) noexcept;

// The slot of `key` under the database's sharding function. nullopt when slots is 0 or the
// function is modulo and the key is not an integer (both refused by config validation).
[[nodiscard]] std::optional<std::uint32_t> slot_of(const ShardKey& key,
                                                   const config::ShardingConfig& sharding) noexcept;

}  // namespace pgrouter::sharding
