// pgrouter/health/server_health.cpp — per-server state as atomics (role, lag with hysteresis,
// circuit breaker, in-flight count) and the board that holds one per address. No I/O, no clock:
// every time comes from the caller.
#include "pgrouter/health/server_health.hpp"

#include <algorithm>

namespace pgrouter::health {

namespace {

std::int64_t to_ns(Clock::time_point t) noexcept {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    return ns == 0 ? 1 : ns;  // 0 means "closed"
}

}  // namespace

ServerHealth::ServerHealth(config::Address address, routing::Role configured_role,
                           const config::RoutingConfig& routing)
    : address_(std::move(address)),
      max_lag_(routing.max_replica_lag),
      failures_to_open_(routing.circuit_breaker.failures),
      open_for_(routing.circuit_breaker.open),
      role_(configured_role) {}

routing::ServerStatus ServerHealth::status(Clock::time_point now) const noexcept {
    routing::ServerStatus out;
    out.role = role_.load(std::memory_order_relaxed);
    out.available = reachable_.load(std::memory_order_relaxed) && !refusing(now);
    out.lag_ok = lag_ok_.load(std::memory_order_relaxed);
    out.lag_ms = lag_ms_.load(std::memory_order_relaxed);
    out.replay_lsn = replay_lsn_.load(std::memory_order_relaxed);
    out.in_flight = in_flight_.load(std::memory_order_relaxed);
    return out;
}

void ServerHealth::record_success() noexcept {
    consecutive_failures_.store(0, std::memory_order_relaxed);
    open_until_ns_.store(0, std::memory_order_release);
}

void ServerHealth::record_failure(Clock::time_point now) noexcept {
    if (failures_to_open_ == 0) {
        return;
    }
    std::int64_t until = to_ns(now + open_for_);
    std::int64_t current = open_until_ns_.load(std::memory_order_acquire);
    if (current != 0) {
        // Open: a late failure report changes nothing. HalfOpen: the trial failed, open again
        // (compare-exchange so two reporters of the same trial open it once).
        if (to_ns(now) >= current) {
            open_until_ns_.compare_exchange_strong(current, until, std::memory_order_acq_rel);
        }
        return;
    }
    std::uint32_t count = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (count >= failures_to_open_) {
        std::int64_t closed = 0;
        open_until_ns_.compare_exchange_strong(closed, until, std::memory_order_acq_rel);
    }
}

Circuit ServerHealth::circuit(Clock::time_point now) const noexcept {
    std::int64_t until = open_until_ns_.load(std::memory_order_acquire);
    if (until == 0) {
        return Circuit::Closed;
    }
    return to_ns(now) < until ? Circuit::Open : Circuit::HalfOpen;
}

bool ServerHealth::refusing(Clock::time_point now) const noexcept {
    return circuit(now) != Circuit::Closed;
}

void ServerHealth::set_role(routing::Role role) noexcept {
    role_.store(role, std::memory_order_relaxed);
}

void ServerHealth::set_replay(std::uint64_t replay_lsn, std::uint32_t lag_ms) noexcept {
    auto max_ms = static_cast<std::uint64_t>(max_lag_.count());
    if (lag_ms > max_ms) {
        lag_ok_.store(false, std::memory_order_relaxed);
    } else if (lag_ms < max_ms / 2 || (max_ms == 0 && lag_ms == 0)) {
        lag_ok_.store(true, std::memory_order_relaxed);
    }
    lag_ms_.store(lag_ms, std::memory_order_relaxed);
    replay_lsn_.store(replay_lsn, std::memory_order_relaxed);
}

void ServerHealth::set_reachable(bool reachable) noexcept {
    reachable_.store(reachable, std::memory_order_relaxed);
}

routing::Role ServerHealth::role() const noexcept {
    return role_.load(std::memory_order_relaxed);
}

std::uint64_t ServerHealth::replay_lsn() const noexcept {
    return replay_lsn_.load(std::memory_order_relaxed);
}

std::uint32_t ServerHealth::lag_ms() const noexcept {
    return lag_ms_.load(std::memory_order_relaxed);
}

bool ServerHealth::lag_ok() const noexcept {
    return lag_ok_.load(std::memory_order_relaxed);
}

bool ServerHealth::reachable() const noexcept {
    return reachable_.load(std::memory_order_relaxed);
}

std::uint32_t ServerHealth::in_flight() const noexcept {
    return in_flight_.load(std::memory_order_relaxed);
}

void ServerHealth::begin_use() noexcept {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
}

void ServerHealth::end_use() noexcept {
    // Never wraps below zero, even if a caller pairs them wrongly.
    std::uint32_t current = in_flight_.load(std::memory_order_relaxed);
    while (current != 0 &&
           !in_flight_.compare_exchange_weak(current, current - 1, std::memory_order_relaxed)) {
    }
}

HealthBoard::HealthBoard(const config::Config& config) {
    auto add = [this](const config::Address& address, routing::Role role,
                      const config::RoutingConfig& routing) {
        if (find(address) == nullptr) {
            servers_.push_back(std::make_unique<ServerHealth>(address, role, routing));
        }
    };
    for (const auto& database : config.databases) {
        for (const config::ServerGroup& group : config::server_groups(database)) {
            add(*group.primary, routing::Role::Primary, database.routing);
            for (const auto& replica : *group.replicas) {
                add(replica, routing::Role::Replica, database.routing);
            }
        }
    }
}

ServerHealth* HealthBoard::find(const config::Address& address) const noexcept {
    for (const auto& server : servers_) {
        if (server->address() == address) {
            return server.get();
        }
    }
    return nullptr;
}

std::shared_ptr<const std::unordered_set<std::string>> HealthBoard::write_functions() const {
    std::lock_guard lock(functions_mutex_);
    return write_functions_;
}

void HealthBoard::set_write_functions(
    std::shared_ptr<const std::unordered_set<std::string>> functions) {
    std::lock_guard lock(functions_mutex_);
    write_functions_ = std::move(functions);
    functions_version_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const std::unordered_set<std::string>> HealthBoard::user_aggregates() const {
    std::lock_guard lock(functions_mutex_);
    return user_aggregates_;
}

void HealthBoard::set_user_aggregates(
    std::shared_ptr<const std::unordered_set<std::string>> aggregates) {
    std::lock_guard lock(functions_mutex_);
    user_aggregates_ = std::move(aggregates);
}

void HealthBoard::add_user_aggregate(const std::string& name) {
    std::lock_guard lock(functions_mutex_);
    if (!user_aggregates_) {
        return;  // not read yet: every function call over every shard is refused until it is
    }
    auto next = user_aggregates_
                    ? std::make_shared<std::unordered_set<std::string>>(*user_aggregates_)
                    : std::make_shared<std::unordered_set<std::string>>();
    next->insert(name);
    user_aggregates_ = std::move(next);
}

void HealthBoard::want_lsn(std::uint64_t lsn) noexcept {
    std::uint64_t current = wanted_lsn_.load(std::memory_order_relaxed);
    while (current < lsn &&
           !wanted_lsn_.compare_exchange_weak(current, lsn, std::memory_order_relaxed)) {
    }
}

}  // namespace pgrouter::health
