// tests/unit/config/load_errors_test.cpp — parse_config on bad input: every error names its key
// path and 1-based line, all errors of a file are reported, and secrets never appear in them.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "pgrouter/config/load.hpp"

namespace pgrouter::config {
namespace {

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:cGdyb3V0ZXItc2FsdC0xNg==$zvpQlyMLHNA/iCmsf1ulSPDh7fiIxSe/aFqEkm8LDJo=:"
    "VWHtN8S7LJluHrs2OVU+8LrMaB+4p3gdxqaOK42vWMw=";
constexpr std::string_view kMd5Hash = "md5fe63fea7be31b0200b496d08bc6b517d";

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

// Lines 1-7: a valid config that the tests extend from line 8 on.
const std::string kMinimal = join({
    "listen: 127.0.0.1:6432",       // 1
    "users:",                       // 2
    "  - name: app",                // 3
    "    password: secret",         // 4
    "databases:",                   // 5
    "  app:",                       // 6
    "    primary: 127.0.0.1:5432",  // 7
});

// Parses `yaml`, expects it to fail with exactly one error, and returns that error.
ConfigError only_error(const std::string& yaml) {
    const LoadResult result = parse_config(yaml);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errors.size(), 1u) << dump_errors(result);
    return result.errors.empty() ? ConfigError{} : result.errors.front();
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

TEST(ParseConfigErrors, UnknownTopLevelKeyNamesKeyAndLine) {
    const ConfigError error = only_error(kMinimal + join({"listne: 127.0.0.1:1"}));
    EXPECT_EQ(error.key, "listne");
    EXPECT_EQ(error.line, 8);
    EXPECT_TRUE(contains(error.message, "unknown key")) << error.message;
    EXPECT_TRUE(contains(error.message, "'listen'")) << error.message;
}

TEST(ParseConfigErrors, UnknownNestedKeyNamesPathAndSuggestsTheKey) {
    const ConfigError error =
        only_error(kMinimal + join({"pool:", "  mode: session", "  sizee: 5"}));
    EXPECT_EQ(error.key, "pool.sizee");
    EXPECT_EQ(error.line, 10);
    EXPECT_TRUE(contains(error.message, "did you mean 'size'")) << error.message;
}

TEST(ParseConfigErrors, UnknownKeysInsideUsersAndDatabases) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    pasword: secret",
        "databases:",
        "  app:",
        "    primary: 127.0.0.1:5432",
        "    replica: 127.0.0.1:5433",
    }));
    ASSERT_FALSE(result.ok());
    // The misspelt password also leaves scram-sha-256 without one; that error points at the
    // user entry (line 3), so it sorts first.
    ASSERT_EQ(result.errors.size(), 3u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "users[0].password");
    EXPECT_EQ(result.errors[0].line, 3);
    EXPECT_EQ(result.errors[1].key, "users[0].pasword");
    EXPECT_EQ(result.errors[1].line, 4);
    EXPECT_EQ(result.errors[2].key, "databases.app.replica");
    EXPECT_EQ(result.errors[2].line, 8);
}

TEST(ParseConfigErrors, WordForIntegerIsAnErrorNotTheDefault) {
    const ConfigError error = only_error(kMinimal + join({"pool:", "  size: many"}));
    EXPECT_EQ(error.key, "pool.size");
    EXPECT_EQ(error.line, 9);
    EXPECT_EQ(error.message, "expected a non-negative integer, got 'many'");
    EXPECT_EQ(format_error(error, "pgrouter.yaml"),
              "pgrouter.yaml:9: pool.size: expected a non-negative integer, got 'many'");
}

TEST(ParseConfigErrors, NegativeIntegerIsRejected) {
    const ConfigError error = only_error(kMinimal + join({"workers: -1"}));
    EXPECT_EQ(error.key, "workers");
    EXPECT_EQ(error.line, 8);
    EXPECT_TRUE(contains(error.message, "non-negative")) << error.message;
    EXPECT_TRUE(contains(error.message, "'-1'")) << error.message;
}

