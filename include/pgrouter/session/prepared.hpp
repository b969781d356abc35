// pgrouter/session/prepared.hpp — named prepared statements in transaction mode. Pure bookkeeping:
// what each client prepared (under its own names) and which of pgrouter's statement names each
// server connection holds (a bounded LRU). No I/O.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pgrouter::session {

// One statement as the servers know it. Shared by every client name that maps to it.
struct PreparedStatement {
    std::string server_name;  // "pgr_<digest>"
    std::string query;
    std::uint16_t param_count = 0;
    std::vector<std::uint8_t> param_types;  // raw OIDs as the client sent them
};

// A client's statements under the names it chose. Exactly what a direct connection would have.
class ClientStatements {
public:
    const PreparedStatement* find(std::string_view name) const;
    // False when the client already uses `name` (42P05 on a direct connection).
    bool add(std::string_view name, std::shared_ptr<const PreparedStatement> statement);
    void remove(std::string_view name);
    void clear() noexcept { by_name_.clear(); }
    std::size_t size() const noexcept { return by_name_.size(); }

private:
    std::unordered_map<std::string, std::shared_ptr<const PreparedStatement>> by_name_;
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

}  // namespace pgrouter::session
