// tests/unit/config/load_test.cpp — parse_config/load_config_file on valid input: every key read
// into the right field, defaults, the shipped example files, parse_address and format_error.
// Error reporting is in load_errors_test.cpp.
#include "pgrouter/config/load.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pgrouter::config {
namespace {

using std::chrono::milliseconds;

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

// The repository's config/ directory, found from this file so no compile definition is needed.
std::filesystem::path repo_config_dir() {
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
           "config";
}

const std::string kMinimal = join({
    "listen: 127.0.0.1:6432",
    "users:",
    "  - name: app",
    "    password: secret",
    "databases:",
    "  app:",
    "    primary: 127.0.0.1:5432",
});

TEST(ParseConfig, MinimalConfigGetsDefaults) {
    const LoadResult result = parse_config(kMinimal);
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    ASSERT_TRUE(result.errors.empty());
    const Config& config = *result.config;
    EXPECT_EQ(config.listen, (Address{"127.0.0.1", 6432}));
    EXPECT_EQ(config.workers, 0u);
    EXPECT_EQ(config.pool.mode, PoolMode::Transaction);
    EXPECT_EQ(config.pool.size, 20u);
    EXPECT_EQ(config.pool.query_wait_timeout, milliseconds(5000));
    EXPECT_EQ(config.limits.max_message_bytes, 1073741823u);
    EXPECT_EQ(config.limits.server_reset_query, "DISCARD ALL");
    EXPECT_EQ(config.log.level, LogLevel::Info);

    ASSERT_EQ(config.users.size(), 1u);
    const UserConfig& user = config.users[0];
    EXPECT_EQ(user.name, "app");
    EXPECT_EQ(user.auth, AuthMethod::ScramSha256);
    EXPECT_EQ(user.password, "secret");
    EXPECT_EQ(user.password_kind, PasswordKind::Plain);
    EXPECT_EQ(user.server_password, "secret");  // defaults to a plaintext password
    EXPECT_FALSE(user.server_password_explicit);

    ASSERT_EQ(config.databases.size(), 1u);
    EXPECT_EQ(config.databases[0].name, "app");
    EXPECT_EQ(config.databases[0].dbname, "app");  // defaults to the key
    EXPECT_EQ(config.databases[0].primary, (Address{"127.0.0.1", 5432}));
}

// Every key, each set to a value different from its default, so a key read into the wrong field
// (or not read at all) fails.
TEST(ParseConfig, EveryKeyIsReadIntoItsField) {
    const LoadResult result = parse_config(join({
        "listen: \"0.0.0.0:7000\"",
        "workers: 3",
        "pool:",
        "  mode: session",
        "  size: 7",
        "  min_size: 2",
        "  max_client_conn: 500",
        "  query_wait_timeout_ms: 1001",
        "  server_idle_timeout_ms: 1002",
        "  server_lifetime_ms: 1003",
        "  connect_timeout_ms: 1004",
        "users:",
        "  - name: app",
        "    auth: md5",
        "    password: \"pw1\"",
        "    server_password: \"pw2\"",
        "  - name: trusted",
        "    auth: trust",
        "databases:",
        "  app:",
        "    dbname: app_prod",
        "    primary: \"db.internal:5433\"",
        "  other:",
        "    primary: \"[::1]:5434\"",
        "limits:",
        "  max_startup_packet_bytes: 4096",
        "  max_message_bytes: 2048",
        "  client_login_timeout_ms: 1005",
        "  shutdown_timeout_ms: 1006",
        "  server_reset_query: \"RESET ALL\"",
        "  server_check_idle: false",
        "log:",
        "  level: debug",
        "  connections: false",
    }));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    const Config& config = *result.config;
    EXPECT_EQ(config.listen, (Address{"0.0.0.0", 7000}));
    EXPECT_EQ(config.workers, 3u);
    EXPECT_EQ(config.pool.mode, PoolMode::Session);
    EXPECT_EQ(config.pool.size, 7u);
    EXPECT_EQ(config.pool.min_size, 2u);
    EXPECT_EQ(config.pool.max_client_conn, 500u);
    EXPECT_EQ(config.pool.query_wait_timeout, milliseconds(1001));
    EXPECT_EQ(config.pool.server_idle_timeout, milliseconds(1002));
    EXPECT_EQ(config.pool.server_lifetime, milliseconds(1003));
    EXPECT_EQ(config.pool.connect_timeout, milliseconds(1004));

    ASSERT_EQ(config.users.size(), 2u);
    EXPECT_EQ(config.users[0].name, "app");
    EXPECT_EQ(config.users[0].auth, AuthMethod::Md5);
    EXPECT_EQ(config.users[0].password, "pw1");
    EXPECT_EQ(config.users[0].server_password, "pw2");
    EXPECT_TRUE(config.users[0].server_password_explicit);
    EXPECT_EQ(config.users[1].name, "trusted");
    EXPECT_EQ(config.users[1].auth, AuthMethod::Trust);
    EXPECT_EQ(config.users[1].password_kind, PasswordKind::None);
    EXPECT_EQ(config.users[1].server_password, "");

    ASSERT_EQ(config.databases.size(), 2u);
    EXPECT_EQ(config.databases[0].name, "app");
    EXPECT_EQ(config.databases[0].dbname, "app_prod");
    EXPECT_EQ(config.databases[0].primary, (Address{"db.internal", 5433}));
    EXPECT_EQ(config.databases[1].name, "other");
    EXPECT_EQ(config.databases[1].dbname, "other");
    EXPECT_EQ(config.databases[1].primary, (Address{"::1", 5434}));

    EXPECT_EQ(config.limits.max_startup_packet_bytes, 4096u);
    EXPECT_EQ(config.limits.max_message_bytes, 2048u);
    EXPECT_EQ(config.limits.client_login_timeout, milliseconds(1005));
    EXPECT_EQ(config.limits.shutdown_timeout, milliseconds(1006));
    EXPECT_EQ(config.limits.server_reset_query, "RESET ALL");
    EXPECT_FALSE(config.limits.server_check_idle);
    EXPECT_EQ(config.log.level, LogLevel::Debug);
    EXPECT_FALSE(config.log.connections);
}

TEST(ParseConfig, ScramVerifierWithoutServerPasswordIsPassThrough) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        std::string("    password: \"") + std::string(kVerifier) + "\"",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    const UserConfig& user = result.config->users[0];
    EXPECT_EQ(user.password, kVerifier);
    EXPECT_EQ(user.password_kind, PasswordKind::ScramVerifier);
    EXPECT_EQ(user.server_password, "");  // a verifier cannot answer a server challenge
    EXPECT_FALSE(user.server_password_explicit);
}

