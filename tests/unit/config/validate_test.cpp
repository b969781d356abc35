// tests/unit/config/validate_test.cpp — validate_config on Configs built in code, plus
// classify_password, well_formed_scram_verifier and SourceMap. No YAML.
#include "pgrouter/config/validate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace pgrouter::config {
namespace {

constexpr std::string_view kVerifier =
    "SCRAM-SHA-256$4096:cGdyb3V0ZXItc2FsdC0xNg==$zvpQlyMLHNA/iCmsf1ulSPDh7fiIxSe/aFqEkm8LDJo=:"
    "VWHtN8S7LJluHrs2OVU+8LrMaB+4p3gdxqaOK42vWMw=";
constexpr std::string_view kMd5Hash = "md5fe63fea7be31b0200b496d08bc6b517d";

UserConfig user(std::string name, AuthMethod auth, std::string_view password) {
    UserConfig out;
    out.name = std::move(name);
    out.auth = auth;
    out.password = std::string(password);
    out.password_kind = classify_password(password);
    return out;
}

DatabaseConfig database(std::string name) {
    DatabaseConfig out;
    out.dbname = name;
    out.name = std::move(name);
    out.primary = Address{"127.0.0.1", 5432};
    return out;
}

Config valid_config() {
    Config config;
    config.listen = Address{"127.0.0.1", 6432};
    config.users.push_back(user("app", AuthMethod::ScramSha256, "app"));
    config.databases.push_back(database("app"));
    return config;
}

std::string keys_of(const std::vector<ConfigError>& errors) {
    std::string out;
    for (const ConfigError& error : errors) {
        out += error.key + ": " + error.message + "\n";
    }
    return out;
}

TEST(ValidateConfig, ValidConfigHasNoErrors) {
    EXPECT_TRUE(validate_config(valid_config()).empty())
        << keys_of(validate_config(valid_config()));
}

TEST(ValidateConfig, DefaultConfigNeedsListenUsersAndDatabases) {
    const std::vector<ConfigError> errors = validate_config(Config{});
    ASSERT_EQ(errors.size(), 3u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "listen");
    EXPECT_EQ(errors[1].key, "users");
    EXPECT_EQ(errors[2].key, "databases");
    EXPECT_EQ(errors[0].line, 0);
}

TEST(ValidateConfig, DuplicateUsersAndDatabases) {
    Config config = valid_config();
    config.users.push_back(user("app", AuthMethod::Trust, ""));
    config.databases.push_back(database("app"));
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 2u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "users[1].name");
    EXPECT_EQ(errors[1].key, "databases.app");
}

TEST(ValidateConfig, PoolSizeRules) {
    Config config = valid_config();
    config.pool.size = 4;
    config.pool.min_size = 4;
    EXPECT_TRUE(validate_config(config).empty());
    config.pool.min_size = 5;
    std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "pool.min_size");

    config.pool.min_size = 0;
    config.pool.size = 0;
    errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "pool.size");
}

TEST(ValidateConfig, ZeroTimeoutsAreRejected) {
    Config config = valid_config();
    config.pool.query_wait_timeout = std::chrono::milliseconds(0);
    config.pool.server_idle_timeout = std::chrono::milliseconds(0);
    config.pool.server_lifetime = std::chrono::milliseconds(0);
    config.pool.connect_timeout = std::chrono::milliseconds(0);
    config.limits.client_login_timeout = std::chrono::milliseconds(0);
    config.limits.shutdown_timeout = std::chrono::milliseconds(0);
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 6u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "pool.query_wait_timeout_ms");
    EXPECT_EQ(errors[5].key, "limits.shutdown_timeout_ms");
}

TEST(ValidateConfig, LimitBounds) {
    Config config = valid_config();
    config.workers = 1024;
    config.limits.max_message_bytes = 1024;
    EXPECT_TRUE(validate_config(config).empty());
    config.workers = 1025;
    config.limits.max_message_bytes = 1023;
    config.pool.max_client_conn = 0;
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 3u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "workers");
    EXPECT_EQ(errors[1].key, "pool.max_client_conn");
    EXPECT_EQ(errors[2].key, "limits.max_message_bytes");
}

