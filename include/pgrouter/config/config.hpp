// pgrouter/config/config.hpp — plain structs for the whole YAML config. No parsing and no I/O
// here (that is load.hpp); durations are std::chrono inside, `_ms` exists only in the YAML.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::config {

enum class PoolMode { Transaction, Session };
enum class AuthMethod { ScramSha256, Md5, Trust };

// What `UserConfig::password` holds, decided once at load time so the auth code does not have to
// guess: a plaintext can answer any challenge, an md5 hash only an md5 one, a SCRAM verifier
// only lets us check a client (or pass its proof through).
enum class PasswordKind { Plain, Md5Hash, ScramVerifier, None };

enum class LogLevel { Trace, Debug, Info, Warn, Error, Off };

struct Address {
    std::string host;  // IPv6 literals are stored without brackets ("::1")
    std::uint16_t port = 0;

    // "host:port", or "[v6]:port" when the host contains ':'.
    std::string to_string() const;
    bool operator==(const Address&) const = default;
};

struct PoolConfig {
    PoolMode mode = PoolMode::Transaction;
    std::uint32_t size = 20;  // server connections per (server, database, user)
    std::uint32_t min_size = 0;
    std::uint32_t max_client_conn = 10000;
    std::chrono::milliseconds query_wait_timeout{5000};
    std::chrono::milliseconds server_idle_timeout{600000};
    std::chrono::milliseconds server_lifetime{3600000};
    std::chrono::milliseconds connect_timeout{2000};
    // Named prepared statements kept per server connection (LRU; evicted ones are closed).
    std::uint32_t prepared_statements_per_server = 200;
};

struct UserConfig {
    std::string name;
    AuthMethod auth = AuthMethod::ScramSha256;
    std::string password;  // plaintext, "md5<32 hex>" or "SCRAM-SHA-256$..."; secret, never log
    PasswordKind password_kind = PasswordKind::None;
    // Resolved: the explicit server_password, else `password` when it is Plain or Md5Hash,
    // else empty (a SCRAM verifier cannot answer a server challenge).
    std::string server_password;
    bool server_password_explicit = false;
};

// What a transaction-mode client gets when it creates state that outlives its transaction
// (LISTEN, session advisory locks, temp tables, WITH HOLD cursors, SQL PREPARE).
enum class SessionStatePolicy { Pin, Error };

// The `routing:` block (docs: README "Routing"). A database's own `routing:` overrides any key of
// the global one; DatabaseConfig::routing holds the result.
enum class ReadFrom { Replicas, Primary, Any };
enum class Balance { RoundRobin, LeastBusy };
enum class TransactionRouting { Primary, ByFirstStatement };
enum class Consistency { Window, Lsn };
enum class ConsistencyScope { Connection, User, Key };

struct CircuitBreakerConfig {
    std::uint32_t failures = 5;  // consecutive connect or probe failures that open the circuit
    std::chrono::milliseconds open{30000};

    bool operator==(const CircuitBreakerConfig&) const = default;
};

struct RoutingConfig {
    ReadFrom read_from = ReadFrom::Replicas;
    Balance balance = Balance::RoundRobin;
    TransactionRouting transactions = TransactionRouting::Primary;
    std::chrono::milliseconds pin_after_write{5000};
    Consistency consistency = Consistency::Window;
    ConsistencyScope consistency_scope = ConsistencyScope::Connection;
    std::uint32_t consistency_keys = 100000;  // LRU size of the user/key scope table
    std::chrono::milliseconds max_replica_lag{1000};
    std::chrono::milliseconds health_check_interval{1000};
    CircuitBreakerConfig circuit_breaker;
    // Function names (lower case, unqualified) that write, besides nextval, setval, the
    // advisory-lock family, pg_notify and the primary's VOLATILE user functions.
    std::vector<std::string> write_functions;
    // Read the primary's VOLATILE user functions from pg_proc at start-up and on this schedule.
    std::chrono::milliseconds catalog_refresh_interval{60000};

    bool operator==(const RoutingConfig&) const = default;
};

// Sharding (issue 8). A database with `shards:` splits the rows of its sharded tables over several
// primaries by a key: hash(key) mod `slots` picks a slot, each shard owns slot ranges.
enum class ShardFunction { Xxh3, Modulo };  // modulo: integer keys only, key mod slots
// The YAML also accepts PostgreSQL's internal names int8, int4 (and int) and int2.
enum class ShardKeyType { Bigint, Integer, Smallint, Text, Uuid };
enum class CrossShardWrites { Error, All };  // a write on a sharded table without its key

