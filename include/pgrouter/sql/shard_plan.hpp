// pgrouter/sql/shard_plan.hpp — how one statement runs on a sharded database (issue 8): on one
// shard (its key values say which), on every shard with the replies merged, on every shard
// all-or-nothing, split per shard, on the first shard, or refused with 0A000. Pure: the statement
// is read with libpg_query, shard queries are rewritten on its tree and deparsed; no I/O, no
// config types, never throws on bad SQL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/sql/shard_key.hpp"

namespace pgrouter::sql {

// ---------------------------------------------------------------------------------------------
// How the replies of a read sent to every shard become one result (applied by
// sharding::merge_results). Column numbers are 0-based positions in the rows the shards return
// (the shard query's target list); columns at and after `visible_columns` are hidden: the merge
// uses them and drops them before the client sees a row.

struct SortKey {
    std::size_t column = 0;
    // SELECT * ... ORDER BY col: the planner cannot know col's position among the columns only
    // the shards know; the merge finds the one column of this name in their RowDescription.
    std::string name;
    bool descending = false;
    bool nulls_first = false;  // PostgreSQL's default: NULLS LAST for ASC, NULLS FIRST for DESC
};

enum class AggregateKind : std::uint8_t { Count, Sum, Min, Max, Avg };

struct AggregateColumn {
    std::size_t column = 0;  // count/sum/min/max: its partial; avg: the partial sum(x)
    AggregateKind kind = AggregateKind::Count;
    std::size_t count_column = SIZE_MAX;  // avg: the hidden partial count(x)
};

// HAVING, evaluated on combined rows: comparisons of a column with a constant, AND, OR, NOT.
struct HavingExpr {
    enum class Op : std::uint8_t { And, Or, Not, Compare };
    enum class Compare : std::uint8_t { Eq, Ne, Lt, Le, Gt, Ge };
    Op op = Op::Compare;
    Compare compare = Compare::Eq;
    std::size_t column = 0;  // Compare: the combined column (often hidden)
    std::string constant;    // Compare: the literal's text (compared as the column's type)
    std::vector<HavingExpr> children;  // And/Or: two or more; Not: one
};

struct MergeSpec {
    // 0 with no hidden columns: every column the shards return is the client's (SELECT *, whose
    // width only the shards know, and COPY ... TO: plain concatenation). The planner never hides
    // columns behind visible_columns == 0.
    std::size_t visible_columns = 0;
    // Aggregation: rows with equal group_by columns are combined (every shard row is one group's
    // partial). With aggregates and no group_by the result is exactly one row (count 0, NULL
    // sums, as PostgreSQL gives on an empty table) even when every shard is empty.
    bool aggregate = false;
    std::vector<std::size_t> group_by;
    std::vector<AggregateColumn> aggregates;
    std::optional<HavingExpr> having;
    bool distinct = false;       // SELECT DISTINCT: equal visible rows once
    std::vector<SortKey> order;  // empty: rows in any order (shard after shard)
    std::optional<std::uint64_t> limit;
    std::uint64_t offset = 0;
};

// ---------------------------------------------------------------------------------------------
// The plan of one statement.

enum class ShardScope : std::uint8_t {
    First,      // no sharded or reference table (or only tables that live on the first shard)
    AnyOne,     // reads only reference tables: any one shard answers
    Keyed,      // every sharded table it touches is pinned by `keys` to known values or $n
    Scatter,    // a read without a key: every shard, replies merged by `merge`
    Broadcast,  // every shard, all-or-nothing (DDL, writes to reference tables, keyless writes
                // when cross_shard_writes is all)
    Split,      // INSERT ... VALUES whose rows may belong to different shards: `rows`
    Refused,    // 0A000 with `refusal`
};

struct ShardPlan {
    ShardScope scope = ShardScope::First;
    bool parse_error = false;  // not parsed: First (PostgreSQL reports the syntax error)
    bool writes = false;       // INSERT/UPDATE/DELETE/MERGE/DDL/COPY FROM/locking clause
    bool ddl = false;          // a utility statement that changes the schema (Broadcast)
    // Broadcast of a write to reference tables: every shard holds the same rows, so the client
    // gets the first shard's answer (not the sum).
    bool reference = false;
    // CREATE AGGREGATE: its name (lower case, unqualified). A read over every shard cannot merge
    // a user aggregate: the session learns it at once rather than at the next catalogue read.
    std::string created_aggregate;
    // First: the statement names a table (which then lives on the first shard). False for
    // statements that name none (SELECT 1, BEGIN, SET ...): those may run on any shard, e.g.
    // inside a transaction already on another shard.
    bool names_table = false;
    // Keyed: the sharded table whose key picks the shard, and the values (all must fall on one
    // shard, else a read is run as Scatter with `merge` and a write is refused).
    std::string table;
    std::vector<KeyValue> keys;
    // Scatter: the text each shard runs (the client's statement with avg split into sum and
    // count, LIMIT raised to offset+limit and OFFSET dropped, hidden columns appended...), and
    // how to merge the replies. Also filled for Keyed reads whose keys fall on several shards.
    std::string shard_sql;
    MergeSpec merge;
    // Split: per VALUES row, its key value (in row order).
    std::vector<KeyValue> rows;
    // Refused: what cannot be done across shards, e.g. "count(DISTINCT ...) over sharded table
    // accounts" (the session words the error: `pgrouter: <refusal> is not supported across
    // shards`). Keyed reads: when not empty, the statement cannot be merged (shard_sql is empty)
    // and this is the refusal to give if its keys fall on several shards.
    std::string refusal;
    // COPY: Split is COPY table FROM STDIN (rows stays empty: the session splits the CopyData
    // stream by each row's key); Scatter is COPY ... TO STDOUT, run as shard_sql on every shard
    // and concatenated (merge is empty); Keyed, AnyOne and Broadcast as for any statement.
    bool copy = false;
};

struct ShardingView {
    std::span<const ShardedTableKey> tables;        // sharded tables and their key columns
    std::span<const std::string> reference_tables;  // lower case
    bool cross_shard_writes_all = false;            // cross_shard_writes: all
    // Keyed reads: also plan how to run them on every shard (shard_sql, merge, refusal), for
    // when their keys fall on several shards. Costs a rewrite and a deparse: asked for only then.
    bool keyed_fallback = false;
};

// Plans `sql` (one statement; several statements in one Query are Refused unless they touch no
// sharded or reference table).
[[nodiscard]] ShardPlan plan_shard_statement(std::string_view sql, const ShardingView& view);

// The statement with its integer and plain string literals taken out: two texts with the same
// `key` differ only in those literals' values. The shard planner reads nothing from a literal
// but the shard key values, so a plan that embeds no literal text (one shard, First, AnyOne)
// serves every text of the same shape once its key values are taken from `literals`.
struct LiteralShape {
    std::string key;
    struct Literal {
        bool string = false;   // '...' (value unescaped), else an unsigned integer
        std::string_view raw;  // as written (a string without its quotes, '' still doubled)
    };
    std::vector<Literal> literals;
};
[[nodiscard]] LiteralShape literal_shape(std::string_view sql);
// A literal's value (a string's '' as ').
[[nodiscard]] std::string literal_value(const LiteralShape::Literal& literal);

// Split: the INSERT text with only the VALUES rows listed in `rows` (0-based, in order), for one
// shard. Empty when `sql` is not an INSERT ... VALUES.
[[nodiscard]] std::string insert_with_rows(std::string_view sql, std::span<const std::size_t> rows);

}  // namespace pgrouter::sql
