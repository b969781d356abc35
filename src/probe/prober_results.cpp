// src/probe/prober_results.cpp — what a probe's answer changes: role, replay position and lag
// of a server, the circuit breaker, the catalogue of write functions; and the transitions that
// are logged.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "prober_impl.hpp"

namespace pgrouter::probe {
namespace {

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return text;
}

}  // namespace

std::optional<std::size_t> Prober::Impl::primary_for(std::size_t server) const {
    for (std::size_t peer : peers_[server]) {
        if (board_.servers()[peer]->role() == routing::Role::Primary) {
            return peer;
        }
    }
    return std::nullopt;
}

config::Address Prober::Impl::catalog_target(std::size_t database) const {
    // Any server's pg_proc would do (replicas carry the same catalogue, perhaps a little late);
    // the probed primary is preferred, then the configured one.
    const auto& config = config_.databases[database];
    auto is_primary = [&](const config::Address& address) {
        const health::ServerHealth* health = board_.find(address);
        return health != nullptr && health->role() == routing::Role::Primary && health->reachable();
    };
    if (is_primary(config.primary)) {
        return config.primary;
    }
    for (const auto& replica : config.replicas) {
        if (is_primary(replica)) {
            return replica;
        }
    }
    // No primary answers: a replica's copy keeps reads with functions on the replicas.
    auto reachable = [&](const config::Address& address) {
        const health::ServerHealth* health = board_.find(address);
        return health != nullptr && health->reachable();
    };
    if (reachable(config.primary)) {
        return config.primary;
    }
    for (const auto& replica : config.replicas) {
        if (reachable(replica)) {
            return replica;
        }
    }
    return config.primary;
}

void Prober::Impl::health_result(std::size_t server, const std::vector<Row>& rows,
                                 Clock::time_point now) {
    health::ServerHealth& health = *board_.servers()[server];
    if (rows.size() != 1 || rows[0].size() != 2 || !rows[0][0]) {
        health_failed(server, "unexpected reply to the health query", now);
        return;
    }
    bool in_recovery = *rows[0][0] == "t";
    std::uint64_t lsn = 0;
    if (rows[0][1]) {
        lsn = health::parse_lsn(*rows[0][1]).value_or(0);
    }
    health.set_role(in_recovery ? routing::Role::Replica : routing::Role::Primary);
    if (in_recovery) {
        milliseconds lag{0};
        if (auto primary = primary_for(server)) {
            lag = trackers_[*primary].lag(lsn, now);
        }
        auto lag_ms = static_cast<std::uint32_t>(
            std::min<std::int64_t>(lag.count(), std::numeric_limits<std::uint32_t>::max()));
        health.set_replay(lsn, lag_ms);
    } else {
        trackers_[server].sample(now, lsn);
        health.set_replay(lsn, 0);
    }
    // While Open the circuit waits for its half-open trial: an answer now does not close it.
    if (health.circuit(now) != health::Circuit::Open) {
        health.record_success();
    }
    health.set_reachable(true);
    log_transitions(server, "", now);
}

void Prober::Impl::health_failed(std::size_t server, const std::string& error,
                                 Clock::time_point now) {
    health::ServerHealth& health = *board_.servers()[server];
    health.record_failure(now);
    health.set_reachable(false);
    log_transitions(server, error, now);
}

void Prober::Impl::log_transitions(std::size_t server, const std::string& error,
                                   Clock::time_point now) {
    const health::ServerHealth& health = *board_.servers()[server];
    Logged& logged = logged_[server];
    std::string name = health.address().to_string();
    if (health.reachable() != logged.reachable) {
        logged.reachable = health.reachable();
        if (logged.reachable) {
            spdlog::info("probe: {} answers again", name);
        } else {
            spdlog::warn("probe: {} does not answer: {}", name, error);
        }
    }
    if (logged.reachable && health.role() != logged.role) {
        spdlog::warn("probe: {} is now a {} (was {})", name, role_name(health.role()),
                     role_name(logged.role));
        logged.role = health.role();
    }
    bool open = health.circuit(now) != health::Circuit::Closed;
    if (open != logged.open) {
        logged.open = open;
        if (open) {
            spdlog::warn(
                "probe: circuit of {} opened: no client is sent there until a probe "
                "succeeds after the open interval",
                name);
        } else {
            spdlog::info("probe: circuit of {} closed", name);
        }
    }
    if (health.lag_ok() != logged.lag_ok) {
        logged.lag_ok = health.lag_ok();
        if (logged.lag_ok) {
            spdlog::info("probe: replica {} caught up (lag {} ms)", name, health.lag_ms());
        } else {
            spdlog::warn("probe: replica {} lags {} ms, over max_replica_lag: reads avoid it", name,
                         health.lag_ms());
        }
    }
}

void Prober::Impl::catalog_result(std::size_t database, const std::vector<Row>& rows) {
    std::unordered_set<std::string> names;
    std::unordered_set<std::string> aggregates;
    for (const Row& row : rows) {
        if (row.empty() || !row[0]) {
            continue;
        }
        if (row.size() < 2 || (row[1] && *row[1] == "t")) {
            names.insert(*row[0]);
        }
        if (row.size() >= 3 && row[2] && *row[2] == "t") {
            aggregates.insert(*row[0]);
        }
    }
    catalog_[database] = std::move(names);
    aggregates_.resize(catalog_.size());
    aggregates_[database] = std::move(aggregates);
    for (const auto& known : catalog_) {
        if (!known) {
            return;  // published once every database has been read: a partial list would let
                     // another database's write functions go to a replica
        }
    }
    auto all = std::make_shared<std::unordered_set<std::string>>();
    for (std::size_t d = 0; d < catalog_.size(); ++d) {
        all->insert(catalog_[d]->begin(), catalog_[d]->end());
        for (const auto& name : config_.databases[d].routing.write_functions) {
            all->insert(lower(name));
        }
    }
    auto user_aggregates = std::make_shared<std::unordered_set<std::string>>();
    for (const auto& known : aggregates_) {
        user_aggregates->insert(known.begin(), known.end());
    }
    auto current_aggregates = board_.user_aggregates();
    if (current_aggregates == nullptr || *current_aggregates != *user_aggregates) {
        board_.set_user_aggregates(std::move(user_aggregates));
    }
    auto current = board_.write_functions();
    if (current == nullptr || *current != *all) {
        spdlog::debug("probe: {} write functions known", all->size());
        board_.set_write_functions(std::move(all));
    }
}

}  // namespace pgrouter::probe