constexpr std::uint32_t kMaxShardSlots = 1000000;

struct ShardedTable {
    std::string name;  // lower case: the loader folds it as PostgreSQL folds unquoted names
    std::string key;   // the shard key column, lower case too
    ShardKeyType type = ShardKeyType::Bigint;

    bool operator==(const ShardedTable&) const = default;
};

struct SlotRange {
    std::uint32_t first = 0;  // inclusive
    std::uint32_t last = 0;   // inclusive

    bool operator==(const SlotRange&) const = default;
};

struct ShardConfig {
    // "0-511", "7" or several ("0-255, 512-767"), in the order written; the shards' ranges
    // together cover every slot 0..ShardingConfig::slots-1 exactly once.
    std::vector<SlotRange> slots;
    Address primary;
    std::vector<Address> replicas;

    bool operator==(const ShardConfig&) const = default;
};

struct ShardingConfig {
    ShardFunction function = ShardFunction::Xxh3;
    std::uint32_t slots = 1024;  // 1 to kMaxShardSlots
    std::vector<ShardedTable> tables;
    std::vector<std::string> reference_tables;  // lower case; a full copy on every shard
    CrossShardWrites cross_shard_writes = CrossShardWrites::Error;

    bool operator==(const ShardingConfig&) const = default;
};

struct DatabaseConfig {
    std::string name;    // the name clients connect to (the YAML key)
    std::string dbname;  // the name on the server; defaults to `name`
    // A sharded database (`shards` non-empty) has no `primary:` key; the loader sets these to
    // shards[0].primary and shards[0].replicas (the first shard holds the tables that are not
    // sharded; validation insists on that copy for a Config built in code too).
    Address primary;
    std::vector<Address> replicas;
    RoutingConfig routing;  // the global block with this database's overrides applied
    SessionStatePolicy on_session_state = SessionStatePolicy::Pin;
    // Sharded databases: `shards` is non-empty (the first shard's servers hold tables that are
    // neither sharded nor reference tables). Not sharded: `shards` is empty and `sharding` keeps
    // its defaults.
    ShardingConfig sharding;
    std::vector<ShardConfig> shards;
};

// The servers of one primary and its replicas: a database's own, or one shard's.
struct ServerGroup {
    const Address* primary = nullptr;
    const std::vector<Address>* replicas = nullptr;
};

// One group per shard of a sharded database, else the database's primary and replicas.
std::vector<ServerGroup> server_groups(const DatabaseConfig& database);

struct LimitsConfig {
    std::uint32_t max_startup_packet_bytes = 10000;
    // PostgreSQL's own limit (PQ_LARGE_MESSAGE_LIMIT): type byte plus a length of up to 1 GB - 2.
    std::uint64_t max_message_bytes = 1073741823;
    std::chrono::milliseconds client_login_timeout{15000};
    std::chrono::milliseconds shutdown_timeout{30000};
    std::string server_reset_query = "DISCARD ALL";  // empty = no reset
    bool server_check_idle = true;
};

struct LogConfig {
    LogLevel level = LogLevel::Info;
    bool connections = true;
};

struct Config {
    Address listen;
    std::uint32_t workers = 0;  // 0 = one I/O thread per core
    PoolConfig pool;
    std::vector<UserConfig> users;
    std::vector<DatabaseConfig> databases;
    RoutingConfig routing;  // the global block (defaults for every database)
    // The user whose server credentials the health prober logs in with. The loader fills in the
    // default (default_health_check_user in validate.hpp); empty only when no user qualifies and
    // no database has replicas.
    std::string health_check_user;
    LimitsConfig limits;
    LogConfig log;

    // Linear scans: called once per client login, and the lists are short. The pointers are
    // valid as long as this Config is (configs are immutable snapshots once published).
    const UserConfig* find_user(std::string_view name) const;
    const DatabaseConfig* find_database(std::string_view name) const;
};

// Names exactly as written in the YAML ("transaction", "scram-sha-256", "info"…), for logs and
// admin output.
std::string_view to_string(PoolMode mode);
std::string_view to_string(AuthMethod method);
std::string_view to_string(PasswordKind kind);
std::string_view to_string(LogLevel level);
std::string_view to_string(ReadFrom value);
std::string_view to_string(Balance value);
std::string_view to_string(TransactionRouting value);
std::string_view to_string(Consistency value);
std::string_view to_string(ConsistencyScope value);
std::string_view to_string(ShardFunction value);
std::string_view to_string(ShardKeyType value);  // the canonical names: bigint, not int8
std::string_view to_string(CrossShardWrites value);

}  // namespace pgrouter::config
