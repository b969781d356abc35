// Unit tests for routing::route and routing::Topology (pure: structs in, a decision out).
#include "pgrouter/routing/route.hpp"

#include <gtest/gtest.h>

namespace pgrouter::routing {
namespace {

config::Config one_database(std::string name, std::string host, std::uint16_t port) {
    config::Config config;
    config::DatabaseConfig database;
    database.name = name;
    database.dbname = name + "_on_server";
    database.primary.host = std::move(host);
    database.primary.port = port;
    config.databases.push_back(std::move(database));
    return config;
}

TEST(Topology, ListsThePrimaryOfEachDatabase) {
    Topology topology(one_database("app", "127.0.0.1", 5432));
    const DatabaseTopology* app = topology.find("app");
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(app->dbname, "app_on_server");
    ASSERT_EQ(app->servers.size(), 1u);
    EXPECT_EQ(app->servers[app->primary].port, 5432);
    EXPECT_EQ(topology.find("other"), nullptr);
}

TEST(Route, EveryRequestGoesToThePrimaryWhenItIsTheOnlyServer) {
    Topology topology(one_database("app", "127.0.0.1", 5432));
    const DatabaseTopology& app = *topology.find("app");
    for (Access access : {Access::Read, Access::Write, Access::Transaction}) {
        RouteRequest request;
        request.access = access;
        for (bool pinned : {false, true}) {
            SessionView session;
            session.pinned = pinned;
            Decision decision = route(request, session, app, {});
            EXPECT_EQ(decision.server, app.primary);
            EXPECT_EQ(decision.reason, Reason::Primary);
            EXPECT_EQ(to_string(decision.reason), "primary");
        }
    }
}

}  // namespace
}  // namespace pgrouter::routing
