// pgrouter/config/config.cpp — small helpers on the config structs (lookups, names for logs).
// No parsing here.
#include "pgrouter/config/config.hpp"

namespace pgrouter::config {

const UserConfig* Config::find_user(std::string_view name) const {
    for (const UserConfig& user : users) {
        if (user.name == name) {
            return &user;
        }
    }
    return nullptr;
}

const DatabaseConfig* Config::find_database(std::string_view name) const {
    for (const DatabaseConfig& database : databases) {
        if (database.name == name) {
            return &database;
        }
    }
    return nullptr;
}

std::string_view to_string(PoolMode mode) {
    switch (mode) {
        case PoolMode::Transaction:
            return "transaction";
        case PoolMode::Session:
            return "session";
    }
    return "unknown";
}

std::string_view to_string(AuthMethod method) {
    switch (method) {
        case AuthMethod::ScramSha256:
            return "scram-sha-256";
        case AuthMethod::Md5:
            return "md5";
        case AuthMethod::Trust:
            return "trust";
    }
    return "unknown";
}

std::string_view to_string(PasswordKind kind) {
    switch (kind) {
        case PasswordKind::Plain:
            return "plain";
        case PasswordKind::Md5Hash:
            return "md5 hash";
        case PasswordKind::ScramVerifier:
            return "SCRAM verifier";
        case PasswordKind::None:
            return "none";
    }
    return "unknown";
}

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::Trace:
            return "trace";
        case LogLevel::Debug:
            return "debug";
        case LogLevel::Info:
            return "info";
        case LogLevel::Warn:
            return "warn";
        case LogLevel::Error:
            return "error";
        case LogLevel::Off:
            return "off";
    }
    return "unknown";
}

std::string_view to_string(ReadFrom value) {
    switch (value) {
        case ReadFrom::Replicas:
            return "replicas";
        case ReadFrom::Primary:
            return "primary";
        case ReadFrom::Any:
            return "any";
    }
    return "unknown";
}

std::string_view to_string(Balance value) {
    switch (value) {
        case Balance::RoundRobin:
            return "round_robin";
        case Balance::LeastBusy:
            return "least_busy";
    }
    return "unknown";
}

std::string_view to_string(TransactionRouting value) {
    switch (value) {
        case TransactionRouting::Primary:
            return "primary";
        case TransactionRouting::ByFirstStatement:
            return "by_first_statement";
    }
    return "unknown";
}

std::string_view to_string(Consistency value) {
    switch (value) {
        case Consistency::Window:
            return "window";
        case Consistency::Lsn:
            return "lsn";
    }
    return "unknown";
}

std::string_view to_string(ConsistencyScope value) {
    switch (value) {
        case ConsistencyScope::Connection:
            return "connection";
        case ConsistencyScope::User:
            return "user";
        case ConsistencyScope::Key:
            return "key";
    }
    return "unknown";
}

std::string_view to_string(ShardFunction value) {
    switch (value) {
        case ShardFunction::Xxh3:
            return "xxh3";
        case ShardFunction::Modulo:
            return "modulo";
    }
    return "unknown";
}

std::string_view to_string(ShardKeyType value) {
    switch (value) {
        case ShardKeyType::Bigint:
            return "bigint";
        case ShardKeyType::Integer:
            return "integer";
        case ShardKeyType::Smallint:
            return "smallint";
        case ShardKeyType::Text:
            return "text";
        case ShardKeyType::Uuid:
            return "uuid";
    }
    return "unknown";
}

std::string_view to_string(CrossShardWrites value) {
    switch (value) {
        case CrossShardWrites::Error:
            return "error";
        case CrossShardWrites::All:
            return "all";
    }
    return "unknown";
}

std::vector<ServerGroup> server_groups(const DatabaseConfig& database) {
    std::vector<ServerGroup> groups;
    if (database.shards.empty()) {
        groups.push_back({&database.primary, &database.replicas});
        return groups;
    }
    for (const ShardConfig& shard : database.shards) {
        groups.push_back({&shard.primary, &shard.replicas});
    }
    return groups;
}

}  // namespace pgrouter::config
