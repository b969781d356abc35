// tests/unit/config/load_sharding_errors_test.cpp — parse_config on bad `sharding:` blocks and
// `shards:` lists: every error names its key path and 1-based line (what
// `pgrouter --check-config` prints) and says what is wrong in words.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "pgrouter/config/load.hpp"

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

// Lines 1-6; the database's keys start at line 7.
const std::string kHead = join({
    "listen: 127.0.0.1:6432",  // 1
    "users:",                  // 2
    "  - name: app",           // 3
    "    password: secret",    // 4
    "databases:",              // 5
    "  app:",                  // 6
});

// Lines 7-11: a valid sharding block.
const std::string kSharding = join({
    "    sharding:",                                     // 7
    "      function: xxh3",                              // 8
    "      slots: 1024",                                 // 9
    "      tables:",                                     // 10
    "        accounts: { key: user_id, type: bigint }",  // 11
});

// Lines 12-14 after kSharding: a valid shards list.
const std::string kShards = join({
    "    shards:",                                                   // 12
    "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\" }",     // 13
    "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",  // 14
});

// kHead + kSharding, then the shards list from line 12 ("    shards:") on.
std::string with_shards(std::initializer_list<std::string_view> items) {
    return kHead + kSharding + "    shards:\n" + join(items);
}

// kHead, the sharding block from line 7 ("    sharding:") on, then kShards.
std::string with_sharding(std::initializer_list<std::string_view> lines) {
    return kHead + "    sharding:\n" + join(lines) + kShards;
}

ConfigError only_error(const std::string& yaml) {
    const LoadResult result = parse_config(yaml);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errors.size(), 1u) << dump_errors(result);
    return result.errors.empty() ? ConfigError{} : result.errors.front();
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

#define EXPECT_ERROR(error, key_, line_, text)                           \
    do {                                                                 \
        EXPECT_EQ((error).key, key_);                                    \
        EXPECT_EQ((error).line, line_);                                  \
        EXPECT_TRUE(contains((error).message, text)) << (error).message; \
    } while (false)

TEST(ParseShardingBaseline, TheFixturesAreValid) {
    const LoadResult result = parse_config(kHead + kSharding + kShards);
    EXPECT_TRUE(result.ok()) << dump_errors(result);
}

// --- primary: or shards:, not both ---

TEST(ParseShardingErrors, PrimaryAndShardsTogether) {
    const ConfigError error =
        only_error(kHead + "    primary: 127.0.0.1:5432\n" + kSharding + kShards);
    // Line 7 is primary, the sharding block is lines 8-12, shards: is line 13.
    EXPECT_ERROR(error, "databases.app.shards", 13, "either primary: (with replicas:) or shards:");
    EXPECT_TRUE(contains(error.message, "not both; primary: is at line 7")) << error.message;
}

TEST(ParseShardingErrors, ReplicasAndShardsTogether) {
    const ConfigError error =
        only_error(kHead + "    replicas: [127.0.0.1:5433]\n" + kSharding + kShards);
    EXPECT_ERROR(error, "databases.app.shards", 13, "replicas: is at line 7");
}

TEST(ParseShardingErrors, ShardingWithoutShards) {
    const ConfigError error = only_error(kHead + kSharding);
    EXPECT_ERROR(error, "databases.app.sharding", 7, "sharding: needs a shards: list");
}

TEST(ParseShardingErrors, ShardingOnADatabaseWithPrimary) {
    const ConfigError error = only_error(kHead + "    primary: 127.0.0.1:5432\n" + kSharding);
    EXPECT_ERROR(error, "databases.app.sharding", 8, "primary: (line 7) is not sharded");
}

TEST(ParseShardingErrors, ShardsWithoutSharding) {
    const ConfigError error = only_error(kHead + join({
                                                     "    shards:",  // 7
                                                     "      - { slots: \"0-1\", primary: \"a:1\" }",
                                                 }));
    EXPECT_ERROR(error, "databases.app.shards", 7, "shards: needs a sharding: block");
}

