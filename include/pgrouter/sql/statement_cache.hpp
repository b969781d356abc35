// pgrouter/sql/statement_cache.hpp — bounded LRU cache of classify() results keyed by the XXH3
// digest of the SQL text, so a text is parsed once. Thread-safe; no I/O; never throws on bad SQL.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::sql {

class StatementCache {
public:
    // Texts longer than this are classified but not kept: each entry holds a copy of its text.
    static constexpr std::size_t kDefaultMaxTextBytes = 16 * 1024;

    // capacity 0 disables caching (every call parses).
    explicit StatementCache(std::size_t capacity,
                            std::size_t max_text_bytes = kDefaultMaxTextBytes);

    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    // The classification of `sql`; the same text returns the same pointer while it stays cached.
    // The mutex is never held while parsing.
    std::shared_ptr<const Classification> classify(std::string_view sql);

    std::size_t size() const;
    std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
    std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

private:
    struct Entry {
        std::uint64_t digest = 0;
        std::string text;  // compared on lookup: a digest collision is a miss, not a wrong answer
        std::shared_ptr<const Classification> result;
    };
    using Lru = std::list<Entry>;  // front = most recently used

    const std::size_t capacity_;
    const std::size_t max_text_bytes_;
    mutable std::mutex mutex_;
    Lru lru_;
    std::unordered_map<std::uint64_t, Lru::iterator> index_;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
};

}  // namespace pgrouter::sql
