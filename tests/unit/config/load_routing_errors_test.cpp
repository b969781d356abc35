// tests/unit/config/load_routing_errors_test.cpp — parse_config on bad replicas, routing blocks
// and health_check_user: every error names its key path and 1-based line (what
// `pgrouter --check-config` prints), and an error in the global block is reported once.
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

// Lines 1-7: a valid config with one replica that the tests extend from line 8 on.
const std::string kBase = join({
    "listen: 127.0.0.1:6432",       // 1
    "users:",                       // 2
    "  - name: app",                // 3
    "    password: secret",         // 4
    "databases:",                   // 5
    "  app:",                       // 6
    "    primary: 127.0.0.1:5432",  // 7
});

ConfigError only_error(const std::string& yaml) {
    const LoadResult result = parse_config(yaml);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errors.size(), 1u) << dump_errors(result);
    return result.errors.empty() ? ConfigError{} : result.errors.front();
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

TEST(ParseRoutingErrors, UnknownGlobalKeySuggestsTheKey) {
    const ConfigError error = only_error(kBase + join({"routing:", "  read_form: any"}));
    EXPECT_EQ(error.key, "routing.read_form");
    EXPECT_EQ(error.line, 9);
    EXPECT_TRUE(contains(error.message, "did you mean 'read_from'")) << error.message;
}

TEST(ParseRoutingErrors, UnknownKeyFarFromAnyListsTheKeys) {
    const ConfigError error = only_error(kBase + join({"routing:", "  color: blue"}));
    EXPECT_EQ(error.key, "routing.color");
    EXPECT_EQ(error.line, 9);
    EXPECT_TRUE(contains(error.message, "expected one of: read_from, balance")) << error.message;
}

TEST(ParseRoutingErrors, UnknownCircuitBreakerKeySuggestsTheKey) {
    const ConfigError error =
        only_error(kBase + join({"routing:", "  circuit_breaker: { failure: 3 }"}));
    EXPECT_EQ(error.key, "routing.circuit_breaker.failure");
    EXPECT_EQ(error.line, 9);
    EXPECT_TRUE(contains(error.message, "did you mean 'failures'")) << error.message;
}

TEST(ParseRoutingErrors, KeyWithoutItsUnitSuggestsTheMsKey) {
    const ConfigError error =
        only_error(kBase + join({"routing:", "  circuit_breaker: { open: 10 }"}));
    EXPECT_EQ(error.key, "routing.circuit_breaker.open");
    EXPECT_EQ(error.line, 9);
    EXPECT_TRUE(contains(error.message, "did you mean 'open_ms'")) << error.message;
}

TEST(ParseRoutingErrors, UnknownKeyInADatabaseOverride) {
    const ConfigError error =
        only_error(kBase + join({"    routing:", "      balanse: least_busy"}));
    EXPECT_EQ(error.key, "databases.app.routing.balanse");
    EXPECT_EQ(error.line, 9);
    EXPECT_TRUE(contains(error.message, "did you mean 'balance'")) << error.message;
}

TEST(ParseRoutingErrors, MisspeltReplicasKeySuggestsIt) {
    const ConfigError error = only_error(kBase + join({"    replica: [127.0.0.1:5433]"}));
    EXPECT_EQ(error.key, "databases.app.replica");
    EXPECT_EQ(error.line, 8);
    EXPECT_TRUE(contains(error.message, "did you mean 'replicas'")) << error.message;
}

TEST(ParseRoutingErrors, EnumValuesListTheAllowedOnes) {
    const LoadResult result = parse_config(kBase + join({
                                                       "routing:",                       // 8
                                                       "  read_from: replica",           // 9
                                                       "  balance: random",              // 10
                                                       "  transactions: replicas",       // 11
                                                       "  consistency: strong",          // 12
                                                       "  consistency_scope: database",  // 13
                                                   }));
    ASSERT_EQ(result.errors.size(), 5u) << dump_errors(result);
    const std::pair<std::string_view, std::string_view> expected[] = {
        {"routing.read_from", "expected one of replicas, primary, any; got 'replica'"},
        {"routing.balance", "expected one of round_robin, least_busy; got 'random'"},
        {"routing.transactions", "expected one of primary, by_first_statement; got 'replicas'"},
        {"routing.consistency", "expected one of window, lsn; got 'strong'"},
        {"routing.consistency_scope", "expected one of connection, user, key; got 'database'"},
    };
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        EXPECT_EQ(result.errors[i].key, expected[i].first) << i;
        EXPECT_EQ(result.errors[i].line, static_cast<int>(9 + i)) << i;
        EXPECT_EQ(result.errors[i].message, expected[i].second) << i;
    }
}

