// pgrouter/session/prepared.cpp — client statement names and per-server statement LRU.
#include "pgrouter/session/prepared.hpp"

namespace pgrouter::session {

const PreparedStatement* ClientStatements::find(std::string_view name) const {
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? nullptr : it->second.get();
}

bool ClientStatements::add(std::string_view name,
                           std::shared_ptr<const PreparedStatement> statement) {
    return by_name_.emplace(std::string(name), std::move(statement)).second;
}

void ClientStatements::remove(std::string_view name) {
    by_name_.erase(std::string(name));
}

bool ServerStatementCache::use(const std::string& name) {
    auto it = index_.find(name);
    if (it == index_.end()) {
        return false;
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    return true;
}

std::optional<std::string> ServerStatementCache::add(const std::string& name) {
    if (use(name)) {
        return std::nullopt;
    }
    lru_.push_front(name);
    index_.emplace(name, lru_.begin());
    if (index_.size() <= capacity_) {
        return std::nullopt;
    }
    std::string evicted = std::move(lru_.back());
    lru_.pop_back();
    index_.erase(evicted);
    return evicted;
}

void ServerStatementCache::remove(const std::string& name) {
    auto it = index_.find(name);
    if (it != index_.end()) {
        lru_.erase(it->second);
        index_.erase(it);
    }
}

void ServerStatementCache::clear() noexcept {
    lru_.clear();
    index_.clear();
}

}  // namespace pgrouter::session
