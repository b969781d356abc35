// tests/support/process_memory.hpp — memory figures of another process (the pgrouter under test)
// from /proc/<pid>/status, and its peak (VmHWM) reset through /proc/<pid>/clear_refs. Linux only,
// header-only; reads those two files and nothing else, never judges the figures.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace pgrouter::test {

// Field `field` ("VmRSS", "VmHWM", ...) of /proc/<pid>/status in KiB; nullopt when the process or
// the field is missing.
inline std::optional<std::int64_t> proc_status_kib(pid_t pid, std::string_view field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
            line[field.size()] == ':') {
            return std::stoll(line.substr(field.size() + 1));
        }
    }
    return std::nullopt;
}

// Sets the process's VmHWM back to its current VmRSS (writes "5" to clear_refs, Linux >= 4.0).
// False when that is not allowed (another user's process, an old kernel).
inline bool reset_peak_rss(pid_t pid) {
    std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

// How far a process's resident memory rose above its level at construction: the peak is reset
// then, so growth_kib() is the largest VmRSS seen since minus VmRSS at the start.
class PeakRssProbe {
public:
    explicit PeakRssProbe(pid_t pid)
        : pid_(pid), reset_(reset_peak_rss(pid)), start_kib_(proc_status_kib(pid, "VmRSS")) {}

    // False when the peak could not be reset or VmRSS not read: growth_kib() means nothing then.
    bool usable() const { return reset_ && start_kib_.has_value(); }
    std::int64_t start_kib() const { return start_kib_.value_or(0); }
    std::optional<std::int64_t> growth_kib() const {
        const std::optional<std::int64_t> peak = proc_status_kib(pid_, "VmHWM");
        if (!peak || !start_kib_) {
            return std::nullopt;
        }
        return *peak - *start_kib_;
    }

private:
    pid_t pid_;
    bool reset_;
    std::optional<std::int64_t> start_kib_;
};

}  // namespace pgrouter::test
