// pgrouter/sql/read_scan.cpp — scan_read(): one linear pass that recognises the plain single
// SELECT a replica can answer, so the simple protocol's ever-changing texts (pgbench -S -M
// simple) skip the parser. It must never call a write a read: every doubt answers Unsure and the
// caller parses. No allocation, no parser.
#include "pgrouter/sql/read_scan.hpp"

#include <array>
#include <cstddef>
#include <string_view>

#include "lex.hpp"

namespace pgrouter::sql {
namespace {

using lex::iequals;
using lex::lower;

constexpr std::size_t kNone = std::string_view::npos;

// Words that give Unsure wherever they stand outside literals and comments: INTO (SELECT INTO),
// FOR (every locking clause), WITH (CTEs are the parser's job), and the writing statements a CTE
// or a rule-free text could hide.
constexpr std::string_view kStopWords[] = {"into",   "for",    "with",  "insert",
                                           "update", "delete", "merge", "returning"};

// Keywords PostgreSQL 15 lists as reserved or as column-name keywords: an unqualified one
// followed by '(' is syntax (IN (...), EXISTS (...), COALESCE(...), x::numeric(10, 2), ...),
// never a call of a user function, because a function name must be an identifier, an
// unreserved keyword or a type-function keyword. The ones that become calls (EXTRACT, POSITION,
// TRIM, NORMALIZE) name pg_catalog's function explicitly. Checked with libpg_query: SELECT kw(1)
// gives no unqualified FuncCall for any of them.
constexpr std::string_view kParenKeywords[] = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "any",
    "all",
    "some",
    "on",
    "using",
    "as",
    "having",
    "when",
    "then",
    "else",
    "case",
    "end",
    "union",
    "intersect",
    "except",
    "limit",
    "offset",
    "array",
    "cast",
    "group",
    "order",
    "lateral",
    "distinct",
    "only",
    "window",
    "symmetric",
    "asymmetric",
    "exists",
    "values",
    "row",
    "between",
    "coalesce",
    "greatest",
    "least",
    "nullif",
    "extract",
    "position",
    "trim",
    "normalize",
    "grouping",
    "numeric",
    "decimal",
    "dec",
    "varchar",
    "char",
    "character",
    "bit",
    "float",
    "time",
    "timestamp",
    "interval",
    "current_time",
    "current_date",
    "localtime",
    "localtimestamp",
    "current_timestamp",
    "int",
    "integer",
    "smallint",
    "bigint",
};

// Read-only built-ins (pg_catalog) accepted in a call. They are looked up through search_path
// like any function, hence scan_read()'s allow_builtin_calls switch.
constexpr std::string_view kBuiltins[] = {
    "count",
    "substring",  // SUBSTRING(a, b) is a plain call; only SUBSTRING(a FROM b) means pg_catalog's
    "sum",
    "avg",
    "min",
    "max",
    "lower",
    "upper",
    "length",
    "char_length",
    "octet_length",
    "abs",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "mod",
    "power",
    "sqrt",
    "now",
    "date_trunc",
    "date_part",
    "age",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_number",
    "concat",
    "concat_ws",
    "replace",
    "split_part",
    "strpos",
    "starts_with",
    "btrim",
    "ltrim",
    "rtrim",
    "lpad",
    "rpad",
    "md5",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_build_object",
    "jsonb_build_object",
    "to_json",
    "to_jsonb",
    "row_to_json",
    "array_length",
    "cardinality",
    "unnest",
    "generate_series",
    "bool_and",
    "bool_or",
    "every",
};

// One table lookup per byte on the hot path instead of a chain of comparisons: bit 0 starts an
// identifier (letters, '_', bytes >= 0x80), bit 1 continues one (those, digits and '$').
constexpr std::array<unsigned char, 256> kCharClass = [] {
    std::array<unsigned char, 256> table{};
    for (int c = 0; c < 256; ++c) {
        const char ch = static_cast<char>(c);
        table[static_cast<std::size_t>(c)] = static_cast<unsigned char>(
            (lex::is_ident_start(ch) ? 1 : 0) | (lex::is_ident_char(ch) ? 2 : 0));
    }
    return table;
}();

bool starts_ident(char c) noexcept {
    return (kCharClass[static_cast<unsigned char>(c)] & 1) != 0;
}

std::size_t ident_end(std::string_view text, std::size_t pos) noexcept {
    while (pos < text.size() && (kCharClass[static_cast<unsigned char>(text[pos])] & 2) != 0) {
        ++pos;
    }
    return pos;
}

template <std::size_t N>
bool listed(const std::string_view (&words)[N], std::string_view word) noexcept {
    for (std::string_view w : words) {
        if (w.size() == word.size() && iequals(w, word)) {
            return true;
        }
    }
    return false;
}

bool is_stop_word(std::string_view word) noexcept {
    if (word.size() < 3 || word.size() > 9) {
        return false;
    }
    switch (lower(word[0])) {  // the first letters of kStopWords
        case 'i':
        case 'f':
        case 'w':
        case 'u':
        case 'd':
        case 'm':
        case 'r':
            return listed(kStopWords, word);
        default:
            return false;
    }
}

// Like lex::skip_blank, but kNone for a block comment that never ends (a syntax error, so the
// text is better left to the parser than called a read).
std::size_t skip_blank(std::string_view text, std::size_t pos) noexcept {
    while (pos < text.size()) {
        const char c = text[pos];
        if (lex::is_space(c)) {
            ++pos;
        } else if (c == '-' && pos + 1 < text.size() && text[pos + 1] == '-') {
            while (pos < text.size() && text[pos] != '\n' && text[pos] != '\r') {
                ++pos;
            }
        } else if (c == '/' && pos + 1 < text.size() && text[pos + 1] == '*') {
            int depth = 1;
            pos += 2;
            while (depth > 0) {
                if (pos + 1 >= text.size()) {
                    return kNone;
                }
                if (text[pos] == '/' && text[pos + 1] == '*') {
                    ++depth;
                    pos += 2;
                } else if (text[pos] == '*' && text[pos + 1] == '/') {
                    --depth;
                    pos += 2;
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

// `pos` is just after an opening `quote`. Returns the position after the closing one, or kNone
// when the literal does not end or (unless `escapes`, for E'') holds a backslash.
std::size_t literal_end(std::string_view text, std::size_t pos, char quote, bool escapes) noexcept {
    while (pos < text.size()) {
        const char c = text[pos];
        if (c == '\\') {
            if (!escapes) {
                return kNone;
            }
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
    return kNone;
}

// What came just before the current token, for the few cases where it decides.
enum class Prev { Other, Dot, CloseParen, Word };

// An unreserved keyword followed by '(' that is syntax only in context: OVER (...) and
// FILTER (...) right after a call's ')', BY (...) after ORDER, GROUP or PARTITION.
bool contextual_paren(std::string_view word, Prev prev, std::string_view prev_word) noexcept {
    if (iequals(word, "over") || iequals(word, "filter")) {
        return prev == Prev::CloseParen;
    }
    return iequals(word, "by") && prev == Prev::Word &&
           (iequals(prev_word, "order") || iequals(prev_word, "group") ||
            iequals(prev_word, "partition"));
}

}  // namespace

std::span<const std::string_view> scan_read_builtins() noexcept {
    return kBuiltins;
}

ReadScan scan_read(std::string_view sql, bool allow_builtin_calls) noexcept {
    constexpr ReadScan kUnsure = ReadScan::Unsure;
    if (sql.find('\0') != std::string_view::npos) {
        return kUnsure;
    }
    std::size_t pos = skip_blank(sql, 0);
    if (pos == kNone || pos >= sql.size() || !starts_ident(sql[pos])) {
        return kUnsure;
    }
    std::size_t end = ident_end(sql, pos);
    if (!iequals(sql.substr(pos, end - pos), "select")) {
        return kUnsure;
    }
    pos = end;
    Prev prev = Prev::Word;
    std::string_view prev_word = "select";
    while (true) {
        pos = skip_blank(sql, pos);
        if (pos == kNone) {
            return kUnsure;
        }
        if (pos >= sql.size()) {
            return ReadScan::PlainRead;
        }
        const char c = sql[pos];
        if (c == ';') {
            // Only empty statements may follow.
            while (pos != kNone && pos < sql.size() && sql[pos] == ';') {
                pos = skip_blank(sql, pos + 1);
            }
            return pos == sql.size() ? ReadScan::PlainRead : kUnsure;
        }
        if (starts_ident(c)) {
            end = ident_end(sql, pos);
            const std::string_view word = sql.substr(pos, end - pos);
            if (end < sql.size() && word.size() == 1) {
                const char prefix = lower(c);
                if (prefix == 'u' && sql[end] == '&') {
                    return kUnsure;  // U&'...' / U&"..." may spell anything with escapes
                }
                if (sql[end] == '\'' &&
                    (prefix == 'e' || prefix == 'b' || prefix == 'x' || prefix == 'n')) {
                    pos = literal_end(sql, end + 1, '\'', prefix == 'e');
                    if (pos == kNone) {
                        return kUnsure;
                    }
                    prev = Prev::Other;
                    continue;
                }
            }
            if (is_stop_word(word)) {
                return kUnsure;
            }
            const std::size_t next = skip_blank(sql, end);
            if (next == kNone) {
                return kUnsure;
            }
            if (next < sql.size() && sql[next] == '(') {
                const bool allowed =
                    prev != Prev::Dot &&
                    (listed(kParenKeywords, word) || contextual_paren(word, prev, prev_word) ||
                     (allow_builtin_calls && listed(kBuiltins, word)));
                if (!allowed) {
                    return kUnsure;
                }
            }
            prev = Prev::Word;
            prev_word = word;
            pos = next;
        } else if (c == '"') {
            pos = literal_end(sql, pos + 1, '"', false);
            if (pos == kNone) {
                return kUnsure;
            }
            const std::size_t next = skip_blank(sql, pos);
            if (next == kNone || (next < sql.size() && sql[next] == '(')) {
                return kUnsure;  // a quoted function name: judged by the parser
            }
            prev = Prev::Word;
            prev_word = {};
            pos = next;
        } else if (c == '\'') {
            pos = literal_end(sql, pos + 1, '\'', false);
            if (pos == kNone) {
                return kUnsure;
            }
            prev = Prev::Other;
        } else if (c == '$') {
            if (pos + 1 < sql.size() && lex::is_digit(sql[pos + 1])) {
                ++pos;  // $1: a parameter; its digits are read below
                prev = Prev::Other;
                continue;
            }
            const std::size_t delimiter = lex::dollar_delimiter(sql, pos);
            if (delimiter == 0) {
                return kUnsure;
            }
            // PostgreSQL ends a dollar quote at the first occurrence of the same delimiter.
            const std::size_t close = sql.find(sql.substr(pos, delimiter), pos + delimiter);
            if (close == std::string_view::npos) {
                return kUnsure;
            }
            pos = close + delimiter;
            prev = Prev::Other;
        } else if (lex::is_digit(c)) {
            // Digits only: PostgreSQL 15 reads "1into" as 1 followed by INTO.
            while (pos < sql.size() && lex::is_digit(sql[pos])) {
                ++pos;
            }
            prev = Prev::Other;
        } else {
            prev = c == '.' ? Prev::Dot : c == ')' ? Prev::CloseParen : Prev::Other;
            ++pos;
        }
    }
}

bool leads_with_dml(std::string_view sql) noexcept {
    const std::size_t start = skip_blank(sql, 0);
    const std::string_view word = sql.substr(start, ident_end(sql, start) - start);
    return iequals(word, "insert") || iequals(word, "update") || iequals(word, "delete") ||
           iequals(word, "merge");
}

}  // namespace pgrouter::sql
