// pgrouter/sql/shard_key.hpp — find_shard_keys(): which sharded tables a statement touches and
// which shard-key values pin it (issue 8). Pure: no I/O, no config types, never throws on bad SQL.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::sql {

// One sharded table of a database: its name and key column, both as PostgreSQL folds them
// (config stores them lower case). Compared with the last part of a (schema-qualified) name.
struct ShardedTableKey {
    std::string table;
    std::string column;
};

// One value the shard key is pinned to.
struct KeyValue {
    enum class Kind {
        Number,  // an integer or numeric literal, as written ("42", "-1", "9223372036854775807")
        String,  // a string literal, unquoted and unescaped ("alice", "it's")
        Null,    // NULL: matches no row in a WHERE; an INSERT row with a NULL key
        Param,   // $n: the value comes with each Bind
    };
    Kind kind = Kind::Number;
    std::string text;  // the literal's text; "$n" for a parameter; "" for NULL
    int param = 0;     // n of $n (from 1), Param only

    friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// One occurrence of a sharded table in the statement (a self-join gives two).
struct ShardKeyUse {
    std::string table;  // the sharded table's name as given in ShardedTableKey
    std::string alias;  // the name the statement refers to it by (its alias, else its name)
    // The key values every row the statement reads or writes in this table has: empty means the
    // key is unknown (no pin, a non-constant comparison, a subquery, an OR that does not pin both
    // sides, a set operation, ...) and the statement may touch every shard. A WHERE gives the
    // distinct values in first-seen order; an INSERT ... VALUES gives one value per row, in
    // order (per_row), and is empty when any row's key is unknown.
    std::vector<KeyValue> values;
    bool per_row = false;   // values come from INSERT ... VALUES, one per row
    bool sets_key = false;  // UPDATE (or ON CONFLICT DO UPDATE) assigns the key column: rows move
};

struct ShardKeyResult {
    bool parse_error = false;      // the text did not parse; nothing else is filled
    bool over_limit = false;       // too deeply nested to parse safely (parse_error is set too)
    bool multi_statement = false;  // more than one statement; uses lists every statement's tables
    // Every occurrence of a sharded table anywhere in the statement (FROM, JOIN, INSERT INTO,
    // UPDATE, DELETE, subqueries, CTEs, DDL, ...), in text order. Only the top-level query's
    // own tables (FROM/JOIN items, the INSERT/UPDATE/DELETE target, UPDATE FROM, DELETE USING;
    // EXPLAIN looks at the statement it explains) can be pinned; any other is unknown.
    std::vector<ShardKeyUse> uses;
};

// Reads `sql` with libpg_query. A key is pinned by `key = c` or `c = key` (also `alias.key`),
// `key IN (c1, c2, ...)`, ANDed with anything, or ORed where every branch pins it; by the key
// column of INSERT (col, ...) VALUES rows; and through `a.key = b.key` in a WHERE or JOIN ... ON
// (or JOIN ... USING (key) of two sharded tables) from a pinned table to the other. c is a
// literal, NULL or $n, optionally cast ('42'::bigint) or with a unary sign.
[[nodiscard]] ShardKeyResult find_shard_keys(std::string_view sql,
                                             std::span<const ShardedTableKey> tables);

}  // namespace pgrouter::sql
