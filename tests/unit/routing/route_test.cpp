// Unit tests for routing::route and routing::Topology (pure: structs in, a decision out).
#include "pgrouter/routing/route.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace pgrouter::routing {
namespace {

config::Address at(std::uint16_t port) {
    config::Address address;
    address.host = "127.0.0.1";
    address.port = port;
    return address;
}

config::Config database(std::size_t replicas, config::RoutingConfig routing = {}) {
    config::Config config;
    config::DatabaseConfig database;
    database.name = "app";
    database.dbname = "app_on_server";
    database.primary = at(5432);
    for (std::size_t i = 0; i < replicas; ++i) {
        database.replicas.push_back(at(static_cast<std::uint16_t>(5433 + i)));
    }
    database.routing = routing;
    config.databases.push_back(std::move(database));
    return config;
}

RouteRequest read() {
    RouteRequest request;
    request.access = Access::Read;
    request.cause = WriteCause::None;
    return request;
}

RouteRequest write(WriteCause cause = WriteCause::Statement) {
    RouteRequest request;
    request.access = Access::Write;
    request.cause = cause;
    return request;
}

std::vector<ServerStatus> probed(std::size_t replicas) {
    std::vector<ServerStatus> status(1 + replicas);
    status[0].role = Role::Primary;
    for (std::size_t i = 1; i < status.size(); ++i) {
        status[i].role = Role::Replica;
    }
    return status;
}

TEST(Topology, ListsThePrimaryThenTheReplicas) {
    Topology topology(database(2));
    const DatabaseTopology* app = topology.find("app");
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(app->dbname, "app_on_server");
    ASSERT_EQ(app->servers.size(), 3u);
    EXPECT_EQ(app->servers[app->primary].port, 5432);
    EXPECT_EQ(app->servers[1].port, 5433);
    EXPECT_EQ(app->servers[2].port, 5434);
    EXPECT_EQ(topology.find("other"), nullptr);
}

TEST(Route, EverythingGoesToTheOnlyServer) {
    Topology topology(database(0));
    const DatabaseTopology& app = *topology.find("app");
    for (Access access :
         {Access::Read, Access::Write, Access::Transaction, Access::ReadOnlyTransaction}) {
        RouteRequest request = read();
        request.access = access;
        Decision decision = route(request, SessionView{}, app, {});
        EXPECT_EQ(decision.server, 0u);
        EXPECT_EQ(decision.reason, Reason::Primary);
    }
}

TEST(Route, ReadsGoRoundTheReplicasAndWritesToThePrimary) {
    Topology topology(database(2));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    std::set<std::size_t> seen;
    for (std::uint64_t ticket = 0; ticket < 6; ++ticket) {
        SessionView session;
        session.ticket = ticket;
        Decision decision = route(read(), session, app, status);
        EXPECT_EQ(decision.reason, Reason::ReplicaRead);
        EXPECT_NE(decision.server, 0u);
        seen.insert(decision.server);
        Decision w = route(write(), session, app, status);
        EXPECT_EQ(w.server, 0u);
        EXPECT_EQ(w.reason, Reason::Write);
    }
    EXPECT_EQ(seen, (std::set<std::size_t>{1, 2}));
    EXPECT_EQ(describe(route(read(), SessionView{}, app, status), app),
              "replica 127.0.0.1:5433 (read, round_robin)");
    EXPECT_EQ(describe(route(write(WriteCause::LockingClause), SessionView{}, app, status), app),
              "primary 127.0.0.1:5432 (SELECT ... FOR UPDATE/SHARE)");
}

TEST(Route, ConfiguredRolesHoldUntilProbed) {
    Topology topology(database(1));
    const DatabaseTopology& app = *topology.find("app");
    EXPECT_EQ(route(read(), SessionView{}, app, {}).server, 1u);
    EXPECT_EQ(route(write(), SessionView{}, app, {}).server, 0u);
}

TEST(Route, TransactionsGoToThePrimaryButReadOnlyOnesMayReadReplicas) {
    Topology topology(database(2));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    RouteRequest tx = read();
    tx.access = Access::Transaction;
    EXPECT_EQ(route(tx, SessionView{}, app, status).reason, Reason::Transaction);
    tx.access = Access::ReadOnlyTransaction;
    EXPECT_EQ(route(tx, SessionView{}, app, status).reason, Reason::ReplicaRead);
}

TEST(Route, ReadFromPrimaryAndAny) {
    config::RoutingConfig rules;
    rules.read_from = config::ReadFrom::Primary;
    Topology only_primary(database(2, rules));
    auto status = probed(2);
    EXPECT_EQ(route(read(), SessionView{}, *only_primary.find("app"), status).reason,
              Reason::ReadFromPrimary);
    rules.read_from = config::ReadFrom::Any;
    Topology any(database(2, rules));
    std::set<std::size_t> seen;
    for (std::uint64_t ticket = 0; ticket < 6; ++ticket) {
        SessionView session;
        session.ticket = ticket;
        seen.insert(route(read(), session, *any.find("app"), status).server);
    }
    EXPECT_EQ(seen, (std::set<std::size_t>{0, 1, 2}));
}

TEST(Route, WindowPinsReadsAfterAWrite) {
    config::RoutingConfig rules;
    rules.pin_after_write = std::chrono::milliseconds(5000);
    Topology topology(database(2, rules));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    SessionView session;
    session.since_write_ms = 1200;
    Decision decision = route(read(), session, app, status);
    EXPECT_EQ(decision.server, 0u);
    EXPECT_EQ(decision.reason, Reason::PinnedWindow);
    EXPECT_EQ(describe(decision, app), "primary 127.0.0.1:5432 (pinned: wrote 1.2 s ago)");
    session.since_write_ms = 5000;
    EXPECT_EQ(route(read(), session, app, status).reason, Reason::ReplicaRead);
}

TEST(Route, LsnModeReadsOnlyFromReplicasThatReplayedTheWrite) {
    config::RoutingConfig rules;
    rules.consistency = config::Consistency::Lsn;
    Topology topology(database(2, rules));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    status[1].replay_lsn = 100;
    status[2].replay_lsn = 200;
    SessionView session;
    session.lsn_pending = true;
    EXPECT_EQ(route(read(), session, app, status).reason, Reason::PinnedLsn);
    session.lsn_pending = false;
    session.required_lsn = 150;
    for (std::uint64_t ticket = 0; ticket < 4; ++ticket) {
        session.ticket = ticket;
        EXPECT_EQ(route(read(), session, app, status).server, 2u);
    }
    session.required_lsn = 300;
    Decision decision = route(read(), session, app, status);
    EXPECT_EQ(decision.server, 0u);
    EXPECT_EQ(decision.reason, Reason::PinnedLsn);
    // Window pinning does not apply in lsn mode.
    session.required_lsn = 0;
    session.since_write_ms = 1;
    EXPECT_EQ(route(read(), session, app, status).reason, Reason::ReplicaRead);
}

TEST(Route, LaggingOrUnavailableReplicasGetNoReads) {
    Topology topology(database(2));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    status[1].lag_ok = false;
    status[1].lag_ms = 3100;
    for (std::uint64_t ticket = 0; ticket < 4; ++ticket) {
        SessionView session;
        session.ticket = ticket;
        EXPECT_EQ(route(read(), session, app, status).server, 2u);
    }
    status[2].available = false;
    Decision decision = route(read(), SessionView{}, app, status);
    EXPECT_EQ(decision.server, 0u);
    EXPECT_EQ(decision.reason, Reason::ReplicaLagging);
    EXPECT_EQ(describe(decision, app),
              "primary 127.0.0.1:5432 (replica 127.0.0.1:5433 lags 3.1 s)");
    status[1].lag_ok = true;
    status[1].available = false;
    EXPECT_EQ(route(read(), SessionView{}, app, status).reason, Reason::NoReplica);
}

TEST(Route, StalenessBoundHint) {
    Topology topology(database(2));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    status[1].lag_ms = 300;
    status[2].lag_ms = 50;
    RouteRequest request = read();
    request.max_lag_ms = 100;
    for (std::uint64_t ticket = 0; ticket < 4; ++ticket) {
        SessionView session;
        session.ticket = ticket;
        EXPECT_EQ(route(request, session, app, status).server, 2u);
    }
    status[2].lag_ms = 150;
    EXPECT_EQ(route(request, SessionView{}, app, status).reason, Reason::StalenessBound);
}

TEST(Route, HintsAndSessionRoute) {
    Topology topology(database(2));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    RouteRequest request = read();
    request.hint = Hint::Primary;
    EXPECT_EQ(route(request, SessionView{}, app, status).reason, Reason::HintPrimary);
    SessionView session;
    session.route = SessionRoute::Primary;
    EXPECT_EQ(route(read(), session, app, status).reason, Reason::SessionPrimary);
    request.hint = Hint::Replica;
    Decision hinted = route(request, session, app, status);
    EXPECT_EQ(hinted.reason, Reason::HintReplica);
    EXPECT_NE(hinted.server, 0u);
    // A replica hint never sends a write to a replica.
    RouteRequest w = write();
    w.hint = Hint::Replica;
    EXPECT_EQ(route(w, session, app, status).server, 0u);
    session.route = SessionRoute::Replica;
    session.since_write_ms = 10;  // the client asked for replicas explicitly
    EXPECT_EQ(route(read(), session, app, status).reason, Reason::SessionReplica);
    EXPECT_EQ(route(write(), session, app, status).server, 0u);
}

TEST(Route, LeastBusyPicksTheReplicaWithFewestTransactions) {
    config::RoutingConfig rules;
    rules.balance = config::Balance::LeastBusy;
    Topology topology(database(2, rules));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    status[1].in_flight = 5;
    status[2].in_flight = 1;
    for (std::uint64_t ticket = 0; ticket < 4; ++ticket) {
        SessionView session;
        session.ticket = ticket;
        EXPECT_EQ(route(read(), session, app, status).server, 2u);
    }
}

TEST(Route, ThePrimaryIsWhoeverTheProbesSayIsPrimary) {
    Topology topology(database(2));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(2);
    // Promoted replica 1; the old primary is gone.
    status[0].role = Role::Unknown;
    status[0].available = false;
    status[1].role = Role::Primary;
    Decision w = route(write(), SessionView{}, app, status);
    EXPECT_EQ(w.server, 1u);
    EXPECT_FALSE(w.refused());
    EXPECT_EQ(route(read(), SessionView{}, app, status).server, 2u);
    // Two servers claim the role: writes are refused, reads still go to the replica left.
    status[0].role = Role::Primary;
    status[0].available = true;
    Decision both = route(write(), SessionView{}, app, status);
    EXPECT_TRUE(both.refused());
    EXPECT_EQ(both.reason, Reason::TwoPrimaries);
    EXPECT_EQ(describe(both, app),
              "no primary: 127.0.0.1:5432 and 127.0.0.1:5433 both claim to be primary");
    EXPECT_EQ(route(read(), SessionView{}, app, status).server, 2u);
}

TEST(Route, AnUnavailablePrimaryRefusesWritesPromptly) {
    Topology topology(database(1));
    const DatabaseTopology& app = *topology.find("app");
    auto status = probed(1);
    status[0].available = false;
    Decision w = route(write(), SessionView{}, app, status);
    EXPECT_TRUE(w.refused());
    EXPECT_EQ(w.reason, Reason::NoPrimary);
    EXPECT_EQ(describe(w, app), "no primary: 127.0.0.1:5432 is unavailable");
    // Reads still have the replica.
    EXPECT_EQ(route(read(), SessionView{}, app, status).server, 1u);
}

TEST(Route, PinnedSessionsStayOnThePrimary) {
    Topology topology(database(2));
    SessionView session;
    session.pinned = true;
    EXPECT_EQ(route(read(), session, *topology.find("app"), probed(2)).reason, Reason::Pinned);
}

}  // namespace
}  // namespace pgrouter::routing
