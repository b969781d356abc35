// pgrouter/sql/statement_cache.cpp — the LRU behind StatementCache. Parsing happens outside the
// mutex; the mutex only guards the list and the index.
#include "pgrouter/sql/statement_cache.hpp"

#include <xxhash.h>

#include <utility>

namespace pgrouter::sql {

StatementCache::StatementCache(std::size_t capacity, std::size_t max_text_bytes)
    : capacity_(capacity), max_text_bytes_(max_text_bytes) {
    index_.reserve(capacity_);
}

std::shared_ptr<const Classification> StatementCache::classify(std::string_view sql) {
    const std::uint64_t digest = XXH3_64bits(sql.data(), sql.size());
    {
        std::lock_guard lock(mutex_);
        auto it = index_.find(digest);
        if (it != index_.end() && it->second->text == sql) {
            lru_.splice(lru_.begin(), lru_, it->second);
            hits_.fetch_add(1, std::memory_order_relaxed);
            return it->second->result;
        }
    }
    misses_.fetch_add(1, std::memory_order_relaxed);
    auto result = std::make_shared<const Classification>(sql::classify(sql));
    if (capacity_ == 0 || sql.size() > max_text_bytes_) {
        return result;
    }

    std::lock_guard lock(mutex_);
    auto it = index_.find(digest);
    if (it != index_.end()) {
        // Another thread parsed the same text meanwhile: hand out its pointer so that equal texts
        // share one result. On a digest collision the newer text takes the slot.
        lru_.splice(lru_.begin(), lru_, it->second);
        Entry& entry = *it->second;
        if (entry.text != sql) {
            entry.text.assign(sql);
            entry.result = std::move(result);
        }
        return entry.result;
    }
    lru_.push_front(Entry{digest, std::string(sql), result});
    index_.emplace(digest, lru_.begin());
    if (lru_.size() > capacity_) {
        index_.erase(lru_.back().digest);
        lru_.pop_back();
    }
    return result;
}

std::size_t StatementCache::size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

}  // namespace pgrouter::sql
