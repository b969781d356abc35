// src/sharding/merge_tags.cpp — sum_command_tags: one CommandComplete tag for a statement run on
// several shards, row counts summed. Pure.
#include <string>

#include "pgrouter/sharding/merge.hpp"

namespace pgrouter::sharding {

namespace {

// The commands whose tag ends in a row count (INSERT's is "INSERT <oid> <rows>").
bool counts_rows(std::string_view command) noexcept {
    for (const std::string_view c :
         {"INSERT", "UPDATE", "DELETE", "SELECT", "COPY", "MERGE", "FETCH", "MOVE"}) {
        if (command == c) {
            return true;
        }
    }
    return false;
}

// Splits "<prefix> <count>" when the tag is a counting command; false otherwise.
bool split_tag(std::string_view tag, std::string_view& prefix, std::uint64_t& count) noexcept {
    const auto space = tag.rfind(' ');
    if (space == std::string_view::npos || space + 1 == tag.size()) {
        return false;
    }
    if (!counts_rows(tag.substr(0, tag.find(' ')))) {
        return false;
    }
    count = 0;
    for (const char c : tag.substr(space + 1)) {
        if (c < '0' || c > '9') {
            return false;
        }
        count = count * 10 + static_cast<std::uint64_t>(c - '0');
    }
    prefix = tag.substr(0, space);
    return true;
}

}  // namespace

std::string sum_command_tags(std::span<const std::string_view> tags) {
    if (tags.empty()) {
        return {};
    }
    std::string_view prefix;
    std::uint64_t total = 0;
    if (!split_tag(tags.front(), prefix, total)) {
        return std::string(tags.front());
    }
    for (const std::string_view tag : tags.subspan(1)) {
        std::string_view p;
        std::uint64_t n = 0;
        if (split_tag(tag, p, n) && p == prefix) {
            total += n;
        }
    }
    return std::string(prefix) + " " + std::to_string(total);
}

}  // namespace pgrouter::sharding
