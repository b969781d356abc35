// Unit tests for health::ServerHealth and health::HealthBoard: circuit transitions and lag
// hysteresis driven by explicit time points, the board built from a hand-made Config.
#include "pgrouter/health/server_health.hpp"

#include <gtest/gtest.h>

namespace pgrouter::health {
namespace {

using std::chrono::milliseconds;

config::Address addr(std::uint16_t port) {
    config::Address address;
    address.host = "127.0.0.1";
    address.port = port;
    return address;
}

config::RoutingConfig routing_with(std::uint32_t failures, milliseconds open, milliseconds lag) {
    config::RoutingConfig routing;
    routing.circuit_breaker.failures = failures;
    routing.circuit_breaker.open = open;
    routing.max_replica_lag = lag;
    return routing;
}

const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1);

TEST(ServerHealth, StartsWithTheConfiguredRoleAvailableAndClosed) {
    ServerHealth server(addr(5433), routing::Role::Replica, config::RoutingConfig{});
    routing::ServerStatus status = server.status(kT0);
    EXPECT_EQ(status.role, routing::Role::Replica);
    EXPECT_TRUE(status.available);
    EXPECT_TRUE(status.lag_ok);
    EXPECT_EQ(status.lag_ms, 0u);
    EXPECT_EQ(status.replay_lsn, 0u);
    EXPECT_EQ(status.in_flight, 0u);
    EXPECT_EQ(server.circuit(kT0), Circuit::Closed);
    EXPECT_FALSE(server.refusing(kT0));
}

TEST(ServerHealth, OpensAfterConsecutiveFailuresThenHalfOpensThenCloses) {
    ServerHealth server(addr(5433), routing::Role::Replica,
                        routing_with(3, milliseconds(500), milliseconds(1000)));
    server.record_failure(kT0);
    server.record_failure(kT0 + milliseconds(100));
    EXPECT_EQ(server.circuit(kT0 + milliseconds(100)), Circuit::Closed);
    EXPECT_TRUE(server.status(kT0 + milliseconds(100)).available);

    auto opened = kT0 + milliseconds(200);
    server.record_failure(opened);
    EXPECT_EQ(server.circuit(opened), Circuit::Open);
    EXPECT_TRUE(server.refusing(opened));
    EXPECT_FALSE(server.status(opened).available);
    EXPECT_EQ(server.circuit(opened + milliseconds(499)), Circuit::Open);

    // After open_ms: half-open, still unavailable to clients until the trial.
    auto later = opened + milliseconds(500);
    EXPECT_EQ(server.circuit(later), Circuit::HalfOpen);
    EXPECT_TRUE(server.refusing(later));
    EXPECT_FALSE(server.status(later).available);

    server.record_success();
    EXPECT_EQ(server.circuit(later), Circuit::Closed);
    EXPECT_TRUE(server.status(later).available);
}

TEST(ServerHealth, AFailedTrialOpensAgainForOpenMs) {
    ServerHealth server(addr(5433), routing::Role::Replica,
                        routing_with(1, milliseconds(500), milliseconds(1000)));
    server.record_failure(kT0);
    EXPECT_EQ(server.circuit(kT0), Circuit::Open);
    auto trial = kT0 + milliseconds(700);
    EXPECT_EQ(server.circuit(trial), Circuit::HalfOpen);
    server.record_failure(trial);
    EXPECT_EQ(server.circuit(trial), Circuit::Open);
    EXPECT_EQ(server.circuit(trial + milliseconds(499)), Circuit::Open);
    EXPECT_EQ(server.circuit(trial + milliseconds(500)), Circuit::HalfOpen);
}

TEST(ServerHealth, FailuresWhileOpenDoNotExtendIt) {
    ServerHealth server(addr(5433), routing::Role::Replica,
                        routing_with(1, milliseconds(500), milliseconds(1000)));
    server.record_failure(kT0);
    server.record_failure(kT0 + milliseconds(400));
    EXPECT_EQ(server.circuit(kT0 + milliseconds(500)), Circuit::HalfOpen);
}

TEST(ServerHealth, ASuccessResetsTheConsecutiveCount) {
    ServerHealth server(addr(5433), routing::Role::Replica,
                        routing_with(3, milliseconds(500), milliseconds(1000)));
    server.record_failure(kT0);
    server.record_failure(kT0);
    server.record_success();
    server.record_failure(kT0);
    server.record_failure(kT0);
    EXPECT_EQ(server.circuit(kT0), Circuit::Closed);
    server.record_failure(kT0);
    EXPECT_EQ(server.circuit(kT0), Circuit::Open);
}

TEST(ServerHealth, ZeroFailuresNeverOpens) {
    ServerHealth server(addr(5433), routing::Role::Replica,
                        routing_with(0, milliseconds(500), milliseconds(1000)));
    for (int i = 0; i < 100; ++i) {
        server.record_failure(kT0);
    }
    EXPECT_EQ(server.circuit(kT0), Circuit::Closed);
}

TEST(ServerHealth, UnreachableIsUnavailableWhateverTheCircuit) {
    ServerHealth server(addr(5433), routing::Role::Replica, config::RoutingConfig{});
    server.set_reachable(false);
    EXPECT_FALSE(server.status(kT0).available);
    EXPECT_EQ(server.circuit(kT0), Circuit::Closed);
    server.set_reachable(true);
    EXPECT_TRUE(server.status(kT0).available);
}

TEST(ServerHealth, LagHysteresis) {
    ServerHealth server(addr(5433), routing::Role::Replica,
                        routing_with(5, milliseconds(500), milliseconds(1000)));
    server.set_replay(100, 1000);  // at the limit: still fine
    EXPECT_TRUE(server.status(kT0).lag_ok);
    server.set_replay(110, 1001);
    EXPECT_FALSE(server.status(kT0).lag_ok);
    EXPECT_EQ(server.status(kT0).lag_ms, 1001u);
    EXPECT_EQ(server.status(kT0).replay_lsn, 110u);
    server.set_replay(120, 700);  // below the limit but not below half of it
    EXPECT_FALSE(server.status(kT0).lag_ok);
    server.set_replay(130, 500);
    EXPECT_FALSE(server.status(kT0).lag_ok);
    server.set_replay(140, 499);
    EXPECT_TRUE(server.status(kT0).lag_ok);
    server.set_replay(150, 900);  // rising again: ok until above the limit
    EXPECT_TRUE(server.status(kT0).lag_ok);
}

TEST(ServerHealth, RoleFollowsTheProbe) {
    ServerHealth server(addr(5433), routing::Role::Replica, config::RoutingConfig{});
    server.set_role(routing::Role::Primary);
    EXPECT_EQ(server.status(kT0).role, routing::Role::Primary);
    EXPECT_EQ(server.role(), routing::Role::Primary);
}

TEST(ServerHealth, InFlightCountsAndNeverWraps) {
    ServerHealth server(addr(5433), routing::Role::Replica, config::RoutingConfig{});
    server.begin_use();
    server.begin_use();
    EXPECT_EQ(server.status(kT0).in_flight, 2u);
    server.end_use();
    server.end_use();
    server.end_use();
    EXPECT_EQ(server.status(kT0).in_flight, 0u);
}

config::Config two_databases() {
    config::Config config;
    config::DatabaseConfig app;
    app.name = "app";
    app.dbname = "app";
    app.primary = addr(5432);
    app.replicas = {addr(5433), addr(5434)};
    app.routing = routing_with(7, milliseconds(100), milliseconds(1000));
    config::DatabaseConfig other;
    other.name = "other";
    other.dbname = "other";
    other.primary = addr(5433);  // a replica of app: the first naming wins
    other.replicas = {addr(5432), addr(5435)};
    config.databases = {app, other};
    return config;
}

TEST(HealthBoard, OneServerPerDistinctAddressWithTheFirstRole) {
    HealthBoard board(two_databases());
    ASSERT_EQ(board.servers().size(), 4u);
    EXPECT_EQ(board.servers()[0]->address().port, 5432);
    EXPECT_EQ(board.servers()[0]->role(), routing::Role::Primary);
    EXPECT_EQ(board.servers()[1]->role(), routing::Role::Replica);
    EXPECT_EQ(board.servers()[2]->address().port, 5434);
    EXPECT_EQ(board.servers()[3]->address().port, 5435);
    EXPECT_EQ(board.servers()[3]->role(), routing::Role::Replica);
    ASSERT_NE(board.find(addr(5433)), nullptr);
    EXPECT_EQ(board.find(addr(5433)), board.servers()[1].get());
    EXPECT_EQ(board.find(addr(6000)), nullptr);
}

TEST(HealthBoard, WriteFunctionsAreNullUntilSet) {
    HealthBoard board(two_databases());
    EXPECT_EQ(board.write_functions(), nullptr);
    board.set_write_functions(std::make_shared<const std::unordered_set<std::string>>(
        std::unordered_set<std::string>{"vol_fn"}));
    ASSERT_NE(board.write_functions(), nullptr);
    EXPECT_EQ(board.write_functions()->count("vol_fn"), 1u);
}

TEST(HealthBoard, WantedLsnOnlyRises) {
    HealthBoard board(two_databases());
    EXPECT_EQ(board.wanted_lsn(), 0u);
    board.want_lsn(100);
    board.want_lsn(50);
    EXPECT_EQ(board.wanted_lsn(), 100u);
    board.want_lsn(200);
    EXPECT_EQ(board.wanted_lsn(), 200u);
}

}  // namespace
}  // namespace pgrouter::health
