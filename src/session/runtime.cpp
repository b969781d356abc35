// pgrouter/session/runtime.cpp — shared services of all sessions: per-user auth material, client
// accounting, the drain registry.
#include "pgrouter/session/runtime.hpp"

#include <algorithm>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "pgrouter/auth/md5.hpp"
#include "pgrouter/session/client_session.hpp"

namespace pgrouter::session {
namespace {

constexpr int kScramIterations = 4096;  // PostgreSQL's default scram_iterations

pool::PoolSettings pool_settings(const config::Config& config) {
    pool::PoolSettings s;
    s.size = config.pool.size;
    s.min_size = config.pool.min_size;
    s.query_wait_timeout = config.pool.query_wait_timeout;
    s.idle_timeout = config.pool.server_idle_timeout;
    s.lifetime = config.pool.server_lifetime;
    s.connect_timeout = config.pool.connect_timeout;
    s.reset_timeout = config.pool.connect_timeout * 2;
    s.reset_query = config.limits.server_reset_query;
    s.check_idle = config.limits.server_check_idle;
    s.prepared_statements = config.pool.prepared_statements_per_server;
    return s;
}

}  // namespace

Runtime::Runtime(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)),
      pools_(pool_settings(*config_)),
      statements_(4096),
      topology_(*config_),
      health_(*config_),
      writes_(std::max<std::uint32_t>(1, config_->routing.consistency_keys)) {
    for (const auto& database : config_->databases) {
        if (database.shards.empty()) {
            continue;
        }
        ShardingRuntime entry;
        entry.database = &database;
        sharding::SlotMapBuild build =
            sharding::SlotMap::build(database.sharding.slots, database.shards);
        if (!build.map) {
            throw std::runtime_error("database " + database.name + ": " + build.error);
        }
        entry.slots = std::move(*build.map);
        for (const auto& table : database.sharding.tables) {
            entry.tables.push_back({table.name, table.key});
        }
        sharding_.emplace(database.name, std::move(entry));
    }
    for (const auto& user : config_->users) {
        UserAuth entry;
        entry.config = &user;
        switch (user.password_kind) {
            case config::PasswordKind::ScramVerifier:
                entry.scram = auth::parse_scram_verifier(user.password);
                break;
            case config::PasswordKind::Plain: {
                // A per-process salt: clients cannot tell it from a stored verifier.
                std::vector<std::uint8_t> salt(16);
                auth::random_bytes(salt);
                entry.scram =
                    auth::scram_secret_from_password(user.password, salt, kScramIterations);
                entry.md5_hash = auth::md5_user_hash(user.password, user.name);
                break;
            }
            case config::PasswordKind::Md5Hash:
                entry.md5_hash = user.password;
                break;
            case config::PasswordKind::None:
                break;
        }
        users_.emplace(user.name, std::move(entry));
    }
}

const UserAuth* Runtime::user_auth(std::string_view name) const {
    auto it = users_.find(std::string(name));
    return it == users_.end() ? nullptr : &it->second;
}

std::shared_ptr<const pool::Credentials> Runtime::server_credentials(const UserAuth& user) const {
    // Shared by every session of the user (a session holds a pointer, not a copy).
    std::lock_guard lock(keys_mutex_);
    auto& cached = credentials_[user.config->name];
    if (!cached) {
        auto c = std::make_shared<pool::Credentials>();
        c->user = user.config->name;
        c->password = user.config->server_password;
        if (c->password.empty() && user.scram) {
            auto it = client_keys_.find(c->user);
            if (it != client_keys_.end()) {
                c->scram_client_key = it->second;
                c->scram_server_key = user.scram->server_key;
            }
        }
        cached = std::move(c);
    }
    return cached;
}

void Runtime::remember_client_key(const std::string& user, const auth::Key& client_key) {
    std::lock_guard lock(keys_mutex_);
    auto& key = client_keys_[user];
    if (key != client_key) {
        key = client_key;
        credentials_.erase(user);  // made again with the key on next use
    }
}

bool Runtime::try_add_client() {
    std::uint32_t current = clients_.load();
    do {
        if (current >= config_->pool.max_client_conn) {
            return false;
        }
    } while (!clients_.compare_exchange_weak(current, current + 1));
    return true;
}

void Runtime::register_session(const std::shared_ptr<ClientSession>& session) {
    std::lock_guard lock(sessions_mutex_);
    // Drop entries of ended sessions now and then so the list stays proportional to live ones.
    if (sessions_.size() > 64 && sessions_.size() % 64 == 0) {
        std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
    }
    sessions_.push_back(session);
}

void Runtime::session_ended() {
    clients_.fetch_sub(1);
}

void Runtime::drain_all() {
    draining_ = true;
    std::vector<std::shared_ptr<ClientSession>> live;
    {
        std::lock_guard lock(sessions_mutex_);
        for (auto& weak : sessions_) {
            if (auto s = weak.lock()) {
                live.push_back(std::move(s));
            }
        }
        sessions_.clear();
    }
    for (auto& s : live) {
        s->drain();
    }
}

void Runtime::remember_statement(const std::string& server_name) {
    // Bounded: a client that prepares endless distinct texts must not grow this forever; when
    // full it starts over (a forgotten statement only costs one server round trip).
    constexpr std::size_t kMaxKnown = 16384;
    std::lock_guard lock(known_mutex_);
    if (known_statements_.size() >= kMaxKnown) {
        known_statements_.clear();
    }
    known_statements_.insert(server_name);
}

bool Runtime::knows_statement(const std::string& server_name) const {
    std::lock_guard lock(known_mutex_);
    return known_statements_.count(server_name) != 0;
}

const ShardingRuntime* Runtime::sharding(std::string_view database) const noexcept {
    auto it = sharding_.find(std::string(database));
    return it == sharding_.end() ? nullptr : &it->second;
}

config::ShardKeyType ShardingRuntime::key_type(std::string_view table) const noexcept {
    const auto& tables = database->sharding.tables;
    for (const auto& entry : tables) {
        if (entry.name == table) {
            return entry.type;
        }
    }
    return tables.empty() ? config::ShardKeyType::Bigint : tables.front().type;
}

}  // namespace pgrouter::session
