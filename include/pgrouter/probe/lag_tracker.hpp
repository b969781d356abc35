// pgrouter/probe/lag_tracker.hpp — replica lag from WAL positions, not commit timestamps: a short
// history of when the primary first reported each position, so a replica's lag is the time since
// the primary first reported a position beyond the replica's replay position (exact to one sample
// interval, and zero on an idle primary). Pure: no I/O, no clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include "pgrouter/health/server_health.hpp"

namespace pgrouter::probe {

class LagTracker {
public:
    explicit LagTracker(std::size_t max_samples = 4096) : max_samples_(max_samples) {}

    // The primary reported `lsn` at `now`. Only a position beyond the last one is kept (its first
    // sighting is what lag is measured from); a lower one (a new timeline, a different server
    // promoted) starts the history again.
    void sample(health::Clock::time_point now, std::uint64_t lsn);

    // Zero when the replica has replayed the last sampled position (or nothing was sampled);
    // otherwise the time since the first sample beyond `replay_lsn`. When the history was cut, the
    // oldest kept sample gives a lower bound.
    std::chrono::milliseconds lag(std::uint64_t replay_lsn, health::Clock::time_point now) const;

    std::uint64_t latest() const noexcept { return samples_.empty() ? 0 : samples_.back().lsn; }
    std::size_t size() const noexcept { return samples_.size(); }

private:
    struct Sample {
        health::Clock::time_point at;
        std::uint64_t lsn;
    };
    std::size_t max_samples_;
    std::deque<Sample> samples_;
};

}  // namespace pgrouter::probe
