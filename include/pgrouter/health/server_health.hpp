// pgrouter/health/server_health.hpp — what pgrouter knows about each server over time: role, lag,
// replay position, circuit breaker, transactions in flight. Written by the prober thread and by
// sessions (connect results, in-flight counts); read lock-free by every I/O thread when it routes.
// No I/O here (the prober in probe/ fills it), no Asio.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "pgrouter/config/config.hpp"
#include "pgrouter/routing/route.hpp"

namespace pgrouter::health {

using Clock = std::chrono::steady_clock;

// "16/B374D848" -> 0x16B374D848. nullopt for anything else (also for NULL / empty).
std::optional<std::uint64_t> parse_lsn(std::string_view text) noexcept;
std::string format_lsn(std::uint64_t lsn);

enum class Circuit : std::uint8_t { Closed, Open, HalfOpen };

// One server (host:port). Shared by every database that names it.
class ServerHealth {
public:
    ServerHealth(config::Address address, routing::Role configured_role,
                 const config::RoutingConfig& routing);

    const config::Address& address() const noexcept { return address_; }

    // The routing snapshot (cheap: a few relaxed atomic loads).
    routing::ServerStatus status(Clock::time_point now) const noexcept;

    // Circuit breaker. A failure is a failed connect (pool) or a failed probe; `failures`
    // consecutive ones open the circuit for open_ms (0 failures: never opens); then the next probe
    // is the half-open trial: success closes it, failure opens it again for open_ms.
    // record_success closes the circuit whatever its state: while it is Open the prober does not
    // call it (it waits for the trial), and nobody else reaches a refused server.
    void record_success() noexcept;
    void record_failure(Clock::time_point now) noexcept;
    Circuit circuit(Clock::time_point now) const noexcept;
    // True when no client should wait on this server (circuit Open or HalfOpen: the prober's
    // trial decides, not a client).
    bool refusing(Clock::time_point now) const noexcept;

    // Probe results (prober thread only).
    void set_role(routing::Role role) noexcept;
    // A replica's replay position and lag; applies the lag hysteresis (lag_ok turns false above
    // max_replica_lag, true again only below half of it).
    void set_replay(std::uint64_t replay_lsn, std::uint32_t lag_ms) noexcept;
    void set_reachable(bool reachable) noexcept;
    routing::Role role() const noexcept;
    std::uint64_t replay_lsn() const noexcept;
    std::uint32_t lag_ms() const noexcept;
    bool lag_ok() const noexcept;
    bool reachable() const noexcept;
    std::uint32_t in_flight() const noexcept;

    // Transactions running on this server through pgrouter (least_busy).
    void begin_use() noexcept;
    void end_use() noexcept;

private:
    config::Address address_;
    std::chrono::milliseconds max_lag_;
    std::uint32_t failures_to_open_;
    std::chrono::milliseconds open_for_;
    std::atomic<routing::Role> role_;
    std::atomic<bool> reachable_{true};
    std::atomic<bool> lag_ok_{true};
    std::atomic<std::uint32_t> lag_ms_{0};
    std::atomic<std::uint64_t> replay_lsn_{0};
    std::atomic<std::uint32_t> in_flight_{0};
    std::atomic<std::uint32_t> consecutive_failures_{0};
    std::atomic<std::int64_t> open_until_ns_{0};  // Clock epoch ns; 0 = closed
};

// Every server of a config, by address, plus what the prober learns per database.
class HealthBoard {
public:
    explicit HealthBoard(const config::Config& config);

    // One ServerHealth per distinct address over every database, in config order: a database's
    // primary with configured role Primary, its replicas Replica. An address named twice keeps
    // its first role and the first naming database's routing settings (lag limit, breaker).
    // Null for an address the config does not name.
    ServerHealth* find(const config::Address& address) const noexcept;
    const std::vector<std::unique_ptr<ServerHealth>>& servers() const noexcept { return servers_; }

    // Functions that write (configured list + the builtin ones are handled by sql/; this is the
    // catalogue's VOLATILE user functions plus routing.write_functions), lower case, unqualified.
    // Null until the catalogue has been read once: until then any function call counts as a write.
    std::shared_ptr<const std::unordered_set<std::string>> write_functions() const;
    void set_write_functions(std::shared_ptr<const std::unordered_set<std::string>> functions);
    // Changes with every set_write_functions(): readers fetch the set again only then (a relaxed
    // load per request instead of a lock).
    std::uint64_t write_functions_version() const noexcept {
        return functions_version_.load(std::memory_order_acquire);
    }

    // User-defined aggregates (lower case, unqualified): a read over every shard that calls one is
    // refused (its partial results cannot be combined). Null until the catalogue has been read.
    std::shared_ptr<const std::unordered_set<std::string>> user_aggregates() const;
    void set_user_aggregates(std::shared_ptr<const std::unordered_set<std::string>> aggregates);
    // One more, known before the catalogue says so (CREATE AGGREGATE through pgrouter).
    void add_user_aggregate(const std::string& name);

    // Read-your-writes in lsn mode: sessions announce the highest position they wait for, so the
    // prober polls replicas' replay positions fast while some replica has not reached it.
    // want_lsn only raises the value.
    void want_lsn(std::uint64_t lsn) noexcept;
    std::uint64_t wanted_lsn() const noexcept {
        return wanted_lsn_.load(std::memory_order_relaxed);
    }

private:
    std::vector<std::unique_ptr<ServerHealth>> servers_;
    mutable std::mutex functions_mutex_;
    std::shared_ptr<const std::unordered_set<std::string>> write_functions_;
    std::shared_ptr<const std::unordered_set<std::string>> user_aggregates_;
    std::atomic<std::uint64_t> functions_version_{0};
    std::atomic<std::uint64_t> wanted_lsn_{0};
};

}  // namespace pgrouter::health