TEST(ParseConfig, Md5HashPasswordAlsoServesAsServerPassword) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    auth: md5",
        std::string("    password: ") + std::string(kMd5Hash),
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    const UserConfig& user = result.config->users[0];
    EXPECT_EQ(user.password_kind, PasswordKind::Md5Hash);
    EXPECT_EQ(user.server_password, kMd5Hash);
}

TEST(ParseConfig, TrustUserMayHaveOnlyAServerPassword) {
    const LoadResult result = parse_config(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: app",
        "    auth: trust",
        "    server_password: backend",
        "databases: {app: {primary: \"127.0.0.1:5432\"}}",
    }));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    const UserConfig& user = result.config->users[0];
    EXPECT_EQ(user.password_kind, PasswordKind::None);
    EXPECT_EQ(user.server_password, "backend");
    EXPECT_TRUE(user.server_password_explicit);
}

TEST(ParseConfig, EmptySectionsKeepDefaults) {
    const LoadResult result = parse_config(kMinimal + join({"pool:", "limits:", "log: {}"}));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    EXPECT_EQ(result.config->pool.size, 20u);
    EXPECT_TRUE(result.config->limits.server_check_idle);
}

TEST(ParseConfig, ExplicitIntTagAndPlusSignAreIntegers) {
    const LoadResult result =
        parse_config(kMinimal + join({"workers: !!int 4", "pool:", "  size: +9"}));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    EXPECT_EQ(result.config->workers, 4u);
    EXPECT_EQ(result.config->pool.size, 9u);
}

TEST(ParseConfig, LargestValuesInRangeAreAccepted) {
    const LoadResult result = parse_config(kMinimal + join({
                                                          "workers: 1024",
                                                          "pool:",
                                                          "  max_client_conn: 4294967295",
                                                          "  server_lifetime_ms: 31536000000",
                                                          "limits:",
                                                          "  max_message_bytes: 2147483647",
                                                      }));
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    EXPECT_EQ(result.config->pool.max_client_conn, 4294967295u);
    EXPECT_EQ(result.config->pool.server_lifetime, milliseconds(31536000000));
    EXPECT_EQ(result.config->limits.max_message_bytes, 2147483647u);
}

TEST(ParseConfig, ReadmeExampleFileLoads) {
    const std::filesystem::path path = repo_config_dir() / "pgrouter.yaml";
    const LoadResult result = load_config_file(path.string());
    ASSERT_TRUE(result.ok()) << path << "\n" << dump_errors(result);
    const Config& config = *result.config;
    EXPECT_EQ(config.listen, (Address{"127.0.0.1", 6432}));
    ASSERT_NE(config.find_user("app"), nullptr);
    EXPECT_EQ(config.find_user("app")->password, "app");
    EXPECT_EQ(config.find_user("app")->server_password, "app");
    ASSERT_NE(config.find_database("app"), nullptr);
    EXPECT_EQ(config.find_database("app")->dbname, "app");
    EXPECT_EQ(config.find_database("app")->primary, (Address{"127.0.0.1", 5432}));
}

