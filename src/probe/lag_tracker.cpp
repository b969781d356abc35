// src/probe/lag_tracker.cpp — replica lag from the primary's position history (see header).
#include "pgrouter/probe/lag_tracker.hpp"

#include <algorithm>

namespace pgrouter::probe {

void LagTracker::sample(health::Clock::time_point now, std::uint64_t lsn) {
    if (!samples_.empty() && lsn <= samples_.back().lsn) {
        if (lsn < samples_.back().lsn) {
            samples_.clear();
        } else {
            return;
        }
    }
    samples_.push_back(Sample{now, lsn});
    while (samples_.size() > std::max<std::size_t>(max_samples_, 1)) {
        samples_.pop_front();
    }
}

std::chrono::milliseconds LagTracker::lag(std::uint64_t replay_lsn,
                                          health::Clock::time_point now) const {
    if (samples_.empty() || replay_lsn >= samples_.back().lsn) {
        return std::chrono::milliseconds(0);
    }
    // Positions rise along the history: the first sample beyond the replay position.
    auto beyond =
        std::upper_bound(samples_.begin(), samples_.end(), replay_lsn,
                         [](std::uint64_t lsn, const Sample& sample) { return lsn < sample.lsn; });
    auto since = now - beyond->at;
    if (since.count() < 0) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(since);
}

}  // namespace pgrouter::probe
