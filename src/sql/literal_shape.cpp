// pgrouter/sql/literal_shape.cpp — literal_shape(): a statement with its integer and plain string
// literals taken out, so that texts differing only in those values share one shard plan. A scan
// on the shared lexer (lex.hpp); anything it is unsure of stays in the key verbatim.
#include "lex.hpp"
#include "pgrouter/sql/shard_plan.hpp"

namespace pgrouter::sql {

LiteralShape literal_shape(std::string_view sql) {
    LiteralShape shape;
    shape.key.reserve(sql.size());
    std::size_t pos = 0;
    std::size_t copied = 0;  // sql[copied, pos) still to append verbatim
    auto take = [&](std::size_t begin, std::size_t end, char mark, bool string) {
        shape.key.append(sql.substr(copied, begin - copied));
        shape.key.push_back('\x01');  // cannot occur in a PostgreSQL statement
        shape.key.push_back(mark);
        const std::size_t inner = string ? begin + 1 : begin;
        const std::size_t inner_end = string ? end - 1 : end;
        shape.literals.push_back({string, sql.substr(inner, inner_end - inner)});
        copied = end;
    };
    while (pos < sql.size()) {
        const char c = sql[pos];
        if (lex::starts_comment(sql, pos)) {
            pos = lex::skip_blank(sql, pos);
        } else if (lex::is_ident_start(c)) {
            const std::size_t end = lex::ident_end(sql, pos);
            // E'..', B'..', X'..', U&'..' and N'..' strings stay verbatim, quotes and all.
            if (end < sql.size() && sql[end] == '\'') {
                const bool escapes = end - pos == 1 && lex::lower(c) == 'e';
                pos = lex::quoted_end(sql, end + 1, '\'', escapes);
            } else {
                pos = end;
            }
        } else if (c == '"') {
            pos = lex::quoted_end(sql, pos + 1, '"', false);
        } else if (c == '$') {
            const std::size_t delimiter = lex::dollar_delimiter(sql, pos);
            if (delimiter == 0) {
                ++pos;
                while (pos < sql.size() && lex::is_digit(sql[pos])) {
                    ++pos;  // $n: a parameter, part of the shape
                }
            } else {
                const std::string_view tag = sql.substr(pos, delimiter);
                const std::size_t close = sql.find(tag, pos + delimiter);
                pos = close == std::string_view::npos ? sql.size() : close + delimiter;
            }
        } else if (c == '\'') {
            const std::size_t end = lex::quoted_end(sql, pos + 1, '\'', false);
            if (end == sql.size() && (end - pos < 2 || sql[end - 1] != '\'')) {
                pos = end;  // unterminated: leave it to the parser
                continue;
            }
            // 'a' 'b' (strings continued across a newline) stay verbatim, every part.
            std::size_t next = lex::skip_blank(sql, end);
            if (next < sql.size() && sql[next] == '\'') {
                while (next < sql.size() && sql[next] == '\'') {
                    pos = lex::quoted_end(sql, next + 1, '\'', false);
                    next = lex::skip_blank(sql, pos);
                }
                continue;
            }
            take(pos, end, 'S', true);
            pos = end;
        } else if (lex::is_digit(c)) {
            std::size_t end = pos;
            while (end < sql.size() && lex::is_digit(sql[end])) {
                ++end;
            }
            // 1.5, 1e3, 0x1F, 1_000, 12abc: not a plain integer; verbatim.
            const bool plain =
                end == sql.size() || (sql[end] != '.' && !lex::is_ident_char(sql[end]));
            if (plain) {
                take(pos, end, 'N', false);
            }
            while (end < sql.size() && (lex::is_ident_char(sql[end]) || sql[end] == '.')) {
                ++end;
            }
            pos = end;
        } else if (c == '.' && pos + 1 < sql.size() && lex::is_digit(sql[pos + 1])) {
            pos += 2;  // .5: verbatim
            while (pos < sql.size() && (lex::is_ident_char(sql[pos]) || sql[pos] == '.')) {
                ++pos;
            }
        } else {
            ++pos;
        }
    }
    shape.key.append(sql.substr(copied));
    return shape;
}

std::string literal_value(const LiteralShape::Literal& literal) {
    std::string out;
    out.reserve(literal.raw.size());
    for (std::size_t i = 0; i < literal.raw.size(); ++i) {
        out.push_back(literal.raw[i]);
        if (literal.string && literal.raw[i] == '\'' && i + 1 < literal.raw.size() &&
            literal.raw[i + 1] == '\'') {
            ++i;
        }
    }
    return out;
}

}  // namespace pgrouter::sql
