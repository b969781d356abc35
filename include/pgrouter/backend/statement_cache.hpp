// pgrouter/backend/statement_cache.hpp — prepared statements as servers know them: one statement
// under pgrouter's digest name, and which of those names one server connection has prepared (a
// bounded LRU that travels with the connection, whichever client leases it). Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "pgrouter/sql/shard_plan.hpp"

namespace pgrouter::backend {

// One statement as the servers know it. Shared by every client name that maps to it.
struct PreparedStatement {
    std::string server_name;  // "pgr_<digest>"
    std::string query;
    std::uint16_t param_count = 0;
    std::vector<std::uint8_t> param_types;  // raw OIDs as the client sent them
    // Where its executions may go, worked out once at Parse (routing::Access / WriteCause
    // values; the session owns their meaning).
    std::uint8_t route_access = 1;
    std::uint8_t route_cause = 1;
    bool may_modify = true;
    // A sharded database: how the statement runs on the shards, planned at its first Bind.
    mutable std::shared_ptr<const sql::ShardPlan> shard_plan;
};

// Server statement names prepared on one server connection, least recently used first out.
class ServerStatementCache {
public:
    explicit ServerStatementCache(std::size_t capacity = 200) : capacity_(capacity) {}
    // True (and marks it recently used) when the connection has `name`.
    bool use(const std::string& name);
    // Records `name` as prepared; returns the name evicted to stay within capacity, if any.
    std::optional<std::string> add(const std::string& name);
    void remove(const std::string& name);
    void clear() noexcept;
    std::size_t size() const noexcept { return index_.size(); }
    void set_capacity(std::size_t capacity) noexcept { capacity_ = capacity == 0 ? 1 : capacity; }

private:
    std::size_t capacity_;
    std::list<std::string> lru_;  // front = most recently used
    std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

}  // namespace pgrouter::backend