TEST(ParseConfigErrors, IntegerAboveTheTypeRangeIsRejected) {
    const ConfigError error =
        only_error(kMinimal + join({"pool:", "  max_client_conn: 4294967296"}));
    EXPECT_EQ(error.key, "pool.max_client_conn");
    EXPECT_EQ(error.line, 9);
    EXPECT_TRUE(contains(error.message, "too large")) << error.message;
    EXPECT_TRUE(contains(error.message, "4294967295")) << error.message;
}

TEST(ParseConfigErrors, HugeIntegerIsRejectedNotWrapped) {
    const ConfigError error =
        only_error(kMinimal + join({"limits:", "  max_message_bytes: 99999999999999999999999"}));
    EXPECT_EQ(error.key, "limits.max_message_bytes");
    EXPECT_TRUE(contains(error.message, "too large")) << error.message;
}

TEST(ParseConfigErrors, DurationAboveAYearIsRejected) {
    const ConfigError error =
        only_error(kMinimal + join({"pool:", "  server_lifetime_ms: 31536000001"}));
    EXPECT_EQ(error.key, "pool.server_lifetime_ms");
    EXPECT_EQ(error.line, 9);
}

TEST(ParseConfigErrors, FractionAndQuotedNumberAreNotIntegers) {
    const LoadResult result =
        parse_config(kMinimal + join({"pool:", "  size: 2.5", "  min_size: \"1\""}));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "pool.size");
    EXPECT_EQ(result.errors[0].line, 9);
    EXPECT_EQ(result.errors[1].key, "pool.min_size");
    EXPECT_EQ(result.errors[1].line, 10);
    EXPECT_TRUE(contains(result.errors[1].message, "remove the quotes"))
        << result.errors[1].message;
}

TEST(ParseConfigErrors, ListenGivenAsNumber) {
    const ConfigError error = only_error(join({
        "listen: 5",
        "users: [{name: app, password: x}]",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    EXPECT_EQ(error.key, "listen");
    EXPECT_EQ(error.line, 1);
    EXPECT_TRUE(contains(error.message, "host:port")) << error.message;
}

class BadPrimaryAddress
    : public ::testing::TestWithParam<std::pair<std::string_view, std::string_view>> {};

TEST_P(BadPrimaryAddress, NamesKeyLineAndReason) {
    const auto [address, reason] = GetParam();
    const ConfigError error = only_error(join({
        "listen: 127.0.0.1:6432",
        "users: [{name: app, password: x}]",
        "databases:",
        "  app:",
        "    dbname: app",
        std::string("    primary: \"") + std::string(address) + "\"",
    }));
    EXPECT_EQ(error.key, "databases.app.primary");
    EXPECT_EQ(error.line, 6);
    EXPECT_TRUE(contains(error.message, reason)) << error.message;
}

INSTANTIATE_TEST_SUITE_P(
    Forms, BadPrimaryAddress,
    ::testing::Values(std::pair<std::string_view, std::string_view>{"127.0.0.1", "missing ':port'"},
                      std::pair<std::string_view, std::string_view>{"host:99999", "not in 1-65535"},
                      std::pair<std::string_view, std::string_view>{":5432", "missing host"},
                      std::pair<std::string_view, std::string_view>{"::1:5432", "brackets"},
                      std::pair<std::string_view, std::string_view>{"host:pg", "not a number"}));

TEST(ParseConfigErrors, MissingRequiredTopLevelKeys) {
    const LoadResult result = parse_config("workers: 2\n");
    ASSERT_FALSE(result.ok());
    ASSERT_EQ(result.errors.size(), 3u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "listen");
    EXPECT_EQ(result.errors[1].key, "users");
    EXPECT_EQ(result.errors[2].key, "databases");
    for (const ConfigError& error : result.errors) {
        EXPECT_TRUE(contains(error.message, "required")) << error.message;
    }
}

TEST(ParseConfigErrors, MissingNestedRequiredKeysPointAtTheirEntry) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",  // 1
        "users:",                  // 2
        "  - auth: trust",         // 3
        "databases:",              // 4
        "  app:",                  // 5
        "    dbname: app",         // 6
    }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "users[0].name");
    EXPECT_EQ(result.errors[0].line, 3);
    EXPECT_EQ(result.errors[1].key, "databases.app.primary");
    EXPECT_EQ(result.errors[1].line, 5);
}

