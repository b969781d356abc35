// pgrouter/routing/route.cpp — the routing decision and the topology it reads.
#include "pgrouter/routing/route.hpp"

namespace pgrouter::routing {

Topology::Topology(const config::Config& config) {
    for (const auto& database : config.databases) {
        DatabaseTopology topology;
        topology.dbname = database.dbname;
        topology.servers.push_back(database.primary);
        topology.primary = 0;
        databases_.emplace(database.name, std::move(topology));
    }
}

const DatabaseTopology* Topology::find(std::string_view database) const noexcept {
    auto it = databases_.find(std::string(database));
    return it == databases_.end() ? nullptr : &it->second;
}

Decision route(const RouteRequest& /*request*/, const SessionView& /*session*/,
               const DatabaseTopology& topology) noexcept {
    // One server per database so far: everything goes to the primary. Replicas (reads) and
    // shards fill this in; the session already calls it before it leases anything.
    return Decision{topology.primary, Reason::Primary};
}

std::string_view to_string(Reason reason) noexcept {
    switch (reason) {
        case Reason::Primary:
            return "primary";
    }
    return "?";
}

}  // namespace pgrouter::routing