TEST(ValidateConfig, MessageLimitAboveTheWireMaximum) {
    Config config = valid_config();
    config.limits.max_message_bytes = 1ull << 31;
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "limits.max_message_bytes");
}

struct AuthCase {
    AuthMethod auth;
    std::string_view password;
    bool ok;
};

class AuthPasswordCombination : public ::testing::TestWithParam<AuthCase> {};

TEST_P(AuthPasswordCombination, IsAcceptedOnlyWhenTheLoginCanBeChecked) {
    Config config = valid_config();
    config.users[0] = user("app", GetParam().auth, GetParam().password);
    const std::vector<ConfigError> errors = validate_config(config);
    if (GetParam().ok) {
        EXPECT_TRUE(errors.empty()) << keys_of(errors);
    } else {
        ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
        EXPECT_EQ(errors[0].key, "users[0].password");
    }
}

INSTANTIATE_TEST_SUITE_P(
    Table, AuthPasswordCombination,
    ::testing::Values(AuthCase{AuthMethod::ScramSha256, "plain", true},
                      AuthCase{AuthMethod::ScramSha256, kVerifier, true},
                      AuthCase{AuthMethod::ScramSha256, kMd5Hash, false},
                      AuthCase{AuthMethod::ScramSha256, "", false},
                      AuthCase{AuthMethod::Md5, "plain", true},
                      AuthCase{AuthMethod::Md5, kMd5Hash, true},
                      AuthCase{AuthMethod::Md5, kVerifier, false},
                      AuthCase{AuthMethod::Md5, "", false}, AuthCase{AuthMethod::Trust, "", true},
                      AuthCase{AuthMethod::Trust, "plain", true},
                      AuthCase{AuthMethod::Trust, "SCRAM-SHA-256$broken", false}));

TEST(ValidateConfig, ServerPasswordCannotBeAVerifier) {
    Config config = valid_config();
    config.users[0].server_password = std::string(kVerifier);
    config.users[0].server_password_explicit = true;
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "users[0].server_password");
}

TEST(ValidateConfig, PasswordKindMustMatchThePassword) {
    Config config = valid_config();
    config.users[0].password_kind = PasswordKind::None;  // forgot classify_password
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "users[0].password");
}

TEST(ValidateConfig, DatabaseNeedsDbnameAndPrimary) {
    Config config = valid_config();
    config.databases[0].dbname.clear();
    config.databases[0].primary = Address{};
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 2u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "databases.app.dbname");
    EXPECT_EQ(errors[1].key, "databases.app.primary");
}

TEST(ValidateConfig, UsesSourceLinesAndSkipsFailedKeys) {
    Config config = valid_config();
    config.pool.size = 0;
    config.pool.min_size = 3;
    config.users[0].password = "";
    config.users[0].password_kind = PasswordKind::None;
    SourceMap source;
    source.record("pool", 10);
    source.record("users[0]", 20);
    source.mark_failed("pool.size");
    const std::vector<ConfigError> errors = validate_config(config, source);
    // pool.size failed to parse, so neither its own rule nor min_size <= size is checked.
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "users[0].password");
    EXPECT_EQ(errors[0].line, 20);  // from the nearest recorded ancestor
}

TEST(ValidateRouting, DefaultsAreValid) {
    Config config = valid_config();
    config.users[0].server_password = "app";  // what the loader resolves; the prober needs it
    config.databases[0].replicas.push_back(Address{"127.0.0.1", 5433});
    EXPECT_TRUE(validate_config(config).empty()) << keys_of(validate_config(config));
}