TEST(ParseConfigErrors, EmptyUsersAndDatabases) {
    const LoadResult result =
        parse_config(join({"listen: 127.0.0.1:6432", "users: []", "databases: {}"}));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "users");
    EXPECT_EQ(result.errors[0].line, 2);
    EXPECT_EQ(result.errors[1].key, "databases");
    EXPECT_EQ(result.errors[1].line, 3);
}

TEST(ParseConfigErrors, SectionsOfTheWrongShape) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users: app",
        "databases: [app]",
        "pool: 5",
        "log: [info]",
    }));
    ASSERT_EQ(result.errors.size(), 4u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "users");
    EXPECT_EQ(result.errors[1].key, "databases");
    EXPECT_EQ(result.errors[2].key, "pool");
    EXPECT_EQ(result.errors[2].line, 4);
    EXPECT_EQ(result.errors[3].key, "log");
    EXPECT_EQ(result.errors[3].line, 5);
}

TEST(ParseConfigErrors, UserEntryThatIsNotAMapping) {
    const ConfigError error = only_error(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    password: x",
        "  - bob",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    EXPECT_EQ(error.key, "users[1]");
    EXPECT_EQ(error.line, 5);
}

TEST(ParseConfigErrors, WrongEnumAndBool) {
    const LoadResult result = parse_config(kMinimal + join({
                                                          "pool:",                     // 8
                                                          "  mode: statement",         // 9
                                                          "limits:",                   // 10
                                                          "  server_check_idle: yes",  // 11
                                                          "log:",                      // 12
                                                          "  level: verbose",          // 13
                                                      }));
    ASSERT_EQ(result.errors.size(), 3u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "pool.mode");
    EXPECT_EQ(result.errors[0].line, 9);
    EXPECT_TRUE(contains(result.errors[0].message, "transaction, session"))
        << result.errors[0].message;
    EXPECT_EQ(result.errors[1].key, "limits.server_check_idle");
    EXPECT_EQ(result.errors[1].line, 11);
    EXPECT_EQ(result.errors[2].key, "log.level");
    EXPECT_EQ(result.errors[2].line, 13);
}

TEST(ParseConfigErrors, DuplicateUserPointsAtTheSecond) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",  // 1
        "users:",                  // 2
        "  - name: app",           // 3
        "    password: a",         // 4
        "  - name: app",           // 5
        "    password: b",         // 6
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    ASSERT_EQ(result.errors.size(), 1u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "users[1].name");
    EXPECT_EQ(result.errors[0].line, 5);
    EXPECT_TRUE(contains(result.errors[0].message, "duplicate user 'app'"))
        << result.errors[0].message;
    EXPECT_TRUE(contains(result.errors[0].message, "line 3")) << result.errors[0].message;
}

