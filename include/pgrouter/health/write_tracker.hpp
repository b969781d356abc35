// pgrouter/health/write_tracker.hpp — read-your-writes across connections (consistency_scope user
// or key): when a key last wrote, and the WAL position a replica must have replayed to show it.
// A bounded LRU table behind a mutex (touched once per write transaction and once per read of a
// client using user/key scope). No I/O, no clock: times come from the caller.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "pgrouter/health/server_health.hpp"

namespace pgrouter::health {

class WriteTracker {
public:
    struct Entry {
        Clock::time_point wrote_at{};
        std::uint64_t lsn = 0;  // 0 = the last write's position is not learnt yet
    };

    // Holds at most `capacity` keys (routing.consistency_keys; at least 1); the least recently
    // used key goes first.
    explicit WriteTracker(std::size_t capacity);

    // A write transaction of `key` starts (or commits) now: the entry's position becomes unknown
    // until record_lsn reports it. Returns a ticket for record_lsn.
    std::uint64_t record_write(std::string_view key, Clock::time_point now);

    // The position of a write of `key` is known. Positions only rise. With the ticket of the
    // key's latest record_write (or 0: "the latest") the entry's lsn is published; with an older
    // ticket the position is kept but the entry stays "not learnt" until the latest write reports,
    // so a reader never trusts a position older than a write still in progress. Unknown keys
    // (evicted meanwhile) are ignored.
    void record_lsn(std::string_view key, std::uint64_t lsn, std::uint64_t ticket = 0);

    // Counts as a use for the LRU order.
    std::optional<Entry> find(std::string_view key);

    std::size_t size() const;

private:
    struct Slot {
        std::string key;
        Entry entry;
        std::uint64_t latest_ticket = 0;
        std::uint64_t highest_lsn = 0;  // the highest position reported, published or not
    };
    using List = std::list<Slot>;

    List::iterator touch(std::string_view key);  // null end() when absent; caller holds mutex_

    mutable std::mutex mutex_;
    std::size_t capacity_;
    std::uint64_t next_ticket_ = 1;
    List order_;  // most recently used first
    std::unordered_map<std::string, List::iterator> index_;
};

}  // namespace pgrouter::health
