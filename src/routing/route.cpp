// pgrouter/routing/route.cpp — the routing decision and the topology it reads.
#include "pgrouter/routing/route.hpp"

namespace pgrouter::routing {

Topology::Topology(const config::Config& config) {
    for (const auto& database : config.databases) {
        DatabaseTopology topology;
        topology.name = database.name;
        topology.dbname = database.dbname;
        topology.servers.push_back(database.primary);
        topology.servers.insert(topology.servers.end(), database.replicas.begin(),
                                database.replicas.end());
        topology.primary = 0;
        topology.routing = database.routing;
        databases_.emplace(database.name, std::move(topology));
    }
}

const DatabaseTopology* Topology::find(std::string_view database) const noexcept {
    auto it = databases_.find(std::string(database));
    return it == databases_.end() ? nullptr : &it->second;
}

Decision current_primary(const DatabaseTopology& topology,
                         std::span<const ServerStatus> /*status*/) noexcept {
    return Decision{topology.primary, Reason::Primary};
}

Decision route(const RouteRequest& /*request*/, const SessionView& /*session*/,
               const DatabaseTopology& topology, std::span<const ServerStatus> status) noexcept {
    return current_primary(topology, status);
}

std::string_view to_string(Reason reason) noexcept {
    switch (reason) {
        case Reason::Primary:
            return "primary";
        default:
            return "?";
    }
}

std::string describe(const Decision& decision, const DatabaseTopology& topology) {
    return std::string(to_string(decision.reason)) + " " +
           topology.servers[decision.server].to_string();
}

}  // namespace pgrouter::routing
