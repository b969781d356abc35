// tests/unit/config/config_test.cpp — the small helpers on the config structs: Address text,
// user/database lookup, enum names. Pure, no YAML.
#include "pgrouter/config/config.hpp"

#include <gtest/gtest.h>

namespace pgrouter::config {
namespace {

TEST(Address, ToStringJoinsHostAndPort) {
    EXPECT_EQ((Address{"127.0.0.1", 6432}.to_string()), "127.0.0.1:6432");
    EXPECT_EQ((Address{"postgres", 5432}.to_string()), "postgres:5432");
}

TEST(Address, ToStringBracketsIpv6) {
    EXPECT_EQ((Address{"::1", 6432}.to_string()), "[::1]:6432");
}

TEST(Address, EqualityComparesHostAndPort) {
    EXPECT_EQ((Address{"a", 1}), (Address{"a", 1}));
    EXPECT_NE((Address{"a", 1}), (Address{"a", 2}));
    EXPECT_NE((Address{"a", 1}), (Address{"b", 1}));
}

Config two_of_each() {
    Config config;
    config.users.emplace_back().name = "app";
    config.users.emplace_back().name = "admin";
    config.databases.emplace_back().name = "app";
    config.databases.back().dbname = "app_prod";
    config.databases.emplace_back().name = "reports";
    return config;
}

TEST(Config, FindUserReturnsTheNamedUser) {
    const Config config = two_of_each();
    const UserConfig* user = config.find_user("admin");
    ASSERT_NE(user, nullptr);
    EXPECT_EQ(user, &config.users[1]);
    EXPECT_EQ(config.find_user("nobody"), nullptr);
    EXPECT_EQ(config.find_user(""), nullptr);
}

TEST(Config, FindDatabaseMatchesTheClientFacingName) {
    const Config config = two_of_each();
    const DatabaseConfig* database = config.find_database("app");
    ASSERT_NE(database, nullptr);
    EXPECT_EQ(database->dbname, "app_prod");
    // The server-side dbname is not a client-facing name.
    EXPECT_EQ(config.find_database("app_prod"), nullptr);
}

TEST(ConfigNames, MatchTheYamlSpelling) {
    EXPECT_EQ(to_string(PoolMode::Transaction), "transaction");
    EXPECT_EQ(to_string(PoolMode::Session), "session");
    EXPECT_EQ(to_string(AuthMethod::ScramSha256), "scram-sha-256");
    EXPECT_EQ(to_string(AuthMethod::Md5), "md5");
    EXPECT_EQ(to_string(AuthMethod::Trust), "trust");
    EXPECT_EQ(to_string(LogLevel::Trace), "trace");
    EXPECT_EQ(to_string(LogLevel::Warn), "warn");
    EXPECT_EQ(to_string(LogLevel::Off), "off");
}

TEST(ConfigNames, RoutingEnumsMatchTheYamlSpelling) {
    EXPECT_EQ(to_string(ReadFrom::Replicas), "replicas");
    EXPECT_EQ(to_string(ReadFrom::Primary), "primary");
    EXPECT_EQ(to_string(ReadFrom::Any), "any");
    EXPECT_EQ(to_string(Balance::RoundRobin), "round_robin");
    EXPECT_EQ(to_string(Balance::LeastBusy), "least_busy");
    EXPECT_EQ(to_string(TransactionRouting::Primary), "primary");
    EXPECT_EQ(to_string(TransactionRouting::ByFirstStatement), "by_first_statement");
    EXPECT_EQ(to_string(Consistency::Window), "window");
    EXPECT_EQ(to_string(Consistency::Lsn), "lsn");
    EXPECT_EQ(to_string(ConsistencyScope::Connection), "connection");
    EXPECT_EQ(to_string(ConsistencyScope::User), "user");
    EXPECT_EQ(to_string(ConsistencyScope::Key), "key");
}

TEST(ConfigNames, ShardingEnumsMatchTheYamlSpelling) {
    EXPECT_EQ(to_string(ShardFunction::Xxh3), "xxh3");
    EXPECT_EQ(to_string(ShardFunction::Modulo), "modulo");
    EXPECT_EQ(to_string(ShardKeyType::Bigint), "bigint");
    EXPECT_EQ(to_string(ShardKeyType::Integer), "integer");
    EXPECT_EQ(to_string(ShardKeyType::Smallint), "smallint");
    EXPECT_EQ(to_string(ShardKeyType::Text), "text");
    EXPECT_EQ(to_string(ShardKeyType::Uuid), "uuid");
    EXPECT_EQ(to_string(CrossShardWrites::Error), "error");
    EXPECT_EQ(to_string(CrossShardWrites::All), "all");
}

TEST(ConfigDefaults, MatchTheDocumentedYamlDefaults) {
    const Config config;
    EXPECT_EQ(config.workers, 0u);
    EXPECT_EQ(config.pool.mode, PoolMode::Transaction);
    EXPECT_EQ(config.pool.size, 20u);
    EXPECT_EQ(config.pool.min_size, 0u);
    EXPECT_EQ(config.pool.max_client_conn, 10000u);
    EXPECT_EQ(config.pool.query_wait_timeout.count(), 5000);
    EXPECT_EQ(config.pool.server_idle_timeout.count(), 600000);
    EXPECT_EQ(config.pool.server_lifetime.count(), 3600000);
    EXPECT_EQ(config.pool.connect_timeout.count(), 2000);
    EXPECT_EQ(config.limits.max_startup_packet_bytes, 10000u);
    EXPECT_EQ(config.limits.max_message_bytes, 1073741823u);
    EXPECT_EQ(config.limits.client_login_timeout.count(), 15000);
    EXPECT_EQ(config.limits.shutdown_timeout.count(), 30000);
    EXPECT_EQ(config.limits.server_reset_query, "DISCARD ALL");
    EXPECT_TRUE(config.limits.server_check_idle);
    EXPECT_EQ(config.log.level, LogLevel::Info);
    EXPECT_TRUE(config.log.connections);
}

TEST(ConfigDefaults, RoutingMatchesTheDocumentedYamlDefaults) {
    const Config config;
    const RoutingConfig& routing = config.routing;
    EXPECT_EQ(routing.read_from, ReadFrom::Replicas);
    EXPECT_EQ(routing.balance, Balance::RoundRobin);
    EXPECT_EQ(routing.transactions, TransactionRouting::Primary);
    EXPECT_EQ(routing.pin_after_write.count(), 5000);
    EXPECT_EQ(routing.consistency, Consistency::Window);
    EXPECT_EQ(routing.consistency_scope, ConsistencyScope::Connection);
    EXPECT_EQ(routing.consistency_keys, 100000u);
    EXPECT_EQ(routing.max_replica_lag.count(), 1000);
    EXPECT_EQ(routing.health_check_interval.count(), 1000);
    EXPECT_EQ(routing.circuit_breaker.failures, 5u);
    EXPECT_EQ(routing.circuit_breaker.open.count(), 30000);
    EXPECT_TRUE(routing.write_functions.empty());
    EXPECT_EQ(routing.catalog_refresh_interval.count(), 60000);
    EXPECT_TRUE(config.health_check_user.empty());
}

}  // namespace
}  // namespace pgrouter::config