TEST(ParseShardingErrors, NeitherPrimaryNorShards) {
    const ConfigError error = only_error(kHead + "    dbname: x\n");
    EXPECT_ERROR(error, "databases.app.primary", 6, "required key is missing");
    EXPECT_TRUE(contains(error.message, "or shards:")) << error.message;
}

// --- the sharding block ---

TEST(ParseShardingErrors, UnknownShardingKeySuggestsTheKey) {
    const ConfigError error = only_error(kHead + kSharding + "      slot: 7\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.slot", 12, "did you mean 'slots'");
}

TEST(ParseShardingErrors, ShardingIsNotAMapping) {
    const ConfigError error = only_error(kHead + "    sharding: xxh3\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding", 7, "expected a mapping");
}

TEST(ParseShardingErrors, UnknownFunction) {
    const ConfigError error = only_error(with_sharding({
        "      function: md5",  // 8
        "      slots: 1024",
        "      tables: { a: { key: id, type: bigint } }",
    }));
    EXPECT_ERROR(error, "databases.app.sharding.function", 8, "expected one of xxh3, modulo");
}

TEST(ParseShardingErrors, FunctionSlotsAndTablesAreRequired) {
    const LoadResult result = parse_config(with_sharding({"      cross_shard_writes: all"}));
    ASSERT_EQ(result.errors.size(), 3u) << dump_errors(result);
    for (const ConfigError& error : result.errors) {
        EXPECT_EQ(error.line, 7);
        EXPECT_EQ(error.message, "required key is missing");
    }
    EXPECT_EQ(result.errors[0].key, "databases.app.sharding.function");
    EXPECT_EQ(result.errors[1].key, "databases.app.sharding.slots");
    EXPECT_EQ(result.errors[2].key, "databases.app.sharding.tables");
}

TEST(ParseShardingErrors, ZeroSlots) {
    const ConfigError error = only_error(with_sharding({
        "      function: xxh3",
        "      slots: 0",  // 9
        "      tables: { a: { key: id, type: bigint } }",
    }));
    EXPECT_ERROR(error, "databases.app.sharding.slots", 9, "must be between 1 and 1000000");
}

TEST(ParseShardingErrors, TooManySlots) {
    const ConfigError error = only_error(with_sharding({
        "      function: xxh3",
        "      slots: 1000001",  // 9
        "      tables: { a: { key: id, type: bigint } }",
    }));
    EXPECT_ERROR(error, "databases.app.sharding.slots", 9, "must be between 1 and 1000000");
}

TEST(ParseShardingErrors, SlotsNotANumber) {
    const ConfigError error = only_error(with_sharding({
        "      function: xxh3",
        "      slots: many",  // 9
        "      tables: { a: { key: id, type: bigint } }",
    }));
    // Only this error: the shards' coverage is not checked against an unknown slot count.
    EXPECT_ERROR(error, "databases.app.sharding.slots", 9, "expected a non-negative integer");
}

TEST(ParseShardingErrors, UnknownCrossShardWrites) {
    const ConfigError error =
        only_error(kHead + kSharding + "      cross_shard_writes: some\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.cross_shard_writes", 12,
                 "expected one of error, all");
}

// --- tables ---

TEST(ParseShardingErrors, NoShardedTables) {
    const ConfigError error = only_error(with_sharding({
        "      function: xxh3", "      slots: 1024",
        "      tables: {}",  // 10
    }));
    EXPECT_ERROR(error, "databases.app.sharding.tables", 10, "at least one sharded table");
}

TEST(ParseShardingErrors, TablesIsAList) {
    const ConfigError error = only_error(with_sharding({
        "      function: xxh3", "      slots: 1024",
        "      tables: [accounts]",  // 10
    }));
    EXPECT_ERROR(error, "databases.app.sharding.tables", 10, "expected a mapping of table names");
}

TEST(ParseShardingErrors, UnknownKeyTypeListsTheTypes) {
    const ConfigError error =
        only_error(kHead + kSharding + "        notes: { key: owner, type: varchar }\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.tables.notes.type", 12,
                 "expected one of bigint, integer, smallint, text, uuid");
}

