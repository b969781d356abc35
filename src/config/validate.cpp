// pgrouter/config/validate.cpp — cross-field checks on a parsed Config. Pure: never throws, never
// puts a password into a message.
#include "pgrouter/config/validate.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <string>

#include "checker.hpp"

namespace pgrouter::config {
namespace detail {

std::string first_at(const Checker& check, const std::string& key, std::string_view what) {
    const int line = check.line_of(key);
    return " (first at " + std::string(what) + (line > 0 ? ", line " + std::to_string(line) : "") +
           ")";
}

bool same_server(const Address& a, const Address& b) {
    if (a.port != b.port || a.host.size() != b.host.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.host.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a.host[i])) !=
            std::tolower(static_cast<unsigned char>(b.host[i]))) {
            return false;
        }
    }
    return true;
}

void check_address(Checker& check, const Address& address, const std::string& key) {
    check.require(!address.host.empty() && address.port != 0, key,
                  "expected \"host:port\" with a port from 1 to 65535");
}

void check_servers(Checker& check, const Address& primary, const std::vector<Address>& replicas,
                   const std::string& path) {
    check_address(check, primary, path + ".primary");
    const bool primary_ok = !check.failed(path + ".primary");
    for (std::size_t i = 0; i < replicas.size(); ++i) {
        const Address& replica = replicas[i];
        const std::string key = path + ".replicas[" + std::to_string(i) + "]";
        if (replica.host.empty() || replica.port == 0) {
            check_address(check, replica, key);
            continue;
        }
        if (primary_ok && same_server(replica, primary)) {
            check.require(false, key,
                          replica.to_string() + " is the primary; list only the replicas here");
            continue;
        }
        for (std::size_t j = 0; j < i; ++j) {
            if (same_server(replicas[j], replica)) {
                const std::string first = path + ".replicas[" + std::to_string(j) + "]";
                check.require(
                    false, key,
                    replica.to_string() + " is listed twice" + first_at(check, first, first));
                break;
            }
        }
    }
}

}  // namespace detail

namespace {

using detail::check_address;
using detail::Checker;
using detail::first_at;

constexpr std::uint32_t kMaxWorkers = 1024;
// The wire length field is a signed 32-bit integer, so nothing larger can ever be framed.
constexpr std::uint64_t kMaxWireLength = 0x7fffffff;
constexpr std::uint64_t kMinMessageBytes = 1024;
// Length word plus protocol version: a smaller limit would refuse every startup packet.
constexpr std::uint32_t kMinStartupPacketBytes = 8;
constexpr std::string_view kScramPrefix = "SCRAM-SHA-256$";
constexpr std::size_t kMd5HashLength = 35;         // "md5" + 32 hex digits
constexpr std::size_t kScramKeyBase64Length = 44;  // 32-byte SHA-256 key, base64 with one '='
// Faster polling than this only loads the servers: a probe is a round trip and a query.
constexpr std::chrono::milliseconds kMinPollInterval{10};

// Drops the last path component: "users[0].auth" -> "users[0]" -> "users" -> "".
std::string_view parent_of(std::string_view key) {
    const std::size_t cut = key.find_last_of(".[");
    return cut == std::string_view::npos ? std::string_view{} : key.substr(0, cut);
}

bool is_base64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) {
        return false;
    }
    std::size_t padding = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '=') {
            ++padding;
            continue;
        }
        const bool alphabet = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '+' || c == '/';
        if (!alphabet || padding > 0) {  // '=' only at the end
            return false;
        }
    }
    return padding <= 2;
}

void check_timeout(Checker& check, std::chrono::milliseconds value, const std::string& key) {
    check.require(value.count() > 0, key, "must be greater than 0");
}

void check_pool(Checker& check, const PoolConfig& pool) {
    check.require(pool.size >= 1, "pool.size", "must be at least 1");
    check.require(pool.prepared_statements_per_server >= 1, "pool.prepared_statements_per_server",
                  "must be at least 1");
    if (!check.failed("pool.size")) {
        check.require(pool.min_size <= pool.size, "pool.min_size",
                      "must not exceed pool.size (" + std::to_string(pool.size) + ")");
    }
    check.require(pool.max_client_conn >= 1, "pool.max_client_conn",
                  "must be at least 1 (0 would refuse every client)");
    check_timeout(check, pool.query_wait_timeout, "pool.query_wait_timeout_ms");
    check_timeout(check, pool.server_idle_timeout, "pool.server_idle_timeout_ms");
    check_timeout(check, pool.server_lifetime, "pool.server_lifetime_ms");
    check_timeout(check, pool.connect_timeout, "pool.connect_timeout_ms");
}

