// pgrouter/health/write_tracker.cpp — the LRU table of last writes per user/key (see header).
#include "pgrouter/health/write_tracker.hpp"

#include <algorithm>

namespace pgrouter::health {

WriteTracker::WriteTracker(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

WriteTracker::List::iterator WriteTracker::touch(std::string_view key) {
    auto found = index_.find(std::string(key));
    if (found == index_.end()) {
        return order_.end();
    }
    order_.splice(order_.begin(), order_, found->second);
    return found->second;
}

std::uint64_t WriteTracker::record_write(std::string_view key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = touch(key);
    if (it == order_.end()) {
        if (order_.size() >= capacity_) {
            index_.erase(order_.back().key);
            order_.pop_back();
        }
        order_.push_front(Slot{std::string(key), {}, 0, 0});
        it = order_.begin();
        index_.emplace(it->key, it);
    }
    it->entry.wrote_at = now;
    it->entry.lsn = 0;
    it->latest_ticket = next_ticket_++;
    return it->latest_ticket;
}

void WriteTracker::record_lsn(std::string_view key, std::uint64_t lsn, std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    auto found = index_.find(std::string(key));
    if (found == index_.end()) {
        return;
    }
    Slot& slot = *found->second;
    slot.highest_lsn = std::max(slot.highest_lsn, lsn);
    if (ticket == 0 || ticket == slot.latest_ticket) {
        slot.entry.lsn = slot.highest_lsn;
    }
}

std::optional<WriteTracker::Entry> WriteTracker::find(std::string_view key) {
    std::lock_guard lock(mutex_);
    auto it = touch(key);
    if (it == order_.end()) {
        return std::nullopt;
    }
    return it->entry;
}

std::size_t WriteTracker::size() const {
    std::lock_guard lock(mutex_);
    return order_.size();
}

}  // namespace pgrouter::health