TEST(ParseShardingErrors, KeyAndTypeAreRequired) {
    const LoadResult result =
        parse_config(kHead + kSharding + "        notes: {}\n" + kShards);  // 12
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases.app.sharding.tables.notes.key");
    EXPECT_EQ(result.errors[0].line, 12);
    EXPECT_EQ(result.errors[1].key, "databases.app.sharding.tables.notes.type");
    EXPECT_EQ(result.errors[1].line, 12);
}

TEST(ParseShardingErrors, EmptyKeyColumn) {
    const ConfigError error =
        only_error(kHead + kSharding + "        notes: { key: \"\", type: text }\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.tables.notes.key", 12, "must not be empty");
}

TEST(ParseShardingErrors, UnknownTableKeySuggestsTheKey) {
    const ConfigError error = only_error(
        kHead + kSharding + "        notes: { column: owner, key: owner, type: text }\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.tables.notes.column", 12, "unknown key");
}

TEST(ParseShardingErrors, EmptyTableName) {
    const ConfigError error =
        only_error(kHead + kSharding + "        \"\": { key: id, type: text }\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.tables", 12, "non-empty");
}

TEST(ParseShardingErrors, DuplicateTableNameInAnotherCase) {
    const ConfigError error =
        only_error(kHead + kSharding + "        Accounts: { key: id, type: bigint }\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.tables.accounts", 12,
                 "duplicate table 'accounts' (first at line 11");
}

TEST(ParseShardingErrors, ModuloOnATextKeyNamesTheTable) {
    const ConfigError error = only_error(with_sharding({
        "      function: modulo", "      slots: 1024",
        "      tables:", "        accounts: { key: user_id, type: bigint }",
        "        notes: { key: owner, type: text }",  // 12
    }));
    EXPECT_ERROR(error, "databases.app.sharding.tables.notes.type", 12,
                 "table 'notes' has a text key, but function modulo takes integer keys only");
}

TEST(ParseShardingErrors, ModuloOnAUuidKey) {
    const ConfigError error = only_error(with_sharding({
        "      function: modulo", "      slots: 1024",
        "      tables: { sessions: { key: id, type: uuid } }",  // 10
    }));
    EXPECT_ERROR(error, "databases.app.sharding.tables.sessions.type", 10, "has a uuid key");
}

// --- reference tables ---

TEST(ParseShardingErrors, ATableBothShardedAndReference) {
    const ConfigError error =
        only_error(kHead + kSharding + "      reference_tables: [countries, ACCOUNTS]\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.reference_tables[1]", 12,
                 "'accounts' is also a sharded table (line 11)");
}

TEST(ParseShardingErrors, AReferenceTableListedTwice) {
    const ConfigError error = only_error(kHead + kSharding +
                                         join({
                                             "      reference_tables:",  // 12
                                             "        - countries",      // 13
                                             "        - Countries",      // 14
                                         }) +
                                         kShards);
    EXPECT_ERROR(error, "databases.app.sharding.reference_tables[1]", 14,
                 "'countries' is listed twice (first at "
                 "databases.app.sharding.reference_tables[0], line 13)");
}

TEST(ParseShardingErrors, EmptyReferenceTableName) {
    const ConfigError error =
        only_error(kHead + kSharding + "      reference_tables: [\"\"]\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.reference_tables[0]", 12, "must not be empty");
}

TEST(ParseShardingErrors, ReferenceTablesNotAList) {
    const ConfigError error =
        only_error(kHead + kSharding + "      reference_tables: countries\n" + kShards);
    EXPECT_ERROR(error, "databases.app.sharding.reference_tables", 12,
                 "expected a list of table names");
}

// --- the shards list ---

TEST(ParseShardingErrors, NoShards) {
    const ConfigError error = only_error(kHead + kSharding + "    shards: []\n");
    EXPECT_ERROR(error, "databases.app.shards", 12, "at least one shard is required");
}

TEST(ParseShardingErrors, ShardsNotAList) {
    const ConfigError error = only_error(kHead + kSharding + "    shards: 127.0.0.1:5441\n");
    EXPECT_ERROR(error, "databases.app.shards", 12, "expected a list of shards");
}