TEST(ParseRoutingErrors, WrongTypesNameTheirKeys) {
    const LoadResult result = parse_config(kBase + join({
                                                       "    replicas: 127.0.0.1:5433",  // 8
                                                       "routing:",                      // 9
                                                       "  pin_after_write_ms: soon",    // 10
                                                       "  circuit_breaker: 5",          // 11
                                                       "  write_functions: audit",      // 12
                                                       "  consistency_keys: \"10\"",    // 13
                                                   }));
    ASSERT_EQ(result.errors.size(), 5u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases.app.replicas");
    EXPECT_EQ(result.errors[0].line, 8);
    EXPECT_TRUE(contains(result.errors[0].message, "expected a list")) << dump_errors(result);
    EXPECT_EQ(result.errors[1].key, "routing.pin_after_write_ms");
    EXPECT_EQ(result.errors[1].line, 10);
    EXPECT_EQ(result.errors[2].key, "routing.circuit_breaker");
    EXPECT_EQ(result.errors[2].line, 11);
    EXPECT_TRUE(contains(result.errors[2].message, "expected a mapping")) << dump_errors(result);
    EXPECT_EQ(result.errors[3].key, "routing.write_functions");
    EXPECT_EQ(result.errors[3].line, 12);
    EXPECT_TRUE(contains(result.errors[3].message, "list of function names"))
        << dump_errors(result);
    EXPECT_EQ(result.errors[4].key, "routing.consistency_keys");
    EXPECT_TRUE(contains(result.errors[4].message, "remove the quotes")) << dump_errors(result);
}

TEST(ParseRoutingErrors, RoutingThatIsNotAMapping) {
    const ConfigError error = only_error(kBase + join({"routing: [read_from]"}));
    EXPECT_EQ(error.key, "routing");
    EXPECT_EQ(error.line, 8);
    EXPECT_EQ(error.message, "expected a mapping, got a list");
}

TEST(ParseRoutingErrors, RepeatedRoutingKeyIsReported) {
    const ConfigError error =
        only_error(kBase + join({"routing:", "  balance: least_busy", "  balance: round_robin"}));
    EXPECT_EQ(error.key, "routing.balance");
    EXPECT_EQ(error.line, 10);
    EXPECT_EQ(error.message, "duplicate key (first at line 9)");
}

TEST(ParseReplicasErrors, BadAddressPointsAtItsItem) {
    const LoadResult result = parse_config(kBase + join({
                                                       "    replicas:",           // 8
                                                       "      - 127.0.0.1:5433",  // 9
                                                       "      - 127.0.0.1",       // 10
                                                       "      - [a, b]",          // 11
                                                       "      - \"host:99999\"",  // 12
                                                   }));
    ASSERT_EQ(result.errors.size(), 3u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases.app.replicas[1]");
    EXPECT_EQ(result.errors[0].line, 10);
    EXPECT_TRUE(contains(result.errors[0].message, "missing ':port'")) << dump_errors(result);
    EXPECT_EQ(result.errors[1].key, "databases.app.replicas[2]");
    EXPECT_EQ(result.errors[1].line, 11);
    EXPECT_TRUE(contains(result.errors[1].message, "got a list")) << dump_errors(result);
    EXPECT_EQ(result.errors[2].key, "databases.app.replicas[3]");
    EXPECT_EQ(result.errors[2].line, 12);
    EXPECT_TRUE(contains(result.errors[2].message, "1-65535")) << dump_errors(result);
}

TEST(ParseReplicasErrors, ReplicaEqualToThePrimary) {
    const ConfigError error = only_error(
        kBase + join({"    replicas:", "      - 127.0.0.2:5432", "      - 127.0.0.1:5432"}));
    EXPECT_EQ(error.key, "databases.app.replicas[1]");
    EXPECT_EQ(error.line, 10);
    EXPECT_EQ(error.message, "127.0.0.1:5432 is the primary; list only the replicas here");
    EXPECT_EQ(format_error(error, "pgrouter.yaml"),
              "pgrouter.yaml:10: databases.app.replicas[1]: 127.0.0.1:5432 is the primary; list "
              "only the replicas here");
}

TEST(ParseReplicasErrors, HostNamesCompareWithoutCase) {
    const ConfigError error = only_error(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    password: secret",
        "databases:",
        "  app:",
        "    primary: DB1:5432",
        "    replicas: [db1:5432]",
    }));
    EXPECT_EQ(error.key, "databases.app.replicas[0]");
    EXPECT_EQ(error.line, 8);
}

