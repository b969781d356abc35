// pgrouter/routing/route.cpp — the routing decision and the topology it reads.
#include "pgrouter/routing/route.hpp"

#include <cstdio>

namespace pgrouter::routing {

Topology::Topology(const config::Config& config) {
    for (const auto& database : config.databases) {
        auto group_topology = [&](const config::ServerGroup& group) {
            DatabaseTopology topology;
            topology.name = database.name;
            topology.dbname = database.dbname;
            topology.servers.push_back(*group.primary);
            topology.servers.insert(topology.servers.end(), group.replicas->begin(),
                                    group.replicas->end());
            topology.primary = 0;
            topology.routing = database.routing;
            return topology;
        };
        DatabaseTopology topology = group_topology({&database.primary, &database.replicas});
        if (!database.shards.empty()) {
            for (const config::ServerGroup& group : config::server_groups(database)) {
                topology.shards.push_back(group_topology(group));
            }
        }
        databases_.emplace(database.name, std::move(topology));
    }
}

const DatabaseTopology* Topology::find(std::string_view database) const noexcept {
    auto it = databases_.find(std::string(database));
    return it == databases_.end() ? nullptr : &it->second;
}

namespace {

constexpr ServerStatus kUnprobed{};

const ServerStatus& status_of(std::span<const ServerStatus> status, std::size_t server) {
    return server < status.size() ? status[server] : kUnprobed;
}

// Until a probe has answered, the configured roles hold.
Role role_of(const DatabaseTopology& topology, std::span<const ServerStatus> status,
             std::size_t server) {
    Role role = status_of(status, server).role;
    if (role != Role::Unknown) {
        return role;
    }
    return server == topology.primary ? Role::Primary : Role::Replica;
}

Decision decided(std::size_t server, Reason reason, WriteCause cause = WriteCause::None) {
    Decision decision;
    decision.server = server;
    decision.reason = reason;
    decision.cause = cause;
    return decision;
}

// Why the replicas could not take a read, from the servers they lost to.
struct Exclusions {
    std::size_t lagging = SIZE_MAX;  // the worst lagging replica
    std::uint32_t worst_lag = 0;
    bool behind_lsn = false;
    bool beyond_bound = false;
};

// On the primary, for `reason`, or refused when the primary cannot take it.
Decision on_primary(const Decision& primary, Reason reason, WriteCause cause = WriteCause::None) {
    if (primary.refused()) {
        return primary;
    }
    Decision decision = decided(primary.server, reason, cause);
    return decision;
}

}  // namespace

Decision current_primary(const DatabaseTopology& topology,
                         std::span<const ServerStatus> status) noexcept {
    // Only a server that answers can claim the role: an old primary that went away does not.
    std::size_t found = SIZE_MAX;
    std::size_t second = SIZE_MAX;
    std::size_t unavailable = SIZE_MAX;
    for (std::size_t i = 0; i < topology.servers.size(); ++i) {
        if (role_of(topology, status, i) != Role::Primary) {
            continue;
        }
        if (!status_of(status, i).available) {
            unavailable = unavailable == SIZE_MAX ? i : unavailable;
        } else if (found == SIZE_MAX) {
            found = i;
        } else if (second == SIZE_MAX) {
            second = i;
        }
    }
    if (second != SIZE_MAX) {
        // Writing to either could lose writes: refuse until only one claims the role.
        Decision refused = decided(found, Reason::TwoPrimaries);
        refused.about = second;
        return refused;
    }
    if (found == SIZE_MAX) {
        Decision refused =
            decided(unavailable == SIZE_MAX ? topology.primary : unavailable, Reason::NoPrimary);
        refused.about = refused.server;
        return refused;
    }
    return decided(found, topology.servers.size() == 1 ? Reason::Primary : Reason::Write);
}

Decision route(const RouteRequest& request, const SessionView& session,
               const DatabaseTopology& topology, std::span<const ServerStatus> status) noexcept {
    const Decision primary = current_primary(topology, status);
    const config::RoutingConfig& rules = topology.routing;
    if (topology.servers.size() == 1) {
        return on_primary(primary, Reason::Primary);
    }
    if (session.pinned) {
        return on_primary(primary, Reason::Pinned);
    }
    if (request.access == Access::Write) {
        return on_primary(primary, Reason::Write, request.cause);
    }
    if (request.access == Access::Transaction) {
        return on_primary(primary, Reason::Transaction);
    }
    // A read, or a read-only transaction.
    const bool forced_replica =
        request.hint == Hint::Replica ||
        (request.hint == Hint::None && session.route == SessionRoute::Replica);
    if (request.hint == Hint::Primary) {
        return on_primary(primary, Reason::HintPrimary);
    }
    if (request.hint == Hint::None && session.route == SessionRoute::Primary) {
        return on_primary(primary, Reason::SessionPrimary);
    }
    if (!forced_replica) {
        if (rules.read_from == config::ReadFrom::Primary) {
            return on_primary(primary, Reason::ReadFromPrimary);
        }
        if (rules.consistency == config::Consistency::Window && session.since_write_ms >= 0 &&
            session.since_write_ms < rules.pin_after_write.count()) {
            Decision decision = on_primary(primary, Reason::PinnedWindow);
            decision.detail_ms = static_cast<std::uint32_t>(session.since_write_ms);
            return decision;
        }
        if (rules.consistency == config::Consistency::Lsn && session.lsn_pending) {
            return on_primary(primary, Reason::PinnedLsn);
        }
    }
    const bool lsn_bound = !forced_replica && rules.consistency == config::Consistency::Lsn &&
                           session.required_lsn != 0;
    // Candidates: at most a handful of servers, kept on the stack.
    constexpr std::size_t kMaxCandidates = 64;
    std::size_t candidates[kMaxCandidates];
    std::size_t count = 0;
    Exclusions excluded;
    for (std::size_t i = 0; i < topology.servers.size() && count < kMaxCandidates; ++i) {
        const ServerStatus& s = status_of(status, i);
        Role role = role_of(topology, status, i);
        if (role == Role::Primary) {
            if (rules.read_from == config::ReadFrom::Any && !forced_replica && !primary.refused() &&
                primary.server == i) {
                candidates[count++] = i;
            }
            continue;
        }
        if (!s.available) {
            continue;
        }
        if (!s.lag_ok) {
            if (excluded.lagging == SIZE_MAX || s.lag_ms > excluded.worst_lag) {
                excluded.lagging = i;
                excluded.worst_lag = s.lag_ms;
            }
            continue;
        }
        if (request.max_lag_ms != 0 && s.lag_ms > request.max_lag_ms) {
            excluded.beyond_bound = true;
            continue;
        }
        if (lsn_bound && s.replay_lsn < session.required_lsn) {
            excluded.behind_lsn = true;
            continue;
        }
        candidates[count++] = i;
    }
    if (count == 0) {
        if (excluded.behind_lsn) {
            return on_primary(primary, Reason::PinnedLsn);
        }
        if (excluded.beyond_bound) {
            return on_primary(primary, Reason::StalenessBound);
        }
        if (excluded.lagging != SIZE_MAX) {
            Decision decision = on_primary(primary, Reason::ReplicaLagging);
            decision.about = excluded.lagging;
            decision.detail_ms = excluded.worst_lag;
            return decision;
        }
        return on_primary(primary, Reason::NoReplica);
    }
    std::size_t pick = candidates[session.ticket % count];
    if (rules.balance == config::Balance::LeastBusy) {
        // Fewest transactions in flight; ties go round the candidates from the ticket.
        for (std::size_t k = 0; k < count; ++k) {
            std::size_t i = candidates[(session.ticket + k) % count];
            if (status_of(status, i).in_flight < status_of(status, pick).in_flight) {
                pick = i;
            }
        }
    }
    Reason reason = request.hint == Hint::Replica                      ? Reason::HintReplica
                    : forced_replica                                   ? Reason::SessionReplica
                    : role_of(topology, status, pick) == Role::Primary ? Reason::PrimaryRead
                                                                       : Reason::ReplicaRead;
    return decided(pick, reason);
}

std::string_view to_string(Reason reason) noexcept {
    switch (reason) {
        case Reason::Primary:
            return "only server";
        case Reason::Write:
            return "write";
        case Reason::Transaction:
            return "transaction";
        case Reason::ReadFromPrimary:
            return "read, read_from: primary";
        case Reason::ReplicaRead:
        case Reason::PrimaryRead:
            return "read";
        case Reason::PinnedWindow:
            return "pinned: wrote recently";
        case Reason::PinnedLsn:
            return "pinned: no replica has replayed this client's last write yet";
        case Reason::ReplicaLagging:
            return "replicas lag";
        case Reason::NoReplica:
            return "no replica available";
        case Reason::HintPrimary:
            return "hint: primary";
        case Reason::HintReplica:
            return "hint: replica";
        case Reason::SessionPrimary:
            return "pgrouter.route = primary";
        case Reason::SessionReplica:
            return "pgrouter.route = replica";
        case Reason::StalenessBound:
            return "no replica within max_lag_ms";
        case Reason::Pinned:
            return "session pinned to one server connection";
        case Reason::NoPrimary:
            return "no primary available";
        case Reason::TwoPrimaries:
            return "more than one server claims to be primary";
    }
    return "?";
}

namespace {

std::string_view cause_text(WriteCause cause) {
    switch (cause) {
        case WriteCause::LockingClause:
            return "SELECT ... FOR UPDATE/SHARE";
        case WriteCause::WriteFunction:
            return "calls a function that writes";
        case WriteCause::Unparsed:
            return "statement not parsed";
        case WriteCause::SessionState:
            return "creates session state";
        case WriteCause::FunctionCall:
            return "function call";
        case WriteCause::None:
        case WriteCause::Statement:
            break;
    }
    return "write";
}

std::string seconds(std::uint32_t ms) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f s", static_cast<double>(ms) / 1000.0);
    return out;
}

}  // namespace

