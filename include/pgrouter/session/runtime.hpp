// pgrouter/session/runtime.hpp — what every session shares: the config snapshot, the pools, the
// cancel registry, per-user authentication material and the live-session registry used to drain.
// Owned by net::Server; sessions hold a reference that outlives them.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pgrouter/auth/scram.hpp"
#include "pgrouter/config/config.hpp"
#include "pgrouter/health/server_health.hpp"
#include "pgrouter/health/write_tracker.hpp"
#include "pgrouter/pool/pool_set.hpp"
#include "pgrouter/routing/route.hpp"
#include "pgrouter/session/cancel_registry.hpp"
#include "pgrouter/sharding/slot_map.hpp"
#include "pgrouter/sql/shard_plan.hpp"
#include "pgrouter/sql/statement_cache.hpp"

namespace pgrouter::session {

class ClientSession;

// Authentication material derived once per configured user at start-up.
struct UserAuth {
    const config::UserConfig* config = nullptr;
    std::optional<auth::ScramSecret> scram;  // from the verifier, or derived from the plaintext
    std::string md5_hash;                    // "md5..." when md5 client auth is possible
};

// What a sharded database's sessions share: the slot map and the sharded tables, as the planner
// and the shard hash want them. Built once per config snapshot.
struct ShardingRuntime {
    const config::DatabaseConfig* database = nullptr;
    sharding::SlotMap slots;
    std::vector<sql::ShardedTableKey> tables;  // parallel to database->sharding.tables
    sql::ShardingView view() const noexcept {
        return {tables, database->sharding.reference_tables,
                database->sharding.cross_shard_writes == config::CrossShardWrites::All};
    }
    // The key type of a sharded table (the first table's when `table` is not one).
    config::ShardKeyType key_type(std::string_view table) const noexcept;
    // Whether every shard's database sorts text bytewise (collation C, POSIX, C.UTF-8): learnt
    // by the first statement run on every shard. -1 unknown, 0 no, 1 yes.
    std::shared_ptr<std::atomic<int>> bytewise_text = std::make_shared<std::atomic<int>>(-1);
};

class Runtime {
public:
    explicit Runtime(std::shared_ptr<const config::Config> config);

    const config::Config& config() const noexcept { return *config_; }
    pool::PoolSet& pools() noexcept { return pools_; }
    CancelRegistry& cancels() noexcept { return cancels_; }
    sql::StatementCache& statements() noexcept { return statements_; }
    const routing::Topology& topology() const noexcept { return topology_; }
    // Null when `database` is not sharded.
    const ShardingRuntime* sharding(std::string_view database) const noexcept;
    // What the probes and sessions know about every server (role, lag, circuit, in flight).
    health::HealthBoard& health() noexcept { return health_; }
    // Read-your-writes across connections (consistency_scope: user | key).
    health::WriteTracker& writes() noexcept { return writes_; }

    // pgrouter statement names (text + parameter types) some server has accepted with a
    // ParseComplete: a client's Parse of one of them can be answered without a server.
    void remember_statement(const std::string& server_name);
    bool knows_statement(const std::string& server_name) const;

    const UserAuth* user_auth(std::string_view name) const;
    // Credentials pgrouter uses towards servers for `user`; include the SCRAM pass-through key
    // once a client of that user has logged in with SCRAM.
    std::shared_ptr<const pool::Credentials> server_credentials(const UserAuth& user) const;
    void remember_client_key(const std::string& user, const auth::Key& client_key);

    // Client accounting and the drain registry.
    bool try_add_client();  // false when max_client_conn is reached
    void register_session(const std::shared_ptr<ClientSession>& session);
    void session_ended();
    std::uint32_t clients() const noexcept { return clients_.load(); }
    // Clients kept on one server connection for their whole session (transaction mode).
    void count_pinned() noexcept { pinned_total_.fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t pinned_total() const noexcept { return pinned_total_.load(); }
    // Every accepted connection, logged in or not (what shutdown waits for).
    void session_created() noexcept { live_sessions_.fetch_add(1); }
    void session_destroyed() noexcept { live_sessions_.fetch_sub(1); }
    std::uint32_t live_sessions() const noexcept { return live_sessions_.load(); }
    bool draining() const noexcept { return draining_.load(); }
    // Marks the runtime draining and asks every live session to finish (posted to its thread).
    void drain_all();

private:
    std::shared_ptr<const config::Config> config_;
    pool::PoolSet pools_;
    CancelRegistry cancels_;
    sql::StatementCache statements_;
    routing::Topology topology_;
    std::unordered_map<std::string, ShardingRuntime> sharding_;
    health::HealthBoard health_;
    health::WriteTracker writes_;
    mutable std::mutex known_mutex_;
    std::unordered_set<std::string> known_statements_;
    std::unordered_map<std::string, UserAuth> users_;

    mutable std::mutex keys_mutex_;
    std::unordered_map<std::string, auth::Key> client_keys_;
    mutable std::unordered_map<std::string, std::shared_ptr<const pool::Credentials>> credentials_;

    std::atomic<std::uint32_t> clients_{0};
    std::atomic<std::uint32_t> live_sessions_{0};
    std::atomic<std::uint64_t> pinned_total_{0};
    std::atomic<bool> draining_{false};
    std::mutex sessions_mutex_;
    std::vector<std::weak_ptr<ClientSession>> sessions_;
};

}  // namespace pgrouter::session
