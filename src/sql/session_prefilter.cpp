// pgrouter/sql/session_prefilter.cpp — may_affect_session(): a keyword-level lexer that lets plain
// SELECT/DML traffic skip the parser. Must never say "no effect" for a text whose classify() finds
// one, so every doubt (a backslash in a string, a dollar quote, U& escapes, a keyword it does not
// list) answers true. No allocation, no parser.
#include <array>
#include <cstddef>
#include <string_view>

#include "lex.hpp"
#include "pgrouter/sql/classify.hpp"

namespace pgrouter::sql {
namespace {

using lex::icontains;
using lex::ident_end;
using lex::iequals;
using lex::is_ident_start;
using lex::lower;
using lex::skip_blank;

enum class Lead { SelectLike, Dml };

// Statements whose leading keyword rules out a session effect, apart from what the body scan
// below looks for. SELECT and WITH can create a table (SELECT ... INTO), so they are SelectLike.
struct SafeKeyword {
    std::string_view word;
    Lead lead;
};
constexpr std::array<SafeKeyword, 26> kSafeKeywords = {{
    {"select", Lead::SelectLike}, {"with", Lead::SelectLike}, {"insert", Lead::Dml},
    {"update", Lead::Dml},        {"delete", Lead::Dml},      {"merge", Lead::Dml},
    {"values", Lead::Dml},        {"table", Lead::Dml},       {"copy", Lead::Dml},
    {"show", Lead::Dml},          {"begin", Lead::Dml},       {"start", Lead::Dml},
    {"commit", Lead::Dml},        {"end", Lead::Dml},         {"rollback", Lead::Dml},
    {"abort", Lead::Dml},         {"savepoint", Lead::Dml},   {"release", Lead::Dml},
    {"fetch", Lead::Dml},         {"move", Lead::Dml},        {"notify", Lead::Dml},
    {"truncate", Lead::Dml},      {"lock", Lead::Dml},        {"vacuum", Lead::Dml},
    {"analyze", Lead::Dml},       {"checkpoint", Lead::Dml},
}};

bool is_temp_word(std::string_view word) noexcept {
    return iequals(word, "temp") || iequals(word, "temporary") ||
           (word.size() >= 7 && iequals(word.substr(0, 7), "pg_temp"));
}

// Words inside a SELECT/DML statement that can carry an effect: advisory lock functions, and for
// SELECT/WITH an INTO together with TEMP/TEMPORARY/pg_temp.
struct BodyScan {
    Lead lead = Lead::Dml;
    bool saw_into = false;
    bool saw_temp = false;

    bool unsure(std::string_view word, bool quoted) noexcept {
        if (icontains(word, "advisory") || icontains(word, "set_config")) {
            return true;
        }
        if (lead == Lead::SelectLike) {
            saw_into = saw_into || (!quoted && iequals(word, "into"));
            saw_temp = saw_temp || is_temp_word(word);
            return saw_into && saw_temp;
        }
        return false;
    }
};

// Scans one statement that starts with a safe keyword at `pos`, up to its ';' (or the end).
// Returns the position after that ';', or npos when the statement may have an effect or the lexer
// is unsure how PostgreSQL would read it.
std::size_t scan_body(std::string_view text, std::size_t pos, BodyScan& scan) noexcept {
    constexpr std::size_t kUnsure = std::string_view::npos;
    while (true) {
        pos = skip_blank(text, pos);
        if (pos >= text.size()) {
            return pos;
        }
        char c = text[pos];
        if (c == ';') {
            return pos + 1;
        }
        if (is_ident_start(c)) {
            std::size_t end = ident_end(text, pos);
            std::string_view word = text.substr(pos, end - pos);
            // U&'...' and U&"..." may spell any name with escapes.
            if (word.size() == 1 && lower(c) == 'u' && end < text.size() && text[end] == '&') {
                return kUnsure;
            }
            if (scan.unsure(word, false)) {
                return kUnsure;
            }
            pos = end;
        } else if (c == '\'') {
            // A backslash means the reading depends on standard_conforming_strings or an E
            // prefix; let the parser decide.
            std::size_t end = lex::quoted_end(text, pos + 1, '\'', false);
            if (text.substr(pos, end - pos).find('\\') != std::string_view::npos) {
                return kUnsure;
            }
            pos = end;
        } else if (c == '"') {
            std::size_t end = lex::quoted_end(text, pos + 1, '"', false);
            if (scan.unsure(text.substr(pos + 1, end - pos - 1), true)) {
                return kUnsure;
            }
            pos = end;
        } else if (c == '$') {
            // $1 is a parameter; anything else may open a dollar-quoted string.
            if (pos + 1 < text.size() && lex::is_digit(text[pos + 1])) {
                ++pos;
            } else {
                return kUnsure;
            }
        } else if (lex::is_digit(c)) {
            // Digits only: PostgreSQL 15 reads "1into" as 1 followed by INTO.
            while (pos < text.size() && lex::is_digit(text[pos])) {
                ++pos;
            }
        } else {
            ++pos;
        }
    }
}

}  // namespace

bool may_affect_session(std::string_view sql) noexcept {
    if (std::size_t nul = sql.find('\0'); nul != std::string_view::npos) {
        sql = sql.substr(0, nul);
    }
    std::size_t pos = 0;
    while (true) {
        pos = skip_blank(sql, pos);
        if (pos >= sql.size()) {
            return false;
        }
        if (sql[pos] == ';') {
            ++pos;
            continue;
        }
        if (!is_ident_start(sql[pos])) {
            return true;
        }
        std::size_t end = ident_end(sql, pos);
        std::string_view keyword = sql.substr(pos, end - pos);
        BodyScan scan;
        bool safe = false;
        for (const SafeKeyword& k : kSafeKeywords) {
            if (iequals(keyword, k.word)) {
                scan.lead = k.lead;
                safe = true;
                break;
            }
        }
        if (!safe) {
            return true;
        }
        pos = scan_body(sql, end, scan);
        if (pos == std::string_view::npos) {
            return true;
        }
    }
}

}  // namespace pgrouter::sql
