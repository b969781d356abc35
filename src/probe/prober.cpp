// src/probe/prober.cpp — the prober's loop: one slot per server (health query) and one per
// database (catalogue of write functions), all driven by one poll() so no server waits on
// another. Results go to health::HealthBoard; transitions (role, reachability, circuit, lag) are
// logged, single probes never are.
#include "pgrouter/probe/prober.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "pgrouter/probe/lag_tracker.hpp"
#include "probe_conn.hpp"

namespace pgrouter::probe {

using health::Clock;
using std::chrono::milliseconds;

namespace {

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
constexpr const char* kCatalogSql =
    "SELECT DISTINCT lower(p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = "
    "p.pronamespace WHERE p.provolatile = 'v' AND n.nspname NOT IN "
    "('pg_catalog','information_schema')";

const char* role_name(routing::Role role) {
    switch (role) {
        case routing::Role::Primary:
            return "primary";
        case routing::Role::Replica:
            return "replica";
        case routing::Role::Unknown:
            break;
    }
    return "unknown";
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return text;
}

}  // namespace

const config::UserConfig* probe_user(const config::Config& config) {
    if (!config.health_check_user.empty()) {
        if (const config::UserConfig* user = config.find_user(config.health_check_user)) {
            return user;
        }
    }
    for (const auto& user : config.users) {
        if (!user.server_password.empty() || user.auth == config::AuthMethod::Trust) {
            return &user;
        }
    }
    return nullptr;
}

milliseconds probe_interval(const config::Config& config) {
    if (config.databases.empty()) {
        return config.routing.health_check_interval;
    }
    milliseconds smallest = config.databases.front().routing.health_check_interval;
    for (const auto& database : config.databases) {
        smallest = std::min(smallest, database.routing.health_check_interval);
    }
    return std::max(smallest, milliseconds(1));
}

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
    std::vector<bool> catalog_ok_;  // per database, last logged
    std::uint64_t wanted_seen_ = 0;
    Clock::time_point wanted_rose_at_{};
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    int wake_[2] = {-1, -1};
};

Prober::Impl::Impl(const config::Config& config, health::HealthBoard& board)
    : config_(config),
      board_(board),
      user_(probe_user(config_)),
      interval_(probe_interval(config_)),
      timeout_(config_.pool.connect_timeout.count() > 0 ? config_.pool.connect_timeout
                                                        : kDefaultTimeout) {
    const auto& servers = board_.servers();
    server_dbname_.resize(servers.size());
    peers_.resize(servers.size());
    trackers_.resize(servers.size());
    logged_.resize(servers.size());
    auto index_of = [&](const config::Address& address) -> std::optional<std::size_t> {
        for (std::size_t i = 0; i < servers.size(); ++i) {
            if (servers[i]->address() == address) {
                return i;
            }
        }
        return std::nullopt;
    };
    for (const auto& database : config_.databases) {
        lsn_mode_ = lsn_mode_ || database.routing.consistency == config::Consistency::Lsn;
        std::vector<std::size_t> members;
        std::vector<const config::Address*> addresses{&database.primary};
        for (const auto& replica : database.replicas) {
            addresses.push_back(&replica);
        }
        for (const config::Address* address : addresses) {
            if (auto i = index_of(*address)) {
                members.push_back(*i);
                if (server_dbname_[*i].empty()) {
                    server_dbname_[*i] = database.dbname.empty() ? database.name : database.dbname;
                }
            }
        }
        for (std::size_t member : members) {
            for (std::size_t other : members) {
                auto& list = peers_[member];
                if (other != member && std::find(list.begin(), list.end(), other) == list.end()) {
                    list.push_back(other);
                }
            }
        }
    }
    for (std::size_t i = 0; i < servers.size(); ++i) {
        auto slot = std::make_unique<Slot>();
        slot->kind = Slot::Kind::Health;
        slot->index = i;
        slot->target = servers[i]->address();
        logged_[i].role = servers[i]->role();
        slots_.push_back(std::move(slot));
    }
    catalog_.resize(config_.databases.size());
    catalog_ok_.assign(config_.databases.size(), true);
    for (std::size_t d = 0; d < config_.databases.size(); ++d) {
        auto slot = std::make_unique<Slot>();
        slot->kind = Slot::Kind::Catalog;
        slot->index = d;
        slots_.push_back(std::move(slot));
    }
    if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) {
        wake_[0] = wake_[1] = -1;  // stop() then waits for the next poll timeout at most
    }
}

Prober::Impl::~Impl() {
    stop();
    for (int fd : wake_) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
}

void Prober::Impl::start() {
    if (thread_.joinable()) {
        return;
    }
    stopping_.store(false);
    thread_ = std::thread([this] { run(); });
}