void check_limits(Checker& check, const LimitsConfig& limits) {
    check.require(limits.max_startup_packet_bytes >= kMinStartupPacketBytes &&
                      limits.max_startup_packet_bytes <= kMaxWireLength,
                  "limits.max_startup_packet_bytes",
                  "must be between " + std::to_string(kMinStartupPacketBytes) + " and " +
                      std::to_string(kMaxWireLength));
    check.require(
        limits.max_message_bytes >= kMinMessageBytes && limits.max_message_bytes <= kMaxWireLength,
        "limits.max_message_bytes",
        "must be between " + std::to_string(kMinMessageBytes) + " and " +
            std::to_string(kMaxWireLength) + " (the protocol's largest message)");
    check_timeout(check, limits.client_login_timeout, "limits.client_login_timeout_ms");
    check_timeout(check, limits.shutdown_timeout, "limits.shutdown_timeout_ms");
}

void check_password(Checker& check, const UserConfig& user, const std::string& path) {
    const std::string key = path + ".password";
    const PasswordKind kind = classify_password(user.password);
    if (kind != user.password_kind) {
        // Only a Config built in code can get here; the loader always classifies.
        check.require(false, key,
                      "password_kind is '" + std::string(to_string(user.password_kind)) +
                          "' but the password is a " + std::string(to_string(kind)) +
                          " (use classify_password)");
        return;
    }
    if (kind == PasswordKind::ScramVerifier) {
        check.require(well_formed_scram_verifier(user.password), key,
                      "starts with \"SCRAM-SHA-256$\" but is not a well-formed verifier "
                      "(SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
    }
    const std::string auth_key = path + ".auth";
    if (check.failed(auth_key)) {
        return;
    }
    switch (user.auth) {
        case AuthMethod::ScramSha256:
            check.require(kind != PasswordKind::None, key,
                          "required for auth scram-sha-256 (a plaintext or a SCRAM verifier)");
            check.require(kind != PasswordKind::Md5Hash, key,
                          "is an md5 hash, which cannot check a SCRAM-SHA-256 login; use a "
                          "plaintext or a SCRAM verifier, or set auth: md5");
            break;
        case AuthMethod::Md5:
            check.require(kind != PasswordKind::None, key,
                          "required for auth md5 (a plaintext or an md5 hash)");
            check.require(kind != PasswordKind::ScramVerifier, key,
                          "is a SCRAM verifier, which cannot check an md5 login; use a plaintext "
                          "or an md5 hash, or set auth: scram-sha-256");
            break;
        case AuthMethod::Trust:
            break;  // no client password needed; one given still serves as server_password
    }
}

void check_users(Checker& check, const std::vector<UserConfig>& users) {
    check.require(!users.empty(), "users", "at least one user is required");
    for (std::size_t i = 0; i < users.size(); ++i) {
        const UserConfig& user = users[i];
        const std::string path = "users[" + std::to_string(i) + "]";
        check.require(!user.name.empty(), path + ".name", "must not be empty");
        for (std::size_t j = 0; j < i && !user.name.empty(); ++j) {
            if (users[j].name == user.name) {
                const std::string first = "users[" + std::to_string(j) + "]";
                const int first_line = check.line_of(first);
                check.require(false, path + ".name",
                              "duplicate user '" + user.name + "' (first defined at " + first +
                                  (first_line > 0 ? ", line " + std::to_string(first_line) : "") +
                                  ")");
                break;
            }
        }
        check_password(check, user, path);
        if (user.server_password_explicit) {
            check.require(classify_password(user.server_password) != PasswordKind::ScramVerifier,
                          path + ".server_password",
                          "is a SCRAM verifier, which cannot answer a server's challenge; give "
                          "the plaintext (or an md5 hash for md5 servers)");
        }
    }
}

void check_write_functions(Checker& check, const std::vector<std::string>& functions,
                           const std::string& path) {
    for (std::size_t i = 0; i < functions.size(); ++i) {
        const std::string& name = functions[i];
        const std::string key = path + "[" + std::to_string(i) + "]";
        if (name.empty()) {
            check.require(false, key, "must not be empty");
            continue;
        }
        if (name.find('.') != std::string::npos) {
            check.require(false, key,
                          "give the function name without its schema ('" +
                              name.substr(name.rfind('.') + 1) +
                              "'): it matches the function in every schema");
            continue;
        }
        if (name.find_first_of("() \t\"") != std::string::npos) {
            check.require(false, key,
                          "expected a bare function name, without parentheses, argument types, "
                          "spaces or quotes");
            continue;
        }
        const bool lower = std::none_of(name.begin(), name.end(), [](char c) {
            return std::isupper(static_cast<unsigned char>(c)) != 0;
        });
        check.require(lower, key, "must be lower case (as PostgreSQL folds unquoted names)");
        for (std::size_t j = 0; j < i; ++j) {
            if (functions[j] == name) {
                const std::string first = path + "[" + std::to_string(j) + "]";
                check.require(false, key,
                              "'" + name + "' is listed twice" + first_at(check, first, first));
                break;
            }
        }
    }
}

// For a database's block (`global` set): whether it sets this value itself. A value equal to the
// global one is not checked twice: it was reported there, or it came from there.
template <typename T>
bool own(const RoutingConfig& routing, const RoutingConfig* global, T RoutingConfig::*member) {
    return global == nullptr || routing.*member != global->*member;
}

void check_routing(Checker& check, const RoutingConfig& routing, const std::string& path,
                   const RoutingConfig* global) {
    const std::string prefix = path + ".";
    if (own(routing, global, &RoutingConfig::consistency_keys)) {
        check.require(routing.consistency_keys >= 1, prefix + "consistency_keys",
                      "must be at least 1 (entries in the user/key consistency table)");
    }
    if (own(routing, global, &RoutingConfig::max_replica_lag)) {
        // 0 is refused rather than read as "no limit": the two readings are opposite, and the
        // prober's hysteresis (lag ok again below half the limit) has no meaning for it.
        check.require(routing.max_replica_lag.count() >= 1, prefix + "max_replica_lag_ms",
                      "must be at least 1 (a replica further behind gets no reads); there is no "
                      "'unlimited' value, set a large one such as 3600000 instead");
    }
    if (own(routing, global, &RoutingConfig::health_check_interval)) {
        check.require(routing.health_check_interval >= kMinPollInterval,
                      prefix + "health_check_interval_ms",
                      "must be at least " + std::to_string(kMinPollInterval.count()));
    }
    if (own(routing, global, &RoutingConfig::catalog_refresh_interval)) {
        check.require(routing.catalog_refresh_interval >= kMinPollInterval,
                      prefix + "catalog_refresh_interval_ms",
                      "must be at least " + std::to_string(kMinPollInterval.count()));
    }
    const CircuitBreakerConfig& breaker = routing.circuit_breaker;
    if (global == nullptr || breaker.failures != global->circuit_breaker.failures) {
        check.require(breaker.failures >= 1, prefix + "circuit_breaker.failures",
                      "must be at least 1 (consecutive failures that open the circuit)");
    }
    if (global == nullptr || breaker.open != global->circuit_breaker.open) {
        check_timeout(check, breaker.open, prefix + "circuit_breaker.open_ms");
    }
    if (own(routing, global, &RoutingConfig::write_functions)) {
        check_write_functions(check, routing.write_functions, prefix + "write_functions");
    }
}

void check_databases(Checker& check, const std::vector<DatabaseConfig>& databases,
                     const RoutingConfig& global) {
    check.require(!databases.empty(), "databases", "at least one database is required");
    for (std::size_t i = 0; i < databases.size(); ++i) {
        const DatabaseConfig& database = databases[i];
        const std::string path = "databases." + database.name;
        check.require(!database.name.empty(), path, "database name must not be empty");
        for (std::size_t j = 0; j < i; ++j) {
            if (databases[j].name == database.name) {
                check.require(false, path, "duplicate database '" + database.name + "'");
                break;
            }
        }
        check.require(!database.dbname.empty(), path + ".dbname", "must not be empty");
        if (database.shards.empty()) {
            detail::check_servers(check, database.primary, database.replicas, path);
        } else {
            detail::check_sharding(check, database, path);
        }
        check_routing(check, database.routing, path + ".routing", &global);
    }
}

void check_health_check_user(Checker& check, const Config& config) {
    if (!config.health_check_user.empty()) {
        const UserConfig* user = config.find_user(config.health_check_user);
        if (user == nullptr) {
            std::string names;
            for (const UserConfig& candidate : config.users) {
                names += (names.empty() ? "" : ", ") + candidate.name;
            }
            check.require(
                false, "health_check_user",
                "no user '" + config.health_check_user + "' under users (users: " + names + ")");
            return;
        }
        check.require(can_log_in_to_servers(*user), "health_check_user",
                      "user '" + user->name +
                          "' has no server credential to log in with: it needs a plaintext or "
                          "md5 password or server_password, or auth: trust");
        return;
    }
    if (check.failed("health_check_user") || !default_health_check_user(config).empty()) {
        return;
    }
    // The prober also watches the primary (failover), but without replicas there is no routing
    // to feed, so a config without any server credential stays valid then. A sharded database
    // counts as replicated: the prober is to watch every shard's servers.
    for (const DatabaseConfig& database : config.databases) {
        if (!database.replicas.empty() || !database.shards.empty()) {
            check.require(
                false,
                "databases." + database.name + (database.shards.empty() ? ".replicas" : ".shards"),
                "the health checks need a user to log in to the servers, and no user "
                "has a server credential: give one a plaintext or md5 password or "
                "server_password (or auth: trust), and name it in health_check_user if "
                "it is not the first such user");
            return;
        }
    }
}

}  // namespace