TEST(ValidateRouting, MinimumsOfTheGlobalBlock) {
    Config config = valid_config();
    RoutingConfig& routing = config.routing;
    routing.pin_after_write = std::chrono::milliseconds(0);  // allowed: no pinning window
    routing.consistency_keys = 0;
    routing.max_replica_lag = std::chrono::milliseconds(0);
    routing.health_check_interval = std::chrono::milliseconds(9);
    routing.circuit_breaker.failures = 0;
    routing.circuit_breaker.open = std::chrono::milliseconds(0);
    routing.catalog_refresh_interval = std::chrono::milliseconds(9);
    // The database copies the global block, as the loader does: reported once, at the global key.
    config.databases[0].routing = routing;
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 6u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "routing.consistency_keys");
    EXPECT_EQ(errors[1].key, "routing.max_replica_lag_ms");
    EXPECT_EQ(errors[2].key, "routing.health_check_interval_ms");
    EXPECT_EQ(errors[3].key, "routing.catalog_refresh_interval_ms");
    EXPECT_EQ(errors[4].key, "routing.circuit_breaker.failures");
    EXPECT_EQ(errors[5].key, "routing.circuit_breaker.open_ms");
}

TEST(ValidateRouting, DatabaseValuesAreCheckedWhereTheyDifferFromTheGlobalBlock) {
    Config config = valid_config();
    config.databases[0].routing.circuit_breaker.failures = 0;
    config.databases[0].routing.write_functions = {"Audit"};
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 2u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "databases.app.routing.circuit_breaker.failures");
    EXPECT_EQ(errors[1].key, "databases.app.routing.write_functions[0]");
    EXPECT_EQ(errors[1].message, "must be lower case (as PostgreSQL folds unquoted names)");
}

TEST(ValidateRouting, WriteFunctionNames) {
    Config config = valid_config();
    config.routing.write_functions = {"audit", "", "s.f", "f(int)", "audit", "ok_name"};
    config.databases[0].routing = config.routing;
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 4u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "routing.write_functions[1]");
    EXPECT_EQ(errors[1].key, "routing.write_functions[2]");
    EXPECT_EQ(errors[2].key, "routing.write_functions[3]");
    EXPECT_EQ(errors[3].key, "routing.write_functions[4]");
    // No SourceMap: the first one is named without a line.
    EXPECT_EQ(errors[3].message, "'audit' is listed twice (first at routing.write_functions[0])");
}

TEST(ValidateReplicas, PrimaryRepeatsAndEmptyAddresses) {
    Config config = valid_config();
    config.users[0].server_password = "app";
    std::vector<Address>& replicas = config.databases[0].replicas;
    replicas.push_back(Address{"127.0.0.1", 5433});
    replicas.push_back(Address{"127.0.0.1", 5432});  // the primary
    replicas.push_back(Address{"127.0.0.1", 5433});  // again
    replicas.push_back(Address{});
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 3u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "databases.app.replicas[1]");
    EXPECT_EQ(errors[1].key, "databases.app.replicas[2]");
    EXPECT_EQ(errors[2].key, "databases.app.replicas[3]");
    EXPECT_EQ(errors[2].message, "expected \"host:port\" with a port from 1 to 65535");
}

TEST(ValidateHealthCheckUser, WhoCanLogInToTheServers) {
    UserConfig scram = user("s", AuthMethod::ScramSha256, kVerifier);
    EXPECT_FALSE(can_log_in_to_servers(scram));
    scram.server_password = "plain";
    EXPECT_TRUE(can_log_in_to_servers(scram));
    UserConfig hashed = user("h", AuthMethod::Md5, kMd5Hash);
    hashed.server_password = std::string(kMd5Hash);
    EXPECT_TRUE(can_log_in_to_servers(hashed));
    EXPECT_TRUE(can_log_in_to_servers(user("t", AuthMethod::Trust, "")));
}

TEST(ValidateHealthCheckUser, DefaultIsTheFirstQualifyingUser) {
    Config config = valid_config();
    config.users[0] = user("scram", AuthMethod::ScramSha256, kVerifier);
    EXPECT_EQ(default_health_check_user(config), "");
    config.users.push_back(user("watcher", AuthMethod::Trust, ""));
    config.users.push_back(user("other", AuthMethod::Trust, ""));
    EXPECT_EQ(default_health_check_user(config), "watcher");
}