void Prober::Impl::stop() {
    if (!thread_.joinable()) {
        return;
    }
    stopping_.store(true);
    if (wake_[1] >= 0) {
        char byte = 1;
        [[maybe_unused]] auto written = ::write(wake_[1], &byte, 1);
    }
    thread_.join();
}

void Prober::Impl::run() {
    try {
        while (!stopping_.load()) {
            turn(Clock::time_point::max());
        }
    } catch (const std::exception& e) {
        spdlog::error("probe: the prober stopped: {}", e.what());
    }
}

bool Prober::Impl::probe_once(milliseconds timeout) {
    auto now = Clock::now();
    auto deadline = now + timeout;
    std::vector<std::uint64_t> before;
    for (auto& slot : slots_) {
        before.push_back(slot->completions);
        if (!slot->running) {
            slot->next_due = now;
        }
    }
    auto all_done = [&] {
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i]->completions == before[i]) {
                return false;
            }
        }
        return true;
    };
    while (!all_done() && Clock::now() < deadline) {
        turn(deadline);
    }
    // A catalogue read that failed (its primary is down) goes again now that the health round
    // has said which servers answer: a replica's copy serves as well.
    bool again = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& slot = *slots_[i];
        if (slot.kind == Slot::Kind::Catalog && !slot.running && !slot.last_ok) {
            slot.next_due = Clock::now();
            before[i] = slot.completions;
            again = true;
        } else {
            before[i] = slot.completions - (slot.completions > 0 ? 1 : 0);
        }
    }
    while (again && !all_done() && Clock::now() < deadline) {
        turn(deadline);
    }
    bool ok = true;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        const Slot& slot = *slots_[i];
        if (slot.kind == Slot::Kind::Health && (slot.completions == before[i] || !slot.last_ok)) {
            ok = false;
        }
    }
    return ok;
}

void Prober::Impl::turn(Clock::time_point until) {
    auto now = Clock::now();
    if (std::uint64_t wanted = board_.wanted_lsn(); wanted != wanted_seen_) {
        wanted_seen_ = wanted;
        wanted_rose_at_ = now;
    }
    for (auto& slot : slots_) {
        if (slot->running && now >= slot->deadline) {
            slot->conn.close();
            finish(*slot, false, "timed out", now);
        }
    }
    for (auto& slot : slots_) {
        if (!slot->running && now >= due_at(*slot, now)) {
            begin(*slot, now);
        }
    }

    std::vector<pollfd> fds;
    std::vector<Slot*> owners;
    auto wake_at = until;
    for (auto& slot : slots_) {
        wake_at = std::min(wake_at, slot->running ? slot->deadline : due_at(*slot, now));
        if (slot->conn.fd() >= 0 && slot->conn.events() != 0) {
            fds.push_back(pollfd{slot->conn.fd(), slot->conn.events(), 0});
            owners.push_back(slot.get());
        }
    }
    if (wake_[0] >= 0) {
        fds.push_back(pollfd{wake_[0], POLLIN, 0});
    }
    milliseconds wait =
        wake_at <= now ? milliseconds(0) : std::chrono::ceil<milliseconds>(wake_at - now);
    if (lsn_mode_) {
        wait = std::min(wait, kWantedLsnCheck);
    }
    wait = std::min(wait, milliseconds(60000));
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (ready <= 0) {
        return;  // timeout (deadlines are handled above) or EINTR
    }
    now = Clock::now();
    for (std::size_t i = 0; i < owners.size(); ++i) {
        if (fds[i].revents != 0) {
            on_ready(*owners[i], now);
        }
    }
    if (wake_[0] >= 0 && fds.back().revents != 0) {
        char drain[16];
        while (::read(wake_[0], drain, sizeof drain) > 0) {
        }
    }
}

ProbeConn::Params Prober::Impl::params_for(const config::Address& address,
                                           const std::string& dbname) const {
    ProbeConn::Params params;
    params.host = address.host;
    params.port = std::to_string(address.port);
    params.dbname = dbname;
    if (user_ != nullptr) {
        params.user = user_->name;
        params.password = user_->server_password;
    }
    return params;
}

std::string Prober::Impl::dbname_of(const Slot& slot) const {
    if (slot.kind == Slot::Kind::Health) {
        return server_dbname_[slot.index];
    }
    const auto& database = config_.databases[slot.index];
    return database.dbname.empty() ? database.name : database.dbname;
}

void Prober::Impl::connect(Slot& slot, Clock::time_point now) {
    slot.reused = false;
    slot.conn.close();
    if (!slot.conn.connect(params_for(slot.target, dbname_of(slot)))) {
        finish(slot, false, slot.conn.error(), now);
    }
}