void SourceMap::record(std::string key, int line) {
    lines_.insert_or_assign(std::move(key), line);
}

void SourceMap::mark_failed(std::string key) {
    failed_.insert(std::move(key));
}

int SourceMap::line_of(std::string_view key) const {
    for (;;) {
        if (const auto it = lines_.find(key); it != lines_.end()) {
            return it->second;
        }
        if (key.empty()) {
            return 0;
        }
        key = parent_of(key);
    }
}

bool SourceMap::failed(std::string_view key) const {
    for (;;) {
        if (failed_.find(key) != failed_.end()) {
            return true;
        }
        if (key.empty()) {
            return false;
        }
        key = parent_of(key);
    }
}

PasswordKind classify_password(std::string_view password) {
    if (password.empty()) {
        return PasswordKind::None;
    }
    if (password.size() == kMd5HashLength && password.substr(0, 3) == "md5" &&
        password.find_first_not_of("0123456789abcdef", 3) == std::string_view::npos) {
        return PasswordKind::Md5Hash;
    }
    if (password.substr(0, kScramPrefix.size()) == kScramPrefix) {
        return PasswordKind::ScramVerifier;
    }
    return PasswordKind::Plain;
}

bool well_formed_scram_verifier(std::string_view verifier) {
    if (verifier.substr(0, kScramPrefix.size()) != kScramPrefix) {
        return false;
    }
    std::string_view rest = verifier.substr(kScramPrefix.size());
    const std::size_t colon = rest.find(':');
    const std::size_t dollar = rest.find('$');
    if (colon == std::string_view::npos || dollar == std::string_view::npos || colon > dollar) {
        return false;
    }
    const std::string_view iterations = rest.substr(0, colon);
    const std::string_view salt = rest.substr(colon + 1, dollar - colon - 1);
    const std::string_view keys = rest.substr(dollar + 1);
    const std::size_t key_colon = keys.find(':');
    if (key_colon == std::string_view::npos) {
        return false;
    }
    const std::string_view stored_key = keys.substr(0, key_colon);
    const std::string_view server_key = keys.substr(key_colon + 1);
    const bool iterations_ok =
        !iterations.empty() && iterations.size() <= 9 &&
        iterations.find_first_not_of("0123456789") == std::string_view::npos &&
        iterations.find_first_not_of('0') != std::string_view::npos;
    return iterations_ok && is_base64(salt) && stored_key.size() == kScramKeyBase64Length &&
           is_base64(stored_key) && server_key.size() == kScramKeyBase64Length &&
           is_base64(server_key);
}

bool can_log_in_to_servers(const UserConfig& user) {
    const PasswordKind kind = classify_password(user.server_password);
    return user.auth == AuthMethod::Trust || kind == PasswordKind::Plain ||
           kind == PasswordKind::Md5Hash;
}

std::string default_health_check_user(const Config& config) {
    for (const UserConfig& user : config.users) {
        // A repeated name (reported elsewhere) means the first entry, as for find_user.
        if (!user.name.empty() && config.find_user(user.name) == &user &&
            can_log_in_to_servers(user)) {
            return user.name;
        }
    }
    return "";
}

std::vector<ConfigError> validate_config(const Config& config, const SourceMap& source) {
    detail::Checker check(source);
    check_address(check, config.listen, "listen");
    check.require(config.workers <= kMaxWorkers, "workers",
                  "must be at most " + std::to_string(kMaxWorkers) + " (0 = half the cores)");
    check_pool(check, config.pool);
    check_users(check, config.users);
    check_routing(check, config.routing, "routing", nullptr);
    check_databases(check, config.databases, config.routing);
    check_health_check_user(check, config);
    check_limits(check, config.limits);
    return check.take();
}

}  // namespace pgrouter::config