TEST(ValidateHealthCheckUser, ExplicitUserMustExistAndQualify) {
    Config config = valid_config();
    config.users[0].server_password = "app";
    config.users.push_back(user("scram", AuthMethod::ScramSha256, kVerifier));
    config.health_check_user = "app";
    EXPECT_TRUE(validate_config(config).empty()) << keys_of(validate_config(config));
    config.health_check_user = "nobody";
    std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].message, "no user 'nobody' under users (users: app, scram)");
    config.health_check_user = "scram";
    errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "health_check_user");
}

TEST(ValidateHealthCheckUser, NeededOnlyWhenADatabaseHasReplicas) {
    Config config = valid_config();
    config.users[0] = user("scram", AuthMethod::ScramSha256, kVerifier);
    EXPECT_TRUE(validate_config(config).empty()) << keys_of(validate_config(config));
    config.databases.push_back(database("reports"));
    config.databases[1].replicas.push_back(Address{"127.0.0.1", 5433});
    const std::vector<ConfigError> errors = validate_config(config);
    ASSERT_EQ(errors.size(), 1u) << keys_of(errors);
    EXPECT_EQ(errors[0].key, "databases.reports.replicas");
}

TEST(SourceMap, LineOfWalksUpToTheNearestAncestor) {
    SourceMap source;
    source.record("users", 2);
    source.record("users[1]", 7);
    source.record("users[1].auth", 9);
    EXPECT_EQ(source.line_of("users[1].auth"), 9);
    EXPECT_EQ(source.line_of("users[1].password"), 7);
    EXPECT_EQ(source.line_of("users[3].name"), 2);
    EXPECT_EQ(source.line_of("pool.size"), 0);
}

TEST(SourceMap, FailedCoversDescendants) {
    SourceMap source;
    source.mark_failed("users[1]");
    EXPECT_TRUE(source.failed("users[1]"));
    EXPECT_TRUE(source.failed("users[1].name"));
    EXPECT_FALSE(source.failed("users[0].name"));
    EXPECT_FALSE(source.failed("users"));
}

TEST(ClassifyPassword, FollowsPostgresRules) {
    EXPECT_EQ(classify_password(""), PasswordKind::None);
    EXPECT_EQ(classify_password("app"), PasswordKind::Plain);
    EXPECT_EQ(classify_password(kMd5Hash), PasswordKind::Md5Hash);
    EXPECT_EQ(classify_password(kVerifier), PasswordKind::ScramVerifier);
    // Uppercase hex or a wrong length is not a hash PostgreSQL would recognise: plaintext.
    EXPECT_EQ(classify_password("md5FE63FEA7BE31B0200B496D08BC6B517D"), PasswordKind::Plain);
    EXPECT_EQ(classify_password("md5fe63fea7be31b0200b496d08bc6b517"), PasswordKind::Plain);
    EXPECT_EQ(classify_password("md5"), PasswordKind::Plain);
}

TEST(WellFormedScramVerifier, AcceptsARealVerifier) {
    EXPECT_TRUE(well_formed_scram_verifier(kVerifier));
}

TEST(WellFormedScramVerifier, RejectsBrokenOnes) {
    const std::string good(kVerifier);
    EXPECT_FALSE(well_formed_scram_verifier("SCRAM-SHA-256$"));
    EXPECT_FALSE(well_formed_scram_verifier("SCRAM-SHA-256$4096:c2FsdA==$abc:def"));
    std::string zero_iterations = good;
    zero_iterations.replace(14, 4, "0000");
    EXPECT_FALSE(well_formed_scram_verifier(zero_iterations));
    std::string bad_char = good;
    bad_char[good.size() - 5] = '!';
    EXPECT_FALSE(well_formed_scram_verifier(bad_char));
    EXPECT_FALSE(well_formed_scram_verifier(good.substr(0, good.size() - 1)));
    EXPECT_FALSE(well_formed_scram_verifier("scram-sha-256" + good.substr(13)));
}

}  // namespace
}  // namespace pgrouter::config
