// pgrouter/sql/read_scan.hpp — the parser-free fast path for routing: recognises the plain single
// SELECT that a streaming replica can answer, and hands everything else to classify().
// Pure: no allocation, no parser, no I/O, never throws. One linear pass over the text.
#pragma once

#include <span>
#include <string_view>

namespace pgrouter::sql {

enum class ReadScan {
    PlainRead,  // certainly one SELECT a replica can answer (see scan_read)
    Unsure,     // anything else: classify the text (through the StatementCache) to decide
};

// PlainRead only when `sql` is exactly one statement that starts, after whitespace and comments,
// with SELECT, optionally followed by ';'s, and that holds none of: INTO, FOR (every locking
// clause starts with it), WITH, INSERT/UPDATE/DELETE/MERGE, a call of any function not in
// scan_read_builtins(), a schema-qualified or quoted function name, a backslash in a plain string
// (its meaning depends on standard_conforming_strings), U&'' / U&"" escapes, a lone '$' or a NUL
// byte. Comments (nested /* */ and --), '' strings, E'' strings, dollar-quoted strings and quoted
// identifiers are skipped the way PostgreSQL's lexer skips them, so words inside them never
// count. Any text it is unsure about gives Unsure; a write is never PlainRead. It does not check
// syntax: a PlainRead text may still fail to parse, and then PostgreSQL runs none of it.
// Like classify(), it cannot see functions reached without a call in the text (operators, casts,
// views): a replica refuses a write such a function attempts, with an error.
//
// With `allow_builtin_calls` false, any function call at all gives Unsure. Pass false when the
// primary's catalogue holds a VOLATILE user function (or the configured list a function) whose
// name is in scan_read_builtins(): such a function could be picked over the built-in of that
// name by overload resolution, so the name alone no longer proves the call harmless.
[[nodiscard]] ReadScan scan_read(std::string_view sql, bool allow_builtin_calls = true) noexcept;

// The built-in function names scan_read() accepts in a call (lower-case, unqualified). All are
// read-only built-ins in pg_catalog; none of them is_primary_only_function().
[[nodiscard]] std::span<const std::string_view> scan_read_builtins() noexcept;

// True when the first keyword of `sql` (after whitespace and comments) is INSERT, UPDATE, DELETE
// or MERGE: a statement for the primary whatever follows, known without the parser.
[[nodiscard]] bool leads_with_dml(std::string_view sql) noexcept;

}  // namespace pgrouter::sql