TEST(ParseConfigErrors, RepeatedYamlKeysAreReported) {
    const LoadResult result = parse_config(kMinimal + join({
                                                          "databases:",  // 8
                                                          "  other:",    // 9
                                                          "    primary: 127.0.0.1:5432",
                                                          "pool:",      // 11
                                                          "  size: 5",  // 12
                                                          "  size: 6",  // 13
                                                      }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases");
    EXPECT_EQ(result.errors[0].line, 8);
    EXPECT_TRUE(contains(result.errors[0].message, "first at line 5")) << result.errors[0].message;
    EXPECT_EQ(result.errors[1].key, "pool.size");
    EXPECT_EQ(result.errors[1].line, 13);
}

TEST(ParseConfigErrors, EmptyDatabaseNameDoesNotHideOtherDatabaseErrors) {
    const LoadResult result = parse_config(kMinimal + join({
                                                          "  \"\":",           // 8
                                                          "    primary: x:1",  // 9
                                                          "  reports:",        // 10
                                                          "    dbname: \"\"",  // 11
                                                          "    primary: y:2",  // 12
                                                      }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases");
    EXPECT_EQ(result.errors[0].line, 8);
    EXPECT_EQ(result.errors[1].key, "databases.reports.dbname");
    EXPECT_EQ(result.errors[1].line, 11);
}

TEST(ParseConfigErrors, DuplicateDatabaseName) {
    const ConfigError error =
        only_error(kMinimal + join({"  app:", "    primary: 127.0.0.1:5433"}));
    EXPECT_EQ(error.key, "databases.app");
    EXPECT_EQ(error.line, 8);
}

TEST(ParseConfigErrors, Md5AuthWithScramVerifier) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    auth: md5",
        std::string("    password: \"") + std::string(kVerifier) + "\"",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    ASSERT_EQ(result.errors.size(), 1u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "users[0].password");
    EXPECT_EQ(result.errors[0].line, 5);
    EXPECT_TRUE(contains(result.errors[0].message, "SCRAM verifier")) << result.errors[0].message;
    EXPECT_FALSE(contains(result.errors[0].message, "cGdyb3V0ZXI")) << "the secret leaked";
}

TEST(ParseConfigErrors, ScramAuthWithMd5Hash) {
    const ConfigError error = only_error(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        std::string("    password: ") + std::string(kMd5Hash),
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    EXPECT_EQ(error.key, "users[0].password");
    EXPECT_EQ(error.line, 4);
    EXPECT_FALSE(contains(error.message, kMd5Hash.substr(3))) << "the secret leaked";
}

TEST(ParseConfigErrors, ScramAuthWithoutPassword) {
    const ConfigError error = only_error(join({
        "listen: 127.0.0.1:6432",
        "users: [{name: app}]",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    EXPECT_EQ(error.key, "users[0].password");
    EXPECT_EQ(error.line, 2);
}

TEST(ParseConfigErrors, InvalidYamlSyntaxReportsTheLine) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users: [{name: app, password: x}",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
        "pool:",
        "  size: [1",
    }));
    ASSERT_EQ(result.errors.size(), 1u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "");
    EXPECT_GE(result.errors[0].line, 2);
    EXPECT_LE(result.errors[0].line, 3);
    EXPECT_TRUE(contains(result.errors[0].message, "invalid YAML")) << result.errors[0].message;
}

TEST(ParseConfigErrors, BadIndentationReportsItsLine) {
    const ConfigError error =
        only_error(join({"listen: 127.0.0.1:6432", "pool:", "  size: 5", " mode: x"}));
    EXPECT_EQ(error.line, 4);
    EXPECT_TRUE(contains(error.message, "invalid YAML")) << error.message;
}

TEST(ParseConfigErrors, DeepNestingIsAnErrorNotACrash) {
    const ConfigError error = only_error("a: " + std::string(100000, '['));
    EXPECT_TRUE(contains(error.message, "nested too deeply")) << error.message;
}

TEST(ParseConfigErrors, BinaryGarbageIsAnErrorNotACrash) {
    std::string garbage;
    for (int i = 0; i < 4096; ++i) {
        garbage += static_cast<char>((i * 7919 + 13) % 256);
    }
    const LoadResult result = parse_config(garbage);
    EXPECT_FALSE(result.ok());
    EXPECT_FALSE(result.errors.empty());
}

TEST(ParseConfigErrors, EmptyAndNonMappingDocuments) {
    EXPECT_EQ(only_error("").line, 0);
    EXPECT_EQ(only_error("# only a comment\n").line, 0);
    const ConfigError list = only_error("- a\n- b\n");
    EXPECT_EQ(list.line, 1);
    EXPECT_TRUE(contains(list.message, "expected a mapping")) << list.message;
}

TEST(ParseConfigErrors, ValueRulesNameTheirKeys) {
    const LoadResult result = parse_config(kMinimal + join({
                                                          "workers: 2000",             // 8
                                                          "pool:",                     // 9
                                                          "  size: 0",                 // 10
                                                          "  connect_timeout_ms: 0",   // 11
                                                          "limits:",                   // 12
                                                          "  max_message_bytes: 100",  // 13
                                                          "  shutdown_timeout_ms: 0",  // 14
                                                      }));
    ASSERT_EQ(result.errors.size(), 5u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "workers");
    EXPECT_EQ(result.errors[0].line, 8);
    EXPECT_EQ(result.errors[1].key, "pool.size");
    EXPECT_EQ(result.errors[1].line, 10);
    EXPECT_EQ(result.errors[2].key, "pool.connect_timeout_ms");
    EXPECT_EQ(result.errors[2].line, 11);
    EXPECT_EQ(result.errors[3].key, "limits.max_message_bytes");
    EXPECT_EQ(result.errors[3].line, 13);
    EXPECT_EQ(result.errors[4].key, "limits.shutdown_timeout_ms");
    EXPECT_EQ(result.errors[4].line, 14);
}

TEST(ParseConfigErrors, MinSizeAboveSize) {
    const ConfigError error = only_error(kMinimal + join({"pool:", "  size: 5", "  min_size: 6"}));
    EXPECT_EQ(error.key, "pool.min_size");
    EXPECT_EQ(error.line, 10);
}

TEST(ParseConfigErrors, UnreadableSizeDoesNotAlsoBlameMinSize) {
    const ConfigError error =
        only_error(kMinimal + join({"pool:", "  size: many", "  min_size: 30"}));
    EXPECT_EQ(error.key, "pool.size");
}

TEST(ParseConfigErrors, SeveralErrorsAreAllReportedInLineOrder) {
    const LoadResult result = parse_config(join({
        "listen: \"127.0.0.1\"",                                          // 1: no port
        "workers: lots",                                                  // 2: not an integer
        "pool:",                                                          // 3
        "  sizee: 4",                                                     // 4: unknown key
        "users:",                                                         // 5
        "  - name: app",                                                  // 6
        "    auth: md5",                                                  // 7
        std::string("    password: \"") + std::string(kVerifier) + "\"",  // 8: md5 + verifier
        "  - name: app",                                                  // 9: duplicate
        "    password: x",                                                // 10
        "databases:",                                                     // 11
        "  app:",                                                         // 12
        "    primary: \"host:99999\"",                                    // 13: port out of range
        "log:",                                                           // 14
        "  colour: true",                                                 // 15: unknown key
    }));
    ASSERT_FALSE(result.ok());
    ASSERT_EQ(result.errors.size(), 7u) << dump_errors(result);
    const std::pair<std::string_view, int> expected[] = {
        {"listen", 1},        {"workers", 2},
        {"pool.sizee", 4},    {"users[0].password", 8},
        {"users[1].name", 9}, {"databases.app.primary", 13},
        {"log.colour", 15},
    };
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        EXPECT_EQ(result.errors[i].key, expected[i].first) << i;
        EXPECT_EQ(result.errors[i].line, expected[i].second) << i;
    }
}

TEST(ParseConfigErrors, NoErrorMessageContainsAPassword) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    auth: md5",
        "    password: \"SCRAM-SHA-256$hunter2-not-a-verifier\"",
        "    server_password: [hunter3]",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    ASSERT_FALSE(result.ok());
    ASSERT_GE(result.errors.size(), 2u) << dump_errors(result);
    for (const ConfigError& error : result.errors) {
        EXPECT_FALSE(contains(error.message, "hunter")) << error.message;
    }
}

}  // namespace
}  // namespace pgrouter::config