std::string describe(const Decision& decision, const DatabaseTopology& topology) {
    auto name = [&](std::size_t server) {
        return server < topology.servers.size() ? topology.servers[server].to_string()
                                                : std::string("?");
    };
    switch (decision.reason) {
        case Reason::NoPrimary:
            return "no primary: " + name(decision.about) + " is unavailable";
        case Reason::TwoPrimaries:
            return "no primary: " + name(decision.server) + " and " + name(decision.about) +
                   " both claim to be primary";
        default:
            break;
    }
    const bool replica = decision.reason == Reason::ReplicaRead ||
                         decision.reason == Reason::HintReplica ||
                         decision.reason == Reason::SessionReplica;
    std::string text = (replica ? "replica " : "primary ") + name(decision.server) + " (";
    switch (decision.reason) {
        case Reason::Write:
            text += cause_text(decision.cause);
            break;
        case Reason::ReplicaRead:
        case Reason::PrimaryRead:
            text += "read, ";
            text += topology.routing.balance == config::Balance::LeastBusy ? "least_busy"
                                                                           : "round_robin";
            break;
        case Reason::PinnedWindow:
            text += "pinned: wrote " + seconds(decision.detail_ms) + " ago";
            break;
        case Reason::ReplicaLagging:
            text += "replica " + name(decision.about) + " lags " + seconds(decision.detail_ms);
            break;
        default:
            text += to_string(decision.reason);
            break;
    }
    text += ")";
    return text;
}

}  // namespace pgrouter::routing
