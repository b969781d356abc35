// src/sql/lex.hpp — the few PostgreSQL 15 lexical rules the parser-free scans in src/sql share
// (whitespace, comments, identifiers, quoted text). Internal header; no allocation, no state.
#pragma once

#include <cstddef>
#include <string_view>

namespace pgrouter::sql::lex {

constexpr char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

inline bool icontains(std::string_view haystack, std::string_view needle) noexcept {
    for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        if (iequals(haystack.substr(i, needle.size()), needle)) {
            return true;
        }
    }
    return false;
}

// \v counts as space here although PostgreSQL 15 rejects it: either way it never starts a name.
constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// Identifiers start with a letter, '_' or any byte >= 0x80 and go on with those, digits and '$'.
constexpr bool is_ident_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           static_cast<unsigned char>(c) >= 0x80;
}
constexpr bool is_ident_char(char c) noexcept {
    return is_ident_start(c) || is_digit(c) || c == '$';
}

inline std::size_t ident_end(std::string_view text, std::size_t pos) noexcept {
    while (pos < text.size() && is_ident_char(text[pos])) {
        ++pos;
    }
    return pos;
}

inline bool starts_comment(std::string_view text, std::size_t pos) noexcept {
    return pos + 1 < text.size() && ((text[pos] == '-' && text[pos + 1] == '-') ||
                                     (text[pos] == '/' && text[pos + 1] == '*'));
}

// Skips whitespace and comments (block comments nest, as in PostgreSQL). Returns the position of
// the next other character or text.size(); an unterminated comment runs to the end.
inline std::size_t skip_blank(std::string_view text, std::size_t pos) noexcept {
    while (pos < text.size()) {
        if (is_space(text[pos])) {
            ++pos;
        } else if (text[pos] == '-' && starts_comment(text, pos)) {
            while (pos < text.size() && text[pos] != '\n' && text[pos] != '\r') {
                ++pos;
            }
        } else if (text[pos] == '/' && starts_comment(text, pos)) {
            int depth = 0;
            while (pos < text.size()) {
                if (text[pos] == '/' && pos + 1 < text.size() && text[pos + 1] == '*') {
                    ++depth;
                    pos += 2;
                } else if (text[pos] == '*' && pos + 1 < text.size() && text[pos + 1] == '/') {
                    pos += 2;
                    if (--depth == 0) {
                        break;
                    }
                } else {
                    ++pos;
                }
            }
        } else {
            break;
        }
    }
    return pos;
}

// `pos` is just after an opening quote character `quote`; a doubled quote stands for itself.
// Returns the position after the closing quote, or text.size() when it is missing. With
// `backslash_escapes` (E'...' strings) a backslash takes the next character with it.
inline std::size_t quoted_end(std::string_view text, std::size_t pos, char quote,
                              bool backslash_escapes) noexcept {
    while (pos < text.size()) {
        char c = text[pos];
        if (backslash_escapes && c == '\\') {
            pos += 2;
        } else if (c == quote) {
            if (pos + 1 < text.size() && text[pos + 1] == quote) {
                pos += 2;
            } else {
                return pos + 1;
            }
        } else {
            ++pos;
        }
    }
    return text.size();
}

// Length of the dollar-quote delimiter ($$ or $tag$) starting at `pos`, or 0 when there is none
// there (PostgreSQL then reads a lone '$').
inline std::size_t dollar_delimiter(std::string_view text, std::size_t pos) noexcept {
    std::size_t i = pos + 1;
    if (i < text.size() && is_ident_start(text[i])) {
        while (i < text.size() && (is_ident_start(text[i]) || is_digit(text[i]))) {
            ++i;
        }
    }
    return i < text.size() && text[i] == '$' ? i + 1 - pos : 0;
}

}  // namespace pgrouter::sql::lex
