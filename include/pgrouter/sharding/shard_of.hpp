// pgrouter/sharding/shard_of.hpp — which slot, shard and primary one key of one table belongs to:
// what `pgrouter shard-of` prints. Pure (the CLI only loads the config and prints); allocates, so
// it is for tools and start-up, not the data path (that one keeps a SlotMap per snapshot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pgrouter/config/config.hpp"

namespace pgrouter::sharding {

struct ShardOf {
    std::uint64_t hash = 0;  // shard_hash of the key (not what picks the slot under modulo)
    std::uint32_t slot = 0;
    std::size_t shard = 0;  // index into DatabaseConfig::shards
    config::Address primary;
};

enum class ShardOfError : std::uint8_t {
    None,
    NotSharded,   // the database has no shards
    NoSuchTable,  // not one of the database's sharded tables
    BadKey,       // the key text is not a value of the table's key type
    BadConfig,    // slot ranges or function unusable (normally refused when the config loads)
};

struct ShardOfResult {
    ShardOf value;  // meaningful only when ok()
    ShardOfError error = ShardOfError::None;
    std::string message;  // for the operator, e.g. `table 'users' is not sharded in database 'app'`

    bool ok() const noexcept { return error == ShardOfError::None; }
};

// `table` is compared exactly with ShardedTable::name; `key_text` is read by key_from_text.
[[nodiscard]] ShardOfResult shard_of(const config::DatabaseConfig& database, std::string_view table,
                                     std::string_view key_text);

// "slot=<n> shard=<i> primary=<host:port>", the line `pgrouter shard-of` prints.
std::string format_shard_of(const ShardOf& value);

}  // namespace pgrouter::sharding
