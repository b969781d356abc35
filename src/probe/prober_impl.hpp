// src/probe/prober_impl.hpp — the prober's insides, shared by prober.cpp (the loop and its
// schedule) and prober_results.cpp (what a probe's answer changes, and what is logged).
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "pgrouter/probe/lag_tracker.hpp"
#include "pgrouter/probe/prober.hpp"
#include "probe_conn.hpp"

namespace pgrouter::probe {

using health::Clock;
using std::chrono::milliseconds;

// While a client waits for a replica to replay its write (lsn consistency), replicas behind the
// wanted position are polled this often, for at most kFastPollFor after the wanted position last
// rose (a replica that never catches up must not be polled fast forever).
constexpr milliseconds kFastReplayInterval{5};
constexpr milliseconds kFastPollFor{10000};
// How often the loop looks at HealthBoard::wanted_lsn when some database uses lsn consistency
// (sessions do not wake the prober; a relaxed load every few ms costs nothing).
constexpr milliseconds kWantedLsnCheck{5};
constexpr milliseconds kDefaultTimeout{2000};

// One round trip. The primary reports its flush position: WAL a replica can have received.
constexpr const char* kHealthSql =
    "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_flush_lsn() END";
// User functions that write (VOLATILE) and user aggregates (which a read over every shard cannot
// merge), by unqualified lower-case name.
constexpr const char* kCatalogSql =
    "SELECT lower(p.proname), bool_or(p.provolatile = 'v'), bool_or(p.prokind = 'a') "
    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE (p.provolatile = 'v' OR p.prokind = 'a') AND n.nspname NOT IN "
    "('pg_catalog','information_schema') GROUP BY 1";

// Names for logs.
const char* role_name(routing::Role role);

class Prober::Impl {
public:
    Impl(const config::Config& config, health::HealthBoard& board);
    ~Impl();

    bool probe_once(milliseconds timeout);
    void start();
    void stop();

private:
    struct Slot {
        enum class Kind { Health, Catalog };
        Kind kind = Kind::Health;
        std::size_t index = 0;  // board server (Health) or config database (Catalog)
        ProbeConn conn;
        config::Address target;  // where conn goes (a catalogue follows the primary)
        bool running = false;    // a connect or query of this round is under way
        bool reused = false;     // the query went on a connection made in an earlier round
        Clock::time_point next_due{};
        Clock::time_point started{};
        Clock::time_point deadline{};
        std::uint64_t completions = 0;
        bool last_ok = false;
    };

    // What was last logged per server, so only transitions are logged.
    struct Logged {
        routing::Role role = routing::Role::Unknown;
        bool reachable = true;
        bool open = false;
        bool lag_ok = true;
        bool catalog_ok = true;  // per database, reused by index
    };

    void run();
    void turn(Clock::time_point until);
    void begin(Slot& slot, Clock::time_point now);
    void connect(Slot& slot, Clock::time_point now);
    void on_ready(Slot& slot, Clock::time_point now);
    std::string dbname_of(const Slot& slot) const;
    static const char* query_of(const Slot& slot) {
        return slot.kind == Slot::Kind::Health ? kHealthSql : kCatalogSql;
    }
    void finish(Slot& slot, bool ok, const std::string& error, Clock::time_point now);
    void health_result(std::size_t server, const std::vector<Row>& rows, Clock::time_point now);
    void health_failed(std::size_t server, const std::string& error, Clock::time_point now);
    void catalog_result(std::size_t database, const std::vector<Row>& rows);
    void log_transitions(std::size_t server, const std::string& error, Clock::time_point now);
    config::Address catalog_target(std::size_t database) const;
    std::optional<std::size_t> primary_for(std::size_t server) const;
    bool fast_replay(std::size_t server, Clock::time_point now) const;
    milliseconds interval_of(const Slot& slot, Clock::time_point now) const;
    // The schedule's next round, or sooner while a replica's replay position is awaited.
    Clock::time_point due_at(const Slot& slot, Clock::time_point now) const;
    ProbeConn::Params params_for(const config::Address& address, const std::string& dbname) const;

    config::Config config_;
    health::HealthBoard& board_;
    const config::UserConfig* user_;
    milliseconds interval_;
    milliseconds timeout_;
    bool lsn_mode_ = false;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<std::string> server_dbname_;       // per board server
    std::vector<std::vector<std::size_t>> peers_;  // board servers sharing a database
    std::vector<LagTracker> trackers_;             // per board server (used for primaries)
    std::vector<Logged> logged_;                   // per board server
    std::vector<std::optional<std::unordered_set<std::string>>> catalog_;  // per database
    std::vector<std::unordered_set<std::string>> aggregates_;              // per database
    std::vector<bool> catalog_ok_;  // per database, last logged
    std::uint64_t wanted_seen_ = 0;
    Clock::time_point wanted_rose_at_{};
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    int wake_[2] = {-1, -1};
};

}  // namespace pgrouter::probe
