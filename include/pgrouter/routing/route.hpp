// pgrouter/routing/route.hpp — where a client request goes. Pure: a function of (what the request
// is, the client's session view, the database's topology and a snapshot of each server's state);
// no I/O, no clock, no logging. Returns a server index and a Reason; text is made only when
// someone logs or traces it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgrouter/config/config.hpp"

namespace pgrouter::routing {

// The servers behind one client-facing database. Index 0 is the configured primary, then the
// replicas in YAML order. Which one is the primary now is decided from the probes (ServerStatus).
struct DatabaseTopology {
    std::string name;    // the name clients connect to
    std::string dbname;  // on the servers
    std::vector<config::Address> servers;
    std::size_t primary = 0;  // as configured
    config::RoutingConfig routing;
    // A sharded database: one topology per shard (its primary and replicas; these fields above
    // are the first shard's). Empty when the database is not sharded.
    std::vector<DatabaseTopology> shards;
};

// Every database of a config, built once per config snapshot.
class Topology {
public:
    explicit Topology(const config::Config& config);
    const DatabaseTopology* find(std::string_view database) const noexcept;

private:
    std::unordered_map<std::string, DatabaseTopology> databases_;
};

enum class Role : std::uint8_t { Unknown, Primary, Replica };

// What the router knows about one server at the moment of the decision (from the probes, the
// circuit breaker and the pools). Plain values: the caller takes the snapshot.
struct ServerStatus {
    Role role = Role::Unknown;
    bool available = true;  // answering and its circuit is not open
    bool lag_ok = true;     // a replica within max_replica_lag (with hysteresis)
    std::uint32_t lag_ms = 0;
    std::uint64_t replay_lsn = 0;  // a replica's last replayed WAL position (0 = unknown)
    std::uint32_t in_flight = 0;   // transactions running on it through this pgrouter
};

// What the request asks for, from the parsed statement (filled by the session's understand step).
enum class Access : std::uint8_t {
    Read,                 // a read a replica can answer
    Write,                // anything else (also: unknown, unparsed, session effects)
    ReadOnlyTransaction,  // BEGIN READ ONLY / START TRANSACTION READ ONLY / SET TRANSACTION READ
                          // ONLY
    Transaction,          // BEGIN (whole transaction goes with transactions: primary)
};

// Why a statement cannot go to a replica, for the reason text (first match).
enum class WriteCause : std::uint8_t {
    None,
    Statement,      // INSERT/UPDATE/DDL/...: not a read at all
    LockingClause,  // SELECT ... FOR UPDATE/SHARE
    WriteFunction,  // nextval, advisory locks, a VOLATILE user function, ...
    Unparsed,       // too large or too deep to read
    SessionState,   // creates session state (LISTEN, temp table, ...)
    FunctionCall,   // the FunctionCall protocol message
};

enum class Hint : std::uint8_t { None, Primary, Replica };

struct RouteRequest {
    Access access = Access::Write;
    WriteCause cause = WriteCause::Statement;
    Hint hint = Hint::None;        // a `/* pgrouter: primary|replica */` comment
    std::uint32_t max_lag_ms = 0;  // `/* pgrouter: max_lag_ms=N */` (0: none)
};

enum class SessionRoute : std::uint8_t { Auto, Primary, Replica };  // SET pgrouter.route

// What routing needs to know about the client.
struct SessionView {
    bool pinned = false;  // holds one server connection for its whole session
    SessionRoute route = SessionRoute::Auto;
    // Read-your-writes: window mode gives the time since the last write (-1: none known);
    // lsn mode gives the WAL position a replica must have replayed (0: none), or
    // lsn_pending while that position is still being learnt.
    std::int64_t since_write_ms = -1;
    std::uint64_t required_lsn = 0;
    bool lsn_pending = false;
    std::uint64_t ticket = 0;  // round-robin counter, advanced by the caller for every read
};

enum class Reason : std::uint8_t {
    Primary,          // the database has no replicas
    Write,            // the request may write (WriteCause says why)
    Transaction,      // a transaction with transactions: primary
    ReadFromPrimary,  // read_from: primary
    ReplicaRead,      // a read on a replica (balance says how)
    PrimaryRead,      // read_from: any picked the primary
    PinnedWindow,     // wrote `since_write_ms` ago
    PinnedLsn,        // no replica has replayed the client's last write yet
    ReplicaLagging,   // every replica lags (the worst one is named)
    NoReplica,        // no replica is available
    HintPrimary,      // /* pgrouter: primary */
    HintReplica,      // /* pgrouter: replica */
    SessionPrimary,   // SET pgrouter.route = 'primary'
    SessionReplica,   // SET pgrouter.route = 'replica'
    StalenessBound,   // max_lag_ms hint: no replica within it
    Pinned,           // the session holds one server connection
    // Errors: the request is refused (no server index).
    NoPrimary,     // no server answers as primary (or its circuit is open)
    TwoPrimaries,  // more than one server claims to be primary
};

struct Decision {
    std::size_t server = 0;
    Reason reason = Reason::Primary;
    WriteCause cause = WriteCause::None;
    std::size_t about = SIZE_MAX;  // the server a reason names (a lagging replica, a dead primary)
    std::uint32_t detail_ms = 0;   // since_write_ms, or the named replica's lag
    bool refused() const noexcept {
        return reason == Reason::NoPrimary || reason == Reason::TwoPrimaries;
    }
};

// `status` has one entry per topology server.
Decision route(const RouteRequest& request, const SessionView& session,
               const DatabaseTopology& topology, std::span<const ServerStatus> status) noexcept;

// The server that takes writes now: the one whose probe says primary (the configured one until
// probed). Refused decisions say why there is none.
Decision current_primary(const DatabaseTopology& topology,
                         std::span<const ServerStatus> status) noexcept;

std::string_view to_string(Reason reason) noexcept;
// "replica 127.0.0.1:5433 (read, round_robin)", "primary (pinned: wrote 1.2 s ago)", ...
std::string describe(const Decision& decision, const DatabaseTopology& topology);

}  // namespace pgrouter::routing