void Prober::Impl::begin(Slot& slot, Clock::time_point now) {
    slot.running = true;
    slot.started = now;
    slot.deadline = now + timeout_;
    if (user_ == nullptr) {
        finish(slot, false, "no user to probe with (needs a server password or trust auth)", now);
        return;
    }
    if (slot.kind == Slot::Kind::Catalog) {
        config::Address target = catalog_target(slot.index);
        if (!(target == slot.target)) {
            slot.conn.close();
            slot.target = std::move(target);
        }
    }
    if (slot.conn.state() != ProbeConn::State::Idle) {
        connect(slot, now);
        return;
    }
    slot.reused = true;
    if (!slot.conn.send(query_of(slot))) {
        // The server closed an old connection (restart, idle kill): connect again at once,
        // within this round's deadline, before calling it a failure.
        connect(slot, now);
    }
}

void Prober::Impl::on_ready(Slot& slot, Clock::time_point now) {
    ProbeConn::State before = slot.conn.state();
    ProbeConn::Step step = slot.conn.advance();
    if (!slot.running || step == ProbeConn::Step::Pending) {
        return;  // not done yet; or an idle connection: a notice, or the server closed it
    }
    if (step == ProbeConn::Step::Done) {
        if (before == ProbeConn::State::Connecting) {
            if (!slot.conn.send(query_of(slot))) {
                finish(slot, false, slot.conn.error(), now);
            }
            return;
        }
        if (slot.kind == Slot::Kind::Health) {
            health_result(slot.index, slot.conn.rows(), now);
        } else {
            catalog_result(slot.index, slot.conn.rows());
        }
        finish(slot, true, "", now);
        return;
    }
    // Failed. A reused connection that broke (not an error reply: that leaves it Idle) gets one
    // fresh connect before it counts.
    if (slot.reused && before == ProbeConn::State::Busy &&
        slot.conn.state() == ProbeConn::State::Closed) {
        connect(slot, now);
        return;
    }
    finish(slot, false, slot.conn.error(), now);
}

void Prober::Impl::finish(Slot& slot, bool ok, const std::string& error, Clock::time_point now) {
    slot.running = false;
    slot.last_ok = ok;
    ++slot.completions;
    // Keeps the rhythm of the schedule; a round that overran its interval starts the next now.
    slot.next_due = std::max(slot.started + interval_of(slot, now), now);
    if (slot.kind == Slot::Kind::Health) {
        if (!ok) {
            health_failed(slot.index, error, now);
        }
        return;
    }
    bool was_ok = catalog_ok_[slot.index];
    catalog_ok_[slot.index] = ok;
    const auto& database = config_.databases[slot.index];
    if (!ok && was_ok) {
        spdlog::warn(
            "probe: cannot read the write functions of database {} on {}: {} (until "
            "it is read, every function call goes to the primary)",
            database.name, slot.target.to_string(), error);
    } else if (ok && !was_ok) {
        spdlog::info("probe: read the write functions of database {} on {} again", database.name,
                     slot.target.to_string());
    }
}

milliseconds Prober::Impl::interval_of(const Slot& slot, Clock::time_point now) const {
    if (slot.kind == Slot::Kind::Catalog) {
        return std::max(config_.databases[slot.index].routing.catalog_refresh_interval,
                        milliseconds(1));
    }
    return fast_replay(slot.index, now) ? std::min(kFastReplayInterval, interval_) : interval_;
}

Clock::time_point Prober::Impl::due_at(const Slot& slot, Clock::time_point now) const {
    if (slot.kind == Slot::Kind::Health && fast_replay(slot.index, now)) {
        return std::min(slot.next_due, slot.started + kFastReplayInterval);
    }
    return slot.next_due;
}

bool Prober::Impl::fast_replay(std::size_t server, Clock::time_point now) const {
    const health::ServerHealth& health = *board_.servers()[server];
    return wanted_seen_ != 0 && now - wanted_rose_at_ < kFastPollFor &&
           health.role() == routing::Role::Replica && health.reachable() &&
           health.replay_lsn() < wanted_seen_;
}

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
    for (const Row& row : rows) {
        if (!row.empty() && row[0]) {
            names.insert(*row[0]);
        }
    }
    catalog_[database] = std::move(names);
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
    auto current = board_.write_functions();
    if (current == nullptr || *current != *all) {
        spdlog::debug("probe: {} write functions known", all->size());
        board_.set_write_functions(std::move(all));
    }
}

Prober::Prober(const config::Config& config, health::HealthBoard& board)
    : impl_(std::make_unique<Impl>(config, board)) {}

Prober::~Prober() = default;

bool Prober::probe_once(milliseconds timeout) {
    return impl_->probe_once(timeout);
}

void Prober::start() {
    impl_->start();
}

void Prober::stop() {
    impl_->stop();
}

}  // namespace pgrouter::probe
