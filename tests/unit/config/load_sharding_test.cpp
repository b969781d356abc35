// tests/unit/config/load_sharding_test.cpp — parse_config on the keys of issue 8: a database's
// `sharding:` block and `shards:` list. Valid input here; the errors are in
// load_sharding_errors_test.cpp.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "pgrouter/config/load.hpp"
#include "pgrouter/config/validate.hpp"

namespace pgrouter::config {
namespace {

std::string join(std::initializer_list<std::string_view> lines) {
    std::string text;
    for (std::string_view line : lines) {
        text += line;
        text += '\n';
    }
    return text;
}

std::string dump_errors(const LoadResult& result) {
    std::string out;
    for (const ConfigError& error : result.errors) {
        out += format_error(error, "test.yaml") + "\n";
    }
    return out;
}

const std::string kHead = join({
    "listen: 127.0.0.1:6432",
    "users:",
    "  - name: app",
    "    password: secret",
});

// The shape from the issue, word for word.
const std::string kIssueShape = join({
    "databases:",
    "  app:",
    "    sharding:",
    "      function: xxh3               # xxh3 | modulo (integer keys only: key mod number of "
    "slots)",
    "      slots: 1024                  # hash % slots picks a slot; each shard owns slot ranges",
    "      tables:",
    "        accounts: { key: user_id, type: bigint }",
    "        orders:   { key: user_id, type: bigint }",
    "        notes:    { key: owner, type: text }",
    "      reference_tables: [countries]  # a full copy on every shard",
    "      cross_shard_writes: error      # error | all",
    "    shards:",
    "      - { slots: \"0-511\",    primary: \"127.0.0.1:5441\", replicas: "
    "[\"127.0.0.1:5443\"] }",
    "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",
});

// A valid sharded database "app" whose shards are given by the caller.
std::string with_shards(std::initializer_list<std::string_view> shards,
                        std::string_view function = "xxh3", std::string_view slots = "1024") {
    return kHead + join({"databases:", "  app:", "    sharding:"}) +
           "      function: " + std::string(function) + "\n" +
           "      slots: " + std::string(slots) + "\n" +
           join({"      tables:", "        accounts: { key: id, type: bigint }", "    shards:"}) +
           join(shards);
}

Config parse_ok(const std::string& yaml) {
    LoadResult result = parse_config(yaml);
    EXPECT_TRUE(result.ok()) << dump_errors(result);
    return result.ok() ? std::move(*result.config) : Config{};
}

TEST(ParseSharding, TheIssueShapeParsesToTheExpectedStructs) {
    const Config config = parse_ok(kHead + kIssueShape);
    ASSERT_EQ(config.databases.size(), 1u);
    const DatabaseConfig& database = config.databases[0];
    EXPECT_EQ(database.name, "app");
    EXPECT_EQ(database.dbname, "app");

    const ShardingConfig& sharding = database.sharding;
    EXPECT_EQ(sharding.function, ShardFunction::Xxh3);
    EXPECT_EQ(sharding.slots, 1024u);
    ASSERT_EQ(sharding.tables.size(), 3u);
    EXPECT_EQ(sharding.tables[0].name, "accounts");
    EXPECT_EQ(sharding.tables[0].key, "user_id");
    EXPECT_EQ(sharding.tables[0].type, ShardKeyType::Bigint);
    EXPECT_EQ(sharding.tables[1].name, "orders");
    EXPECT_EQ(sharding.tables[1].key, "user_id");
    EXPECT_EQ(sharding.tables[1].type, ShardKeyType::Bigint);
    EXPECT_EQ(sharding.tables[2].name, "notes");
    EXPECT_EQ(sharding.tables[2].key, "owner");
    EXPECT_EQ(sharding.tables[2].type, ShardKeyType::Text);
    ASSERT_EQ(sharding.reference_tables.size(), 1u);
    EXPECT_EQ(sharding.reference_tables[0], "countries");
    EXPECT_EQ(sharding.cross_shard_writes, CrossShardWrites::Error);

    ASSERT_EQ(database.shards.size(), 2u);
    const ShardConfig& first = database.shards[0];
    ASSERT_EQ(first.slots.size(), 1u);
    EXPECT_EQ(first.slots[0], (SlotRange{0, 511}));
    EXPECT_EQ(first.primary, (Address{"127.0.0.1", 5441}));
    ASSERT_EQ(first.replicas.size(), 1u);
    EXPECT_EQ(first.replicas[0], (Address{"127.0.0.1", 5443}));
    const ShardConfig& second = database.shards[1];
    ASSERT_EQ(second.slots.size(), 1u);
    EXPECT_EQ(second.slots[0], (SlotRange{512, 1023}));
    EXPECT_EQ(second.primary, (Address{"127.0.0.1", 5442}));
    EXPECT_TRUE(second.replicas.empty());
}

TEST(ParseSharding, ASharedDatabaseLooksLikeItsFirstShardToTheRestOfPgrouter) {
    const Config config = parse_ok(kHead + kIssueShape);
    const DatabaseConfig& database = config.databases.at(0);
    EXPECT_EQ(database.primary, (Address{"127.0.0.1", 5441}));
    EXPECT_EQ(database.replicas, (std::vector<Address>{{"127.0.0.1", 5443}}));
}

TEST(ParseSharding, ADatabaseWithPrimaryIsNotSharded) {
    const Config config =
        parse_ok(kHead + join({"databases:", "  app:", "    primary: 127.0.0.1:5432"}));
    const DatabaseConfig& database = config.databases.at(0);
    EXPECT_TRUE(database.shards.empty());
    EXPECT_TRUE(database.sharding.tables.empty());
    EXPECT_EQ(database.primary, (Address{"127.0.0.1", 5432}));
}

TEST(ParseSharding, SlotsTakeSeveralRangesAndSingleSlots) {
    const Config config = parse_ok(with_shards({
        "      - { slots: \"0-255, 512-767\", primary: \"127.0.0.1:5441\" }",
        "      - slots: 256-511,768-1022",  // unquoted works too
        "        primary: 127.0.0.1:5442",
        "      - { slots: 1023, primary: \"127.0.0.1:5444\" }",  // a YAML integer
    }));
    const auto& shards = config.databases.at(0).shards;
    ASSERT_EQ(shards.size(), 3u);
    ASSERT_EQ(shards[0].slots.size(), 2u);
    EXPECT_EQ(shards[0].slots[0], (SlotRange{0, 255}));
    EXPECT_EQ(shards[0].slots[1], (SlotRange{512, 767}));
    ASSERT_EQ(shards[1].slots.size(), 2u);
    EXPECT_EQ(shards[1].slots[0], (SlotRange{256, 511}));
    EXPECT_EQ(shards[1].slots[1], (SlotRange{768, 1022}));
    ASSERT_EQ(shards[2].slots.size(), 1u);
    EXPECT_EQ(shards[2].slots[0], (SlotRange{1023, 1023}));
}

TEST(ParseSharding, SpacesAroundTheDashAreAllowed) {
    const Config config = parse_ok(with_shards({
        "      - { slots: \" 0 - 511 \", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"512 -1023\", primary: \"127.0.0.1:5442\" }",
    }));
    EXPECT_EQ(config.databases.at(0).shards.at(1).slots.at(0), (SlotRange{512, 1023}));
}

TEST(ParseSharding, OneShardMayOwnEverySlot) {
    const Config config = parse_ok(
        with_shards({"      - { slots: \"0\", primary: \"127.0.0.1:5441\" }"}, "xxh3", "1"));
    EXPECT_EQ(config.databases.at(0).sharding.slots, 1u);
    EXPECT_EQ(config.databases.at(0).shards.size(), 1u);
}

TEST(ParseSharding, TheLargestSlotCountIsAccepted) {
    const Config config = parse_ok(with_shards(
        {
            "      - { slots: \"0-499999\", primary: \"127.0.0.1:5441\" }",
            "      - { slots: \"500000-999999\", primary: \"127.0.0.1:5442\" }",
        },
        "xxh3", "1000000"));
    EXPECT_EQ(config.databases.at(0).sharding.slots, kMaxShardSlots);
}

TEST(ParseSharding, NamesAreFoldedToLowerCaseAndTypeAliasesAccepted) {
    const Config config = parse_ok(kHead + join({
                                               "databases:",
                                               "  app:",
                                               "    sharding:",
                                               "      function: modulo",
                                               "      slots: 4",
                                               "      tables:",
                                               "        Accounts: { key: User_ID, type: int8 }",
                                               "        b: { key: k, type: int4 }",
                                               "        c: { key: k, type: int }",
                                               "        d: { key: k, type: int2 }",
                                               "        e: { key: k, type: integer }",
                                               "        f: { key: k, type: smallint }",
                                               "      reference_tables: [Countries, currencies]",
                                               "      cross_shard_writes: all",
                                               "    shards:",
                                               "      - { slots: \"0-3\", primary: \"a:1\" }",
                                           }));
    const ShardingConfig& sharding = config.databases.at(0).sharding;
    EXPECT_EQ(sharding.function, ShardFunction::Modulo);
    EXPECT_EQ(sharding.cross_shard_writes, CrossShardWrites::All);
    ASSERT_EQ(sharding.tables.size(), 6u);
    EXPECT_EQ(sharding.tables[0].name, "accounts");
    EXPECT_EQ(sharding.tables[0].key, "user_id");
    EXPECT_EQ(sharding.tables[0].type, ShardKeyType::Bigint);
    EXPECT_EQ(sharding.tables[1].type, ShardKeyType::Integer);
    EXPECT_EQ(sharding.tables[2].type, ShardKeyType::Integer);
    EXPECT_EQ(sharding.tables[3].type, ShardKeyType::Smallint);
    EXPECT_EQ(sharding.tables[4].type, ShardKeyType::Integer);
    EXPECT_EQ(sharding.tables[5].type, ShardKeyType::Smallint);
    EXPECT_EQ(sharding.reference_tables, (std::vector<std::string>{"countries", "currencies"}));
}

TEST(ParseSharding, CrossShardWritesDefaultsToError) {
    const Config config =
        parse_ok(with_shards({"      - { slots: \"0-1023\", primary: \"a:1\" }"}));
    EXPECT_EQ(config.databases.at(0).sharding.cross_shard_writes, CrossShardWrites::Error);
    EXPECT_TRUE(config.databases.at(0).sharding.reference_tables.empty());
}

TEST(ParseSharding, RoutingAndSessionStateStillApplyToAShardedDatabase) {
    const Config config = parse_ok(kHead + "routing: { read_from: primary }\n" + kIssueShape +
                                   join({
                                       "    routing: { read_from: any }",
                                       "    on_session_state: error",
                                       "    dbname: app_db",
                                   }));
    const DatabaseConfig& database = config.databases.at(0);
    EXPECT_EQ(config.routing.read_from, ReadFrom::Primary);
    EXPECT_EQ(database.routing.read_from, ReadFrom::Any);
    EXPECT_EQ(database.on_session_state, SessionStatePolicy::Error);
    EXPECT_EQ(database.dbname, "app_db");
    EXPECT_EQ(database.shards.size(), 2u);
}

TEST(ParseSharding, ShardedAndPlainDatabasesMix) {
    const Config config =
        parse_ok(kHead + kIssueShape + join({"  plain:", "    primary: 127.0.0.1:5441"}));
    ASSERT_EQ(config.databases.size(), 2u);
    EXPECT_EQ(config.databases[1].name, "plain");
    EXPECT_TRUE(config.databases[1].shards.empty());
}

TEST(ParseSharding, TheHealthCheckUserIsChosenAsForReplicas) {
    const Config config = parse_ok(kHead + kIssueShape);
    EXPECT_EQ(config.health_check_user, "app");
}

// A Config built in code gets the same checks, and must make the first-shard copy itself.
DatabaseConfig code_built_database() {
    DatabaseConfig database;
    database.name = "app";
    database.dbname = "app";
    database.sharding.slots = 8;
    ShardedTable table;
    table.name = "accounts";
    table.key = "id";
    database.sharding.tables.push_back(table);
    ShardConfig first;
    first.slots = {SlotRange{0, 3}};
    first.primary = Address{"a", 1};
    ShardConfig second;
    second.slots = {SlotRange{4, 7}};
    second.primary = Address{"b", 1};
    database.shards = {first, second};
    database.primary = first.primary;
    return database;
}

Config code_built_config() {
    Config config;
    config.listen = Address{"127.0.0.1", 6432};
    UserConfig user;
    user.name = "app";
    user.auth = AuthMethod::Trust;
    config.users.push_back(user);
    config.health_check_user = "app";
    config.databases.push_back(code_built_database());
    return config;
}

TEST(ValidateSharding, ACodeBuiltShardedConfigIsValid) {
    const std::vector<ConfigError> errors = validate_config(code_built_config());
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors[0].key + ": " + errors[0].message);
}

TEST(ValidateSharding, ACodeBuiltConfigMustCopyTheFirstShardsServers) {
    Config config = code_built_config();
    config.databases[0].primary = Address{"b", 1};
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].key, "databases.app.primary");
    EXPECT_NE(errors[0].message.find("first shard"), std::string::npos) << errors[0].message;
}

TEST(ValidateSharding, ACodeBuiltConfigGetsTheCoverageChecks) {
    Config config = code_built_config();
    config.databases[0].shards[1].slots = {SlotRange{5, 9}};
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].key, "databases.app.shards[1].slots");
    EXPECT_EQ(errors[0].message, "slots 8-9 are out of range: sharding.slots is 8 (slots 0 to 7)");
    EXPECT_EQ(errors[1].key, "databases.app.shards");
    EXPECT_EQ(errors[1].message,
              "slot 4 belongs to no shard (every slot from 0 to 7 needs exactly one shard)");
}

}  // namespace
}  // namespace pgrouter::config