TEST(ParseShardingErrors, UnknownShardKeySuggestsTheKey) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\", replica: [\"a:1\"] }",  // 14
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].replica", 14, "did you mean 'replicas'");
}

TEST(ParseShardingErrors, ShardWithoutPrimaryOrSlots) {
    const LoadResult result = parse_config(with_shards({
        "      - { slots: \"0-511\" }",             // 13
        "      - { primary: \"127.0.0.1:5442\" }",  // 14
    }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases.app.shards[0].primary");
    EXPECT_EQ(result.errors[0].line, 13);
    EXPECT_EQ(result.errors[0].message, "required key is missing");
    EXPECT_EQ(result.errors[1].key, "databases.app.shards[1].slots");
    EXPECT_EQ(result.errors[1].line, 14);
}

TEST(ParseShardingErrors, BadShardAddress) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1\" }",  // 13
        "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",
    }));
    EXPECT_ERROR(error, "databases.app.shards[0].primary", 13, "expected \"host:port\"");
}

TEST(ParseShardingErrors, ReplicaEqualToItsShardsPrimary) {
    const ConfigError error = only_error(with_shards({
        "      - slots: \"0-511\"",         // 13
        "        primary: 127.0.0.1:5441",  // 14
        "        replicas:",                // 15
        "          - 127.0.0.1:5441",       // 16
        "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",
    }));
    EXPECT_ERROR(error, "databases.app.shards[0].replicas[0]", 16, "127.0.0.1:5441 is the primary");
}

TEST(ParseShardingErrors, ReplicaListedTwiceInAShard) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\" }",
        "      - slots: \"512-1023\"",      // 14
        "        primary: 127.0.0.1:5442",  // 15
        "        replicas:",                // 16
        "          - 127.0.0.1:5444",       // 17
        "          - LOCALHOST:5444",       // 18
        "          - localhost:5444",       // 19
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].replicas[2]", 19,
                 "localhost:5444 is listed twice (first at databases.app.shards[1].replicas[1], "
                 "line 18)");
}

TEST(ParseShardingErrors, TheSameServerInTwoShards) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\", replicas: [\"127.0.0.1:5443\"] }",
        "      - { slots: \"512-1023\", primary: \"127.0.0.1:5443\" }",  // 14
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].primary", 14,
                 "127.0.0.1:5443 is already in another shard (first at "
                 "databases.app.shards[0].replicas[0], line 13)");
}

// --- slot ranges ---

TEST(ParseShardingErrors, SlotsThatAreNotRanges) {
    const std::initializer_list<std::pair<std::string_view, std::string_view>> cases = {
        {"\"abc\"", "'abc' is not a slot number or a range"},
        {"\"0-\"", "'0-' is not a slot number or a range"},
        {"\"-5\"", "'-5' is not a slot number or a range"},
        {"\"1-2-3\"", "'1-2-3' is not a slot number or a range"},
        {"\"0-99999999999\"", "'0-99999999999' is not a slot number"},
        {"\"511-0\"", "range '511-0' is backwards"},
        {"\"0-255,,256-511\"", "a range is empty"},
        {"\"0-511,\"", "a range is empty"},
        {"\"\"", "got an empty string"},
        {"[0-511]", "expected a string of slot ranges"},
    };
    for (const auto& [slots, message] : cases) {
        const ConfigError error = only_error(with_shards({
            "      - { slots: " + std::string(slots) + ", primary: \"127.0.0.1:5441\" }",  // 13
            "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",
        }));
        EXPECT_ERROR(error, "databases.app.shards[0].slots", 13, message);
    }
}

TEST(ParseShardingErrors, AGapBetweenShards) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"601-1023\", primary: \"127.0.0.1:5442\" }",
    }));
    EXPECT_ERROR(error, "databases.app.shards", 12, "slots 512-600 belong to no shard");
}

TEST(ParseShardingErrors, GapsAtTheStartAndTheEnd) {
    const LoadResult result = parse_config(with_shards({
        "      - { slots: \"1-511\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"512-1000\", primary: \"127.0.0.1:5442\" }",
    }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].line, 12);
    EXPECT_EQ(result.errors[0].message,
              "slot 0 belongs to no shard (every slot from 0 to 1023 needs exactly one shard)");
    EXPECT_EQ(result.errors[1].line, 12);
    EXPECT_TRUE(contains(result.errors[1].message, "slots 1001-1023 belong to no shard"));
}