TEST(ParseReplicasErrors, ReplicaListedTwiceNamesTheFirst) {
    const ConfigError error = only_error(kBase + join({
                                                     "    replicas:",           // 8
                                                     "      - 127.0.0.1:5433",  // 9
                                                     "      - 127.0.0.1:5434",  // 10
                                                     "      - 127.0.0.1:5433",  // 11
                                                 }));
    EXPECT_EQ(error.key, "databases.app.replicas[2]");
    EXPECT_EQ(error.line, 11);
    EXPECT_EQ(error.message,
              "127.0.0.1:5433 is listed twice (first at databases.app.replicas[0], line 9)");
}

TEST(ParseReplicasErrors, BrokenPrimaryIsNotComparedWithTheReplicas) {
    const ConfigError error =
        only_error(kBase.substr(0, kBase.find("    primary")) +
                   join({"    primary: nowhere", "    replicas: [127.0.0.1:5433]"}));
    EXPECT_EQ(error.key, "databases.app.primary");
    EXPECT_EQ(error.line, 7);
}

TEST(ParseRoutingErrors, ValuesBelowTheirMinimum) {
    const LoadResult result = parse_config(kBase + join({
                                                       "routing:",                          // 8
                                                       "  pin_after_write_ms: 0",           // 9: ok
                                                       "  consistency_keys: 0",             // 10
                                                       "  max_replica_lag_ms: 0",           // 11
                                                       "  health_check_interval_ms: 9",     // 12
                                                       "  circuit_breaker:",                // 13
                                                       "    failures: 0",                   // 14
                                                       "    open_ms: 0",                    // 15
                                                       "  catalog_refresh_interval_ms: 0",  // 16
                                                   }));
    ASSERT_EQ(result.errors.size(), 6u) << dump_errors(result);
    const std::pair<std::string_view, int> expected[] = {
        {"routing.consistency_keys", 10},         {"routing.max_replica_lag_ms", 11},
        {"routing.health_check_interval_ms", 12}, {"routing.circuit_breaker.failures", 14},
        {"routing.circuit_breaker.open_ms", 15},  {"routing.catalog_refresh_interval_ms", 16},
    };
    for (std::size_t i = 0; i < std::size(expected); ++i) {
        EXPECT_EQ(result.errors[i].key, expected[i].first) << i;
        EXPECT_EQ(result.errors[i].line, expected[i].second) << i;
    }
    EXPECT_TRUE(contains(result.errors[1].message, "no 'unlimited' value")) << dump_errors(result);
    EXPECT_EQ(result.errors[2].message, "must be at least 10");
}

TEST(ParseRoutingErrors, BadGlobalValueIsReportedOnceNotPerDatabase) {
    const LoadResult result = parse_config(kBase + join({
                                                       "  reports:",                  // 8
                                                       "    primary: 10.0.0.1:5432",  // 9
                                                       "    routing:",                // 10
                                                       "      balance: least_busy",   // 11
                                                       "routing:",                    // 12
                                                       "  max_replica_lag_ms: 0",     // 13
                                                   }));
    ASSERT_EQ(result.errors.size(), 1u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "routing.max_replica_lag_ms");
    EXPECT_EQ(result.errors[0].line, 13);
}

TEST(ParseRoutingErrors, BadDatabaseValueIsReportedAtTheDatabase) {
    const LoadResult result = parse_config(kBase + join({
                                                       "    routing:",                       // 8
                                                       "      circuit_breaker:",             // 9
                                                       "        failures: 0",                // 10
                                                       "      health_check_interval_ms: 1",  // 11
                                                       "routing:",                           // 12
                                                       "  circuit_breaker: {failures: 2}",   // 13
                                                   }));
    ASSERT_EQ(result.errors.size(), 2u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "databases.app.routing.circuit_breaker.failures");
    EXPECT_EQ(result.errors[0].line, 10);
    EXPECT_EQ(result.errors[1].key, "databases.app.routing.health_check_interval_ms");
    EXPECT_EQ(result.errors[1].line, 11);
}

