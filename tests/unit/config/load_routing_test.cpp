// tests/unit/config/load_routing_test.cpp — parse_config on the keys of issue 7: replicas, the
// global and per-database routing blocks, health_check_user. Valid input here; the errors are in
// load_routing_errors_test.cpp.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

#include "pgrouter/config/load.hpp"

namespace pgrouter::config {
namespace {

using std::chrono::milliseconds;

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
const std::string kDatabases = join({
    "databases:",
    "  app:",
    "    primary: \"127.0.0.1:5432\"",
    "    replicas: [\"127.0.0.1:5433\", \"127.0.0.1:5434\"]",
    "    routing: { read_from: any }       # optional per-database override of any key",
});
const std::string kRouting = join({
    "routing:",
    "  read_from: replicas              # replicas | primary | any",
    "  balance: round_robin             # round_robin | least_busy",
    "  transactions: primary            # primary | by_first_statement",
    "  pin_after_write_ms: 5000",
    "  consistency: window              # window | lsn",
    "  consistency_scope: connection    # connection | user | key",
    "  max_replica_lag_ms: 1000",
    "  health_check_interval_ms: 1000",
    "  circuit_breaker: { failures: 5, open_ms: 30000 }",
});

Config parse_ok(const std::string& yaml) {
    const LoadResult result = parse_config(yaml);
    EXPECT_TRUE(result.ok()) << dump_errors(result);
    return result.ok() ? *result.config : Config{};
}

// A routing block with every key away from its default.
const std::string kEveryKey = join({
    "routing:",
    "  read_from: primary",
    "  balance: least_busy",
    "  transactions: by_first_statement",
    "  pin_after_write_ms: 0",
    "  consistency: lsn",
    "  consistency_scope: key",
    "  consistency_keys: 5000",
    "  max_replica_lag_ms: 250",
    "  health_check_interval_ms: 100",
    "  circuit_breaker:",
    "    failures: 3",
    "    open_ms: 1500",
    "  write_functions: [Audit_Log, bump_counter]",
    "  catalog_refresh_interval_ms: 120000",
});

TEST(ParseRouting, TheIssueShapeParses) {
    const Config config = parse_ok(kHead + kDatabases + kRouting);
    ASSERT_EQ(config.databases.size(), 1u);
    const DatabaseConfig& app = config.databases[0];
    EXPECT_EQ(app.primary, (Address{"127.0.0.1", 5432}));
    ASSERT_EQ(app.replicas.size(), 2u);
    EXPECT_EQ(app.replicas[0], (Address{"127.0.0.1", 5433}));
    EXPECT_EQ(app.replicas[1], (Address{"127.0.0.1", 5434}));

    const RoutingConfig& global = config.routing;
    EXPECT_EQ(global.read_from, ReadFrom::Replicas);
    EXPECT_EQ(global.balance, Balance::RoundRobin);
    EXPECT_EQ(global.transactions, TransactionRouting::Primary);
    EXPECT_EQ(global.pin_after_write, milliseconds(5000));
    EXPECT_EQ(global.consistency, Consistency::Window);
    EXPECT_EQ(global.consistency_scope, ConsistencyScope::Connection);
    EXPECT_EQ(global.max_replica_lag, milliseconds(1000));
    EXPECT_EQ(global.health_check_interval, milliseconds(1000));
    EXPECT_EQ(global.circuit_breaker.failures, 5u);
    EXPECT_EQ(global.circuit_breaker.open, milliseconds(30000));

    // The override changes read_from only; everything else is the global block.
    RoutingConfig expected = global;
    expected.read_from = ReadFrom::Any;
    EXPECT_EQ(app.routing, expected);
    EXPECT_EQ(config.health_check_user, "app");
}

TEST(ParseRouting, EveryKeyIsRead) {
    const Config config = parse_ok(kHead + kDatabases + kEveryKey);
    const RoutingConfig& global = config.routing;
    EXPECT_EQ(global.read_from, ReadFrom::Primary);
    EXPECT_EQ(global.balance, Balance::LeastBusy);
    EXPECT_EQ(global.transactions, TransactionRouting::ByFirstStatement);
    EXPECT_EQ(global.pin_after_write, milliseconds(0));  // no pinning window
    EXPECT_EQ(global.consistency, Consistency::Lsn);
    EXPECT_EQ(global.consistency_scope, ConsistencyScope::Key);
    EXPECT_EQ(global.consistency_keys, 5000u);
    EXPECT_EQ(global.max_replica_lag, milliseconds(250));
    EXPECT_EQ(global.health_check_interval, milliseconds(100));
    EXPECT_EQ(global.circuit_breaker.failures, 3u);
    EXPECT_EQ(global.circuit_breaker.open, milliseconds(1500));
    // Stored lower case, as PostgreSQL folds unquoted names.
    EXPECT_EQ(global.write_functions, (std::vector<std::string>{"audit_log", "bump_counter"}));
    EXPECT_EQ(global.catalog_refresh_interval, milliseconds(120000));
    EXPECT_EQ(config.databases[0].routing.read_from, ReadFrom::Any);
    EXPECT_EQ(config.databases[0].routing.balance, Balance::LeastBusy);
}

TEST(ParseRouting, KeyOrderDoesNotMatter) {
    const Config routing_last = parse_ok(kHead + kDatabases + kEveryKey);
    const Config routing_first = parse_ok(kEveryKey + kDatabases + kHead);
    EXPECT_EQ(routing_first.routing, routing_last.routing);
    ASSERT_EQ(routing_first.databases.size(), 1u);
    EXPECT_EQ(routing_first.databases[0].routing, routing_last.databases[0].routing);
    EXPECT_EQ(routing_first.databases[0].routing.read_from, ReadFrom::Any);
    EXPECT_EQ(routing_first.databases[0].routing.consistency, Consistency::Lsn);

    // Inside a database too: routing before primary and replicas.
    const Config inner = parse_ok(kHead + join({
                                              "databases:",
                                              "  app:",
                                              "    routing:",
                                              "      balance: least_busy",
                                              "    replicas:",
                                              "      - 10.0.0.2:5432",
                                              "    primary: 10.0.0.1:5432",
                                          }));
    EXPECT_EQ(inner.databases[0].routing.balance, Balance::LeastBusy);
    EXPECT_EQ(inner.databases[0].replicas.size(), 1u);
}

TEST(ParseRouting, OverrideOfOneCircuitBreakerKeyKeepsTheOther) {
    const Config config = parse_ok(kHead + kRouting +
                                   join({
                                       "databases:",
                                       "  app:",
                                       "    primary: 127.0.0.1:5432",
                                       "    routing:",
                                       "      circuit_breaker: { failures: 2 }",
                                       "  reports:",
                                       "    primary: 127.0.0.1:5432",
                                   }));
    ASSERT_EQ(config.databases.size(), 2u);
    EXPECT_EQ(config.databases[0].routing.circuit_breaker.failures, 2u);
    EXPECT_EQ(config.databases[0].routing.circuit_breaker.open, milliseconds(30000));
    EXPECT_EQ(config.databases[0].routing.read_from, ReadFrom::Replicas);
    // A database without its own block gets exactly the global one.
    EXPECT_EQ(config.databases[1].routing, config.routing);
}

TEST(ParseRouting, DatabaseWriteFunctionsReplaceTheGlobalList) {
    const Config config = parse_ok(kHead + join({
                                               "routing:",
                                               "  write_functions: [audit]",
                                               "databases:",
                                               "  app:",
                                               "    primary: 127.0.0.1:5432",
                                               "    routing:",
                                               "      write_functions: [Touch]",
                                               "  other:",
                                               "    primary: 127.0.0.1:5432",
                                               "    routing:",
                                               "      write_functions: []",
                                           }));
    EXPECT_EQ(config.routing.write_functions, (std::vector<std::string>{"audit"}));
    EXPECT_EQ(config.databases[0].routing.write_functions, (std::vector<std::string>{"touch"}));
    EXPECT_TRUE(config.databases[1].routing.write_functions.empty());
}

TEST(ParseRouting, DefaultsWhenRoutingAndReplicasAreAbsent) {
    const Config config = parse_ok(kHead + join({
                                               "databases:",
                                               "  app:",
                                               "    primary: 127.0.0.1:5432",
                                           }));
    EXPECT_EQ(config.routing, RoutingConfig{});
    EXPECT_EQ(config.databases[0].routing, RoutingConfig{});
    EXPECT_TRUE(config.databases[0].replicas.empty());
    EXPECT_EQ(config.health_check_user, "app");
}

TEST(ParseRouting, EmptyBlocksAndListsAreAllowed) {
    const Config config = parse_ok(kHead + join({
                                               "routing:",
                                               "databases:",
                                               "  app:",
                                               "    primary: 127.0.0.1:5432",
                                               "    replicas: []",
                                               "    routing: {}",
                                               "  b:",
                                               "    primary: 127.0.0.1:5432",
                                               "    replicas:",
                                               "    routing:",
                                               "      circuit_breaker:",
                                           }));
    EXPECT_EQ(config.routing, RoutingConfig{});
    EXPECT_TRUE(config.databases[0].replicas.empty());
    EXPECT_TRUE(config.databases[1].replicas.empty());
    EXPECT_EQ(config.databases[1].routing, RoutingConfig{});
}

TEST(ParseRouting, ReplicasUseThePrimaryAddressSyntax) {
    const Config config = parse_ok(kHead + join({
                                               "databases:",
                                               "  app:",
                                               "    primary: db-primary:5432",
                                               "    replicas:",
                                               "      - db-replica-1:5432",
                                               "      - \"[::1]:5433\"",
                                               "      - 10.0.0.3:6000",
                                           }));
    const std::vector<Address>& replicas = config.databases[0].replicas;
    ASSERT_EQ(replicas.size(), 3u);
    EXPECT_EQ(replicas[0], (Address{"db-replica-1", 5432}));
    EXPECT_EQ(replicas[1], (Address{"::1", 5433}));
    EXPECT_EQ(replicas[2], (Address{"10.0.0.3", 6000}));
}

TEST(ParseRouting, ReplicaOnThePrimaryHostWithAnotherPortIsFine) {
    const Config config = parse_ok(kHead + join({
                                               "databases:",
                                               "  app:",
                                               "    primary: 127.0.0.1:5432",
                                               "    replicas: [127.0.0.1:5433]",
                                               "  other:",
                                               "    primary: 127.0.0.1:5433",
                                               "    replicas: [127.0.0.1:5432]",
                                           }));
    EXPECT_EQ(config.databases[1].replicas[0], (Address{"127.0.0.1", 5432}));
}

const std::string kDatabaseWithReplica = join({
    "databases:",
    "  app:",
    "    primary: 127.0.0.1:5432",
    "    replicas: [127.0.0.1:5433]",
});

TEST(ParseHealthCheckUser, DefaultIsTheFirstUserWithAServerCredential) {
    const Config config = parse_ok(join({
                                       "listen: 127.0.0.1:6432",
                                       "users:",
                                       "  - name: scram_only",
                                       "    password: \"SCRAM-SHA-256$4096:cGdyb3V0ZXItc2FsdC0xNg"
                                       "==$zvpQlyMLHNA/iCmsf1ulSPDh7fiIxSe/aFqEkm8LDJo=:VWHtN8S7L"
                                       "JluHrs2OVU+8LrMaB+4p3gdxqaOK42vWMw=\"",
                                       "  - name: hashed",
                                       "    auth: md5",
                                       "    password: md5fe63fea7be31b0200b496d08bc6b517d",
                                       "  - name: plain",
                                       "    password: secret",
                                   }) +
                                   kDatabaseWithReplica);
    EXPECT_EQ(config.health_check_user, "hashed");
}

TEST(ParseHealthCheckUser, TrustUserQualifiesAndAnExplicitUserWins) {
    const std::string users = join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: watcher",
        "    auth: trust",
        "  - name: app",
        "    password: secret",
    });
    EXPECT_EQ(parse_ok(users + kDatabaseWithReplica).health_check_user, "watcher");
    const Config explicit_user =
        parse_ok(kDatabaseWithReplica + "health_check_user: app\n" + users);
    EXPECT_EQ(explicit_user.health_check_user, "app");
}

TEST(ParseHealthCheckUser, NoQualifyingUserIsFineWithoutReplicas) {
    const Config config = parse_ok(join({
        "listen: 127.0.0.1:6432",
        "users:",
        "  - name: scram_only",
        "    password: "
        "\"SCRAM-SHA-256$4096:cGdyb3V0ZXItc2FsdC0xNg==$zvpQlyMLHNA/iCmsf1ulSPDh7fiIxSe"
        "/aFqEkm8LDJo=:VWHtN8S7LJluHrs2OVU+8LrMaB+4p3gdxqaOK42vWMw=\"",
        "databases:",
        "  app:",
        "    primary: 127.0.0.1:5432",
    }));
    EXPECT_EQ(config.health_check_user, "");
}

}  // namespace
}  // namespace pgrouter::config
