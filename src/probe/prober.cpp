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

#include "prober_impl.hpp"

namespace pgrouter::probe {

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
        for (const config::ServerGroup& group : config::server_groups(database)) {
            std::vector<std::size_t> members;
            std::vector<const config::Address*> addresses{group.primary};
            for (const auto& replica : *group.replicas) {
                addresses.push_back(&replica);
            }
            for (const config::Address* address : addresses) {
                if (auto i = index_of(*address)) {
                    members.push_back(*i);
                    if (server_dbname_[*i].empty()) {
                        server_dbname_[*i] =
                            database.dbname.empty() ? database.name : database.dbname;
                    }
                }
            }
            // Peers: the servers of one group (a promotion happens inside a shard).
            for (std::size_t member : members) {
                for (std::size_t other : members) {
                    auto& list = peers_[member];
                    if (other != member &&
                        std::find(list.begin(), list.end(), other) == list.end()) {
                        list.push_back(other);
                    }
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
