// pgrouter/backend/statement_cache.cpp — the per-server-connection statement LRU.
#include "pgrouter/backend/statement_cache.hpp"

namespace pgrouter::backend {

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

}  // namespace pgrouter::backend
