// Unit tests for sharding::shard_of and format_shard_of: what `pgrouter shard-of` prints, from a
// DatabaseConfig built by hand.
#include "pgrouter/sharding/shard_of.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace pgrouter::sharding {
namespace {

using config::ShardKeyType;

config::Address at(std::string host, std::uint16_t port) {
    config::Address address;
    address.host = std::move(host);
    address.port = port;
    return address;
}

config::ShardConfig shard(std::uint32_t first, std::uint32_t last, config::Address primary) {
    config::ShardConfig shard;
    config::SlotRange range;
    range.first = first;
    range.last = last;
    shard.slots.push_back(range);
    shard.primary = std::move(primary);
    return shard;
}

config::ShardedTable table(std::string name, ShardKeyType type) {
    config::ShardedTable table;
    table.name = std::move(name);
    table.key = "id";
    table.type = type;
    return table;
}

// Two shards of 1024 slots: 0-511 on 10.0.0.1, 512-1023 on 10.0.0.2 (and one IPv6 primary).
config::DatabaseConfig app(config::ShardFunction function = config::ShardFunction::Xxh3) {
    config::DatabaseConfig database;
    database.name = "app";
    database.dbname = "app";
    database.sharding.function = function;
    database.sharding.slots = 1024;
    database.sharding.tables = {
        table("accounts", ShardKeyType::Bigint), table("users", ShardKeyType::Text),
        table("sessions", ShardKeyType::Uuid), table("flags", ShardKeyType::Smallint)};
    database.shards = {shard(0, 511, at("10.0.0.1", 5432)), shard(512, 1023, at("::1", 6432))};
    return database;
}

TEST(ShardOf, KeyFortyTwo) {
    ShardOfResult result = shard_of(app(), "accounts", "42");
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(result.value.hash, 0xd5a6f8c838df27c8ULL);  // golden vector (shard_hash_test.cpp)
    EXPECT_EQ(result.value.slot, 968u);
    EXPECT_EQ(result.value.shard, 1u);
    EXPECT_EQ(format_shard_of(result.value), "slot=968 shard=1 primary=[::1]:6432");
}

TEST(ShardOf, EveryKeyType) {
    ShardOfResult minus_one = shard_of(app(), "accounts", " -1 ");
    ASSERT_TRUE(minus_one.ok()) << minus_one.message;
    EXPECT_EQ(format_shard_of(minus_one.value), "slot=19 shard=0 primary=10.0.0.1:5432");
    ShardOfResult alice = shard_of(app(), "users", "alice");
    ASSERT_TRUE(alice.ok()) << alice.message;
    EXPECT_EQ(format_shard_of(alice.value), "slot=688 shard=1 primary=[::1]:6432");
    ShardOfResult uuid = shard_of(app(), "sessions", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11");
    ASSERT_TRUE(uuid.ok()) << uuid.message;
    EXPECT_EQ(format_shard_of(uuid.value), "slot=871 shard=1 primary=[::1]:6432");
    ShardOfResult small = shard_of(app(), "flags", "42");
    ASSERT_TRUE(small.ok()) << small.message;
    EXPECT_EQ(small.value.slot, 968u);
}

TEST(ShardOf, Modulo) {
    config::DatabaseConfig database = app(config::ShardFunction::Modulo);
    ShardOfResult result = shard_of(database, "accounts", "42");
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(format_shard_of(result.value), "slot=42 shard=0 primary=10.0.0.1:5432");
    result = shard_of(database, "accounts", "-1");
    ASSERT_TRUE(result.ok()) << result.message;
    EXPECT_EQ(format_shard_of(result.value), "slot=1023 shard=1 primary=[::1]:6432");
    result = shard_of(database, "users", "alice");
    EXPECT_EQ(result.error, ShardOfError::BadConfig);
    EXPECT_EQ(result.message,
              "database 'app': function modulo needs an integer key, table 'users' has a text key");
}

TEST(ShardOf, Errors) {
    config::DatabaseConfig plain;
    plain.name = "plain";
    ShardOfResult result = shard_of(plain, "accounts", "42");
    EXPECT_EQ(result.error, ShardOfError::NotSharded);
    EXPECT_EQ(result.message, "database 'plain' is not sharded");

    result = shard_of(app(), "Accounts", "42");
    EXPECT_EQ(result.error, ShardOfError::NoSuchTable);
    EXPECT_EQ(result.message, "table 'Accounts' is not sharded in database 'app'");

    result = shard_of(app(), "accounts", "4.0");
    EXPECT_EQ(result.error, ShardOfError::BadKey);
    EXPECT_EQ(result.message, "invalid input syntax for type bigint: \"4.0\"");
    result = shard_of(app(), "flags", "70000");
    EXPECT_EQ(result.error, ShardOfError::BadKey);
    EXPECT_EQ(result.message, "value \"70000\" is out of range for type smallint");
    result = shard_of(app(), "sessions", "not-a-uuid");
    EXPECT_EQ(result.error, ShardOfError::BadKey);

    config::DatabaseConfig gap = app();
    gap.shards[1].slots[0].first = 600;
    result = shard_of(gap, "accounts", "42");
    EXPECT_EQ(result.error, ShardOfError::BadConfig);
    EXPECT_EQ(result.message, "database 'app': slots 512-599 belong to no shard");
}

}  // namespace
}  // namespace pgrouter::sharding
