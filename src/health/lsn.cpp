// pgrouter/health/lsn.cpp — WAL positions as PostgreSQL prints them ("16/B374D848").
#include <charconv>
#include <cstdio>

#include "pgrouter/health/server_health.hpp"

namespace pgrouter::health {

std::optional<std::uint64_t> parse_lsn(std::string_view text) noexcept {
    auto slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) {
        return std::nullopt;
    }
    std::uint32_t high = 0;
    std::uint32_t low = 0;
    auto first = std::from_chars(text.data(), text.data() + slash, high, 16);
    if (first.ec != std::errc{} || first.ptr != text.data() + slash) {
        return std::nullopt;
    }
    auto second = std::from_chars(text.data() + slash + 1, text.data() + text.size(), low, 16);
    if (second.ec != std::errc{} || second.ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return (std::uint64_t{high} << 32) | low;
}

std::string format_lsn(std::uint64_t lsn) {
    char out[32];
    int n = std::snprintf(out, sizeof out, "%X/%X", static_cast<unsigned>(lsn >> 32),
                          static_cast<unsigned>(lsn & 0xffffffffu));
    return std::string(out, static_cast<std::size_t>(n));
}

}  // namespace pgrouter::health