TEST(ParseConfig, DockerExampleFileLoads) {
    const std::filesystem::path path = repo_config_dir() / "pgrouter.docker.yaml";
    const LoadResult result = load_config_file(path.string());
    ASSERT_TRUE(result.ok()) << path << "\n" << dump_errors(result);
    EXPECT_EQ(result.config->listen, (Address{"0.0.0.0", 6432}));
    ASSERT_NE(result.config->find_database("app"), nullptr);
    EXPECT_EQ(result.config->find_database("app")->primary, (Address{"postgres", 5432}));
}

TEST(LoadConfigFile, MissingFileGivesOneError) {
    const LoadResult result = load_config_file("/nonexistent/pgrouter-test/none.yaml");
    EXPECT_FALSE(result.ok());
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].line, 0);
    EXPECT_NE(result.errors[0].message.find("none.yaml"), std::string::npos);
}

TEST(LoadConfigFile, DirectoryGivesOneError) {
    const LoadResult result = load_config_file(repo_config_dir().string());
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(result.errors.size(), 1u);
}

TEST(ParseAddress, AcceptsHostPortForms) {
    EXPECT_EQ(parse_address("127.0.0.1:6432"), (Address{"127.0.0.1", 6432}));
    EXPECT_EQ(parse_address("postgres:5432"), (Address{"postgres", 5432}));
    EXPECT_EQ(parse_address("db-1.example.com:1"), (Address{"db-1.example.com", 1}));
    EXPECT_EQ(parse_address("[::1]:6432"), (Address{"::1", 6432}));
    EXPECT_EQ(parse_address("[fe80::1%eth0]:65535"), (Address{"fe80::1%eth0", 65535}));
}

class ParseAddressRejects : public ::testing::TestWithParam<std::string_view> {};

TEST_P(ParseAddressRejects, Invalid) {
    EXPECT_FALSE(parse_address(GetParam()).has_value()) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Forms, ParseAddressRejects,
                         ::testing::Values("", "127.0.0.1", ":5432", "host:", "host:0",
                                           "host:65536", "host:99999", "host:99999999999999999999",
                                           "host:-1", "host:12ab", "host: 5432", "::1:5432",
                                           "[::1]", "[::1]5432", "[::1:5432", "[]:5432",
                                           "ho st:5432", "user@host:5432"));

TEST(FormatError, FileLineKeyMessage) {
    EXPECT_EQ(
        format_error(ConfigError{"pool.size", 12, "expected a non-negative integer, got 'many'"},
                     "pgrouter.yaml"),
        "pgrouter.yaml:12: pool.size: expected a non-negative integer, got 'many'");
}

TEST(FormatError, LeavesOutUnknownLineAndEmptyKey) {
    EXPECT_EQ(format_error(ConfigError{"listen", 0, "required key is missing"}, "a.yaml"),
              "a.yaml: listen: required key is missing");
    EXPECT_EQ(format_error(ConfigError{"", 3, "invalid YAML: x"}, "a.yaml"),
              "a.yaml:3: invalid YAML: x");
}

}  // namespace
}  // namespace pgrouter::config

namespace pgrouter::config {
namespace {

TEST(ParseConfig, PreparedStatementCacheAndSessionStatePolicy) {
    const std::string text = join({
        "listen: 127.0.0.1:6432",
        "pool:",
        "  prepared_statements_per_server: 50",
        "users:",
        "  - name: app",
        "    password: secret",
        "databases:",
        "  app:",
        "    primary: 127.0.0.1:5432",
        "    on_session_state: error",
        "  other:",
        "    primary: 127.0.0.1:5432",
    });
    LoadResult result = parse_config(text);
    ASSERT_TRUE(result.ok()) << dump_errors(result);
    EXPECT_EQ(result.config->pool.prepared_statements_per_server, 50u);
    EXPECT_EQ(result.config->find_database("app")->on_session_state, SessionStatePolicy::Error);
    EXPECT_EQ(result.config->find_database("other")->on_session_state, SessionStatePolicy::Pin);
}

TEST(ParseConfig, BadSessionStatePolicyAndZeroStatementCacheAreErrors) {
    const std::string text = join({
        "listen: 127.0.0.1:6432",
        "pool:",
        "  prepared_statements_per_server: 0",
        "users:",
        "  - name: app",
        "    password: secret",
        "databases:",
        "  app:",
        "    primary: 127.0.0.1:5432",
        "    on_session_state: sometimes",
    });
    LoadResult result = parse_config(text);
    EXPECT_FALSE(result.ok());
    std::string errors = dump_errors(result);
    EXPECT_NE(errors.find("test.yaml:3: pool.prepared_statements_per_server"), std::string::npos)
        << errors;
    EXPECT_NE(errors.find("test.yaml:10: databases.app.on_session_state"), std::string::npos)
        << errors;
}

}  // namespace
}  // namespace pgrouter::config