TEST(ParseShardingErrors, OneSlotInTwoShards) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-300\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"300-1023\", primary: \"127.0.0.1:5442\" }",  // 14
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].slots", 14, "slot 300 is in shards 0 and 1");
}

TEST(ParseShardingErrors, AnOverlapIsReportedAtTheLaterShard) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"256-1023\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"0-300\", primary: \"127.0.0.1:5442\" }",  // 14
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].slots", 14, "slots 256-300 are in shards 0 and 1");
}

TEST(ParseShardingErrors, AnOverlapInsideOneShard) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-200, 100-511\", primary: \"127.0.0.1:5441\" }",  // 13
        "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",
    }));
    EXPECT_ERROR(error, "databases.app.shards[0].slots", 13,
                 "slots 100-200 are listed twice in this shard");
}

TEST(ParseShardingErrors, AnOverlapWithThreeShards) {
    const LoadResult result = parse_config(with_shards({
        "      - { slots: \"0-600\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"512-1023\", primary: \"127.0.0.1:5442\" }",  // 14
        "      - { slots: \"500-520\", primary: \"127.0.0.1:5443\" }",   // 15
    }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases.app.shards[1].slots");
    EXPECT_EQ(result.errors[0].message, "slots 512-600 are in shards 0 and 1");
    EXPECT_EQ(result.errors[1].key, "databases.app.shards[2].slots");
    EXPECT_EQ(result.errors[1].message, "slots 500-520 are in shards 0 and 2");
}

TEST(ParseShardingErrors, SlotsBeyondTheSlotCount) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"512-1024\", primary: \"127.0.0.1:5442\" }",  // 14
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].slots", 14,
                 "slot 1024 is out of range: sharding.slots is 1024 (slots 0 to 1023)");
}

TEST(ParseShardingErrors, ManyGapsAreCapped) {
    std::string ranges;
    for (int slot = 0; slot < 1024; slot += 2) {
        if (!ranges.empty()) {
            ranges += ',';
        }
        ranges += std::to_string(slot);
    }
    const LoadResult result = parse_config(with_shards({
        "      - { slots: \"" + ranges + "\", primary: \"127.0.0.1:5441\" }",
    }));
    ASSERT_EQ(result.errors.size(), 11u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].message.substr(0, 25), "slot 1 belongs to no shar");
    EXPECT_EQ(result.errors[10].message,
              "502 more gaps or overlaps in the slot ranges (not shown)");
}

TEST(ParseShardingErrors, ABrokenShardDoesNotAlsoReportGaps) {
    const ConfigError error = only_error(with_shards({
        "      - { slots: \"0-511\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"five\", primary: \"127.0.0.1:5442\" }",  // 14
    }));
    EXPECT_ERROR(error, "databases.app.shards[1].slots", 14, "'five' is not a slot number");
}

// --- health checks ---

TEST(ParseShardingErrors, AShardedDatabaseNeedsAHealthCheckUser) {
    const ConfigError error = only_error(join({
                                             "listen: 127.0.0.1:6432",
                                             "users:",
                                             "  - name: app",
                                             "    password: \"SCRAM-SHA-256$4096:c2FsdA==$"
                                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
                                             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
                                             "databases:",
                                             "  app:",
                                         }) +
                                         kSharding + kShards);
    EXPECT_ERROR(error, "databases.app.shards", 12, "the health checks need a user");
}

TEST(ParseShardingErrors, EveryErrorIsFormattedWithItsLine) {
    const LoadResult result = parse_config(with_shards({
        "      - { slots: \"0-300\", primary: \"127.0.0.1:5441\" }",
        "      - { slots: \"300-1023\", primary: \"127.0.0.1:5442\" }",
    }));
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(format_error(result.errors[0], "pgrouter.yaml"),
              "pgrouter.yaml:14: databases.app.shards[1].slots: slot 300 is in shards 0 and 1");
}

}  // namespace
}  // namespace pgrouter::config
