// pgrouter/sql/hints.cpp — parse_hints(): the pgrouter routing hints in a statement's leading
// comments. Reads only the comments before the first token; no allocation, no parser.
#include "pgrouter/sql/hints.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "lex.hpp"

namespace pgrouter::sql {
namespace {

constexpr std::size_t kNone = std::string_view::npos;

bool is_separator(char c) noexcept {
    return lex::is_space(c) || c == ',';
}

std::optional<std::uint32_t> to_number(std::string_view text) noexcept {
    if (text.empty() || text.size() > 10) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    for (char c : text) {
        if (!lex::is_digit(c)) {
            return std::nullopt;
        }
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > UINT32_MAX) {
        return std::nullopt;
    }
    return static_cast<std::uint32_t>(value);
}

void unknown(std::string_view item, Hints& hints) noexcept {
    if (hints.unknown_count++ == 0) {
        hints.first_unknown = item;
    }
}

void apply(std::string_view item, std::string_view name, std::optional<std::string_view> value,
           Hints& hints) noexcept {
    using lex::iequals;
    if (!value) {
        if (iequals(name, "primary")) {
            hints.target = TargetHint::Primary;
        } else if (iequals(name, "replica")) {
            if (hints.target != TargetHint::Primary) {
                hints.target = TargetHint::Replica;
            }
        } else {
            unknown(item, hints);
        }
        return;
    }
    if (iequals(name, "max_lag_ms") || iequals(name, "shard")) {
        std::optional<std::uint32_t> number = to_number(*value);
        if (!number) {
            unknown(item, hints);
        } else if (iequals(name, "shard")) {
            hints.shard = number;
        } else {
            hints.max_lag_ms = number;
        }
    } else if ((iequals(name, "key") || iequals(name, "shard_key")) && !value->empty()) {
        (iequals(name, "key") ? hints.key : hints.shard_key) = *value;
    } else {
        unknown(item, hints);
    }
}

// The text of one comment (without its delimiters).
void read_comment(std::string_view body, Hints& hints) noexcept {
    std::size_t pos = 0;
    while (pos < body.size() && lex::is_space(body[pos])) {
        ++pos;
    }
    constexpr std::string_view kTag = "pgrouter";
    if (body.size() - pos < kTag.size() || !lex::iequals(body.substr(pos, kTag.size()), kTag)) {
        return;
    }
    pos += kTag.size();
    while (pos < body.size() && lex::is_space(body[pos])) {
        ++pos;
    }
    if (pos >= body.size() || body[pos] != ':') {
        return;
    }
    ++pos;
    while (true) {
        while (pos < body.size() && is_separator(body[pos])) {
            ++pos;
        }
        if (pos >= body.size()) {
            return;
        }
        const std::size_t start = pos;
        while (pos < body.size() && !is_separator(body[pos]) && body[pos] != '=') {
            ++pos;
        }
        const std::string_view name = body.substr(start, pos - start);
        std::size_t after = pos;
        while (after < body.size() && lex::is_space(body[after])) {
            ++after;
        }
        if (after >= body.size() || body[after] != '=') {
            apply(name, name, std::nullopt, hints);
            continue;
        }
        pos = after + 1;
        while (pos < body.size() && lex::is_space(body[pos])) {
            ++pos;
        }
        std::string_view value;
        if (pos < body.size() && (body[pos] == '\'' || body[pos] == '"')) {
            const std::size_t close = body.find(body[pos], pos + 1);
            const std::size_t value_end = close == kNone ? body.size() : close;
            value = body.substr(pos + 1, value_end - pos - 1);
            pos = close == kNone ? body.size() : close + 1;
        } else {
            const std::size_t value_start = pos;
            while (pos < body.size() && !is_separator(body[pos])) {
                ++pos;
            }
            value = body.substr(value_start, pos - value_start);
        }
        apply(body.substr(start, pos - start), name, value, hints);
    }
}

}  // namespace

Hints parse_hints(std::string_view sql) noexcept {
    if (std::size_t nul = sql.find('\0'); nul != kNone) {
        sql = sql.substr(0, nul);
    }
    Hints hints;
    std::size_t pos = 0;
    while (true) {
        while (pos < sql.size() && lex::is_space(sql[pos])) {
            ++pos;
        }
        if (pos + 1 >= sql.size()) {
            return hints;
        }
        if (sql[pos] == '-' && sql[pos + 1] == '-') {
            std::size_t end = pos + 2;
            while (end < sql.size() && sql[end] != '\n' && sql[end] != '\r') {
                ++end;
            }
            read_comment(sql.substr(pos + 2, end - pos - 2), hints);
            pos = end;
        } else if (sql[pos] == '/' && sql[pos + 1] == '*') {
            // Block comments nest, as in PostgreSQL; one that never ends is a syntax error and
            // gives no hints.
            int depth = 1;
            std::size_t end = pos + 2;
            while (depth > 0) {
                if (end + 1 >= sql.size()) {
                    return hints;
                }
                if (sql[end] == '/' && sql[end + 1] == '*') {
                    ++depth;
                    end += 2;
                } else if (sql[end] == '*' && sql[end + 1] == '/') {
                    --depth;
                    end += 2;
                } else {
                    ++end;
                }
            }
            read_comment(sql.substr(pos + 2, end - 2 - pos - 2), hints);
            pos = end;
        } else {
            return hints;
        }
    }
}

}  // namespace pgrouter::sql
