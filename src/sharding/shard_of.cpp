// sharding/shard_of.cpp — table + key text → slot, shard and primary, for `pgrouter shard-of`.
// Pure; builds a SlotMap per call, which is fine for a tool and wrong for the data path.
#include "pgrouter/sharding/shard_of.hpp"

#include "pgrouter/sharding/shard_hash.hpp"
#include "pgrouter/sharding/shard_key.hpp"
#include "pgrouter/sharding/slot_map.hpp"

namespace pgrouter::sharding {
namespace {

ShardOfResult failed(ShardOfError error, std::string message) {
    ShardOfResult result;
    result.error = error;
    result.message = std::move(message);
    return result;
}

}  // namespace

ShardOfResult shard_of(const config::DatabaseConfig& database, std::string_view table,
                       std::string_view key_text) {
    const std::string where = "database '" + database.name + "'";
    if (database.shards.empty()) {
        return failed(ShardOfError::NotSharded, where + " is not sharded");
    }
    const config::ShardingConfig& sharding = database.sharding;
    const config::ShardedTable* found = nullptr;
    for (const config::ShardedTable& candidate : sharding.tables) {
        if (candidate.name == table) {
            found = &candidate;
            break;
        }
    }
    if (found == nullptr) {
        return failed(ShardOfError::NoSuchTable,
                      "table '" + std::string(table) + "' is not sharded in " + where);
    }
    const KeyParse parsed = key_from_text(key_text, found->type);
    if (!parsed.ok()) {
        return failed(ShardOfError::BadKey, describe(parsed.error, found->type, key_text));
    }
    SlotMapBuild built = SlotMap::build(sharding.slots, database.shards);
    if (!built.ok()) {
        return failed(ShardOfError::BadConfig, where + ": " + built.error);
    }
    const std::optional<std::uint32_t> slot = slot_of(parsed.key, sharding);
    if (!slot) {
        return failed(ShardOfError::BadConfig, where +
                                                   ": function modulo needs an integer key, "
                                                   "table '" +
                                                   found->name + "' has a " +
                                                   std::string(to_string(found->type)) + " key");
    }
    ShardOfResult result;
    result.value.hash = shard_hash(parsed.key);
    result.value.slot = *slot;
    result.value.shard = *built.map->shard_for(*slot);
    result.value.primary = database.shards[result.value.shard].primary;
    return result;
}

std::string format_shard_of(const ShardOf& value) {
    return "slot=" + std::to_string(value.slot) + " shard=" + std::to_string(value.shard) +
           " primary=" + value.primary.to_string();
}

}  // namespace pgrouter::sharding
