// pgrouter/sql/hints.hpp — routing hints a client writes in the comments that open a statement,
// e.g. "/* pgrouter: replica, max_lag_ms=100 */ SELECT ...".
// Pure: no allocation, no parser, no I/O, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pgrouter::sql {

enum class TargetHint : std::uint8_t { None, Primary, Replica };

struct Hints {
    // "primary" or "replica". When a text names both, Primary wins (the safe choice).
    TargetHint target = TargetHint::None;
    std::optional<std::uint32_t> max_lag_ms;  // "max_lag_ms=100"
    // "key=user:1234", "shard_key=42": views into the text passed to parse_hints(), valid as
    // long as it is. Empty when absent.
    std::string_view key;
    std::string_view shard_key;
    std::optional<std::uint32_t> shard;  // "shard=1"
    // Words of a pgrouter comment that were not understood, including known keys with a missing
    // or bad value ("max_lag_ms=soon"): how many, and the first one (as written, with its value),
    // so the caller may warn. They are otherwise ignored.
    std::uint32_t unknown_count = 0;
    std::string_view first_unknown;

    // Whether any hint was understood.
    [[nodiscard]] bool any() const noexcept {
        return target != TargetHint::None || max_lag_ms.has_value() || !key.empty() ||
               !shard_key.empty() || shard.has_value();
    }
};

// Reads the hints in the comments before the first token of `sql` (up to a NUL byte). A comment
// holds hints when its text starts with "pgrouter:" (any case, blanks allowed around); then come
// words or key=value pairs separated by blanks or commas, e.g.
//   /* pgrouter: primary */            /* pgrouter: replica, max_lag_ms=100 */
//   /* pgrouter: key=user:1234 */      -- pgrouter: shard_key=42 shard=1
// A value may be quoted with ' or " to hold blanks or commas (key='a b'). Several hint comments
// add up; a later value replaces an earlier one. Comments after the first token, and anything in
// a string literal, never count. Other comments are skipped.
[[nodiscard]] Hints parse_hints(std::string_view sql) noexcept;

}  // namespace pgrouter::sql