TEST(ParseRoutingErrors, WriteFunctionNames) {
    const LoadResult result = parse_config(kBase + join({
                                                       "routing:",            // 8
                                                       "  write_functions:",  // 9
                                                       "    - audit",         // 10
                                                       "    - \"\"",          // 11
                                                       "    - public.touch",  // 12
                                                       "    - \"bump()\"",    // 13
                                                       "    - AUDIT",         // 14
                                                       "    - {name: x}",     // 15
                                                   }));
    ASSERT_EQ(result.errors.size(), 5u) << dump_errors(result);
    EXPECT_EQ(result.errors[0].key, "routing.write_functions[1]");
    EXPECT_EQ(result.errors[0].line, 11);
    EXPECT_EQ(result.errors[0].message, "must not be empty");
    EXPECT_EQ(result.errors[1].key, "routing.write_functions[2]");
    EXPECT_EQ(result.errors[1].line, 12);
    EXPECT_TRUE(contains(result.errors[1].message, "without its schema ('touch')"))
        << dump_errors(result);
    EXPECT_EQ(result.errors[2].key, "routing.write_functions[3]");
    EXPECT_EQ(result.errors[2].line, 13);
    EXPECT_TRUE(contains(result.errors[2].message, "without parentheses")) << dump_errors(result);
    EXPECT_EQ(result.errors[3].key, "routing.write_functions[4]");
    EXPECT_EQ(result.errors[3].line, 14);
    EXPECT_EQ(result.errors[3].message,
              "'audit' is listed twice (first at routing.write_functions[0], line 10)");
    EXPECT_EQ(result.errors[4].key, "routing.write_functions[5]");
    EXPECT_EQ(result.errors[4].line, 15);
    EXPECT_EQ(result.errors[4].message, "expected a function name, got a mapping");
}

TEST(ParseHealthCheckUserErrors, UnknownUserListsTheUsers) {
    const ConfigError error = only_error(kBase + join({"health_check_user: monitor"}));
    EXPECT_EQ(error.key, "health_check_user");
    EXPECT_EQ(error.line, 8);
    EXPECT_EQ(error.message, "no user 'monitor' under users (users: app)");
}

TEST(ParseHealthCheckUserErrors, EmptyOrNotAString) {
    ConfigError error = only_error(kBase + join({"health_check_user: \"\""}));
    EXPECT_EQ(error.key, "health_check_user");
    EXPECT_EQ(error.line, 8);
    EXPECT_TRUE(contains(error.message, "must name one of the users")) << error.message;
    error = only_error(kBase + join({"health_check_user: [app]"}));
    EXPECT_EQ(error.key, "health_check_user");
    EXPECT_EQ(error.line, 8);
    EXPECT_EQ(error.message, "expected a string, got a list");
}

const std::string kScramOnlyUser = join({
    "listen: 127.0.0.1:6432",  // 1
    "users:",                  // 2
    "  - name: app",           // 3
    "    password: \"SCRAM-SHA-256$4096:cGdyb3V0ZXItc2FsdC0xNg==$zvpQlyMLHNA/iCmsf1ulSPDh7fiIxSe"
    "/aFqEkm8LDJo=:VWHtN8S7LJluHrs2OVU+8LrMaB+4p3gdxqaOK42vWMw=\"",  // 4
    "databases:",                                                    // 5
    "  app:",                                                        // 6
    "    primary: 127.0.0.1:5432",                                   // 7
});

TEST(ParseHealthCheckUserErrors, ExplicitUserWithoutServerCredential) {
    const ConfigError error = only_error(kScramOnlyUser + join({"health_check_user: app"}));
    EXPECT_EQ(error.key, "health_check_user");
    EXPECT_EQ(error.line, 8);
    EXPECT_TRUE(contains(error.message, "user 'app' has no server credential")) << error.message;
}

TEST(ParseHealthCheckUserErrors, ReplicasWithoutAnyUsableUser) {
    const ConfigError error = only_error(kScramOnlyUser + join({"    replicas: [127.0.0.1:5433]"}));
    EXPECT_EQ(error.key, "databases.app.replicas");
    EXPECT_EQ(error.line, 8);
    EXPECT_TRUE(contains(error.message, "no user has a server credential")) << error.message;
    EXPECT_TRUE(contains(error.message, "health_check_user")) << error.message;
}

}  // namespace
}  // namespace pgrouter::config
