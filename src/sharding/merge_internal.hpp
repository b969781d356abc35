// src/sharding/merge_internal.hpp — the merge's working table and its steps (combine groups,
// HAVING, DISTINCT, ORDER BY), shared by the merge_*.cpp files. Internal to src/sharding. Pure:
// errors are returned, never thrown (only allocation can throw).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pgrouter/sharding/merge.hpp"
#include "pgrouter/wire/row_messages.hpp"
#include "value.hpp"

namespace pgrouter::sharding::detail {

inline constexpr std::string_view kNumericValueOutOfRange = "22003";

// Rows as cells (views into the shards' DataRows or into `arena`), row-major, `width` per row.
struct Table {
    std::size_t width = 0;
    std::vector<Column> columns;
    std::vector<wire::Cell> cells;
    // Per row: the DataRow message it came from, forwarded as-is when nothing about the row
    // changes; empty once the row is rebuilt (combined aggregates).
    std::vector<wire::Bytes> raw;
    // Values the merge computes. A deque: growing it never moves the strings cells point into.
    std::deque<std::string> arena;

    std::size_t rows() const noexcept { return raw.size(); }
    std::span<const wire::Cell> row(std::size_t r) const noexcept {
        return std::span<const wire::Cell>(cells).subspan(r * width, width);
    }
    wire::Cell& cell(std::size_t r, std::size_t c) noexcept { return cells[r * width + c]; }
    wire::Bytes keep(std::string value) {
        arena.push_back(std::move(value));
        const std::string& s = arena.back();
        return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
    }
};

MergeError unsupported(std::string_view what);
MergeError inconsistent(std::string_view what);
MergeError bigint_out_of_range();

// Whether values of `column` can be compared here, for ordering (needs a bytewise collation
// for text) or only for equality. nullopt if yes, else the 0A000 error.
std::optional<MergeError> check_comparable(const Column& column, bool ordering,
                                           const MergeOptions& options);

// A decoded cell: nullopt for NULL.
std::optional<MergeError> decode_cell(const Column& column, const wire::Cell& cell,
                                      std::optional<Key>& out);

// Replaces `table` with one row per group (spec.group_by), aggregates combined; retypes avg
// columns to numeric text.
std::optional<MergeError> combine_groups(const sql::MergeSpec& spec, const MergeOptions& options,
                                         Table& table);

// The client's fields: avg columns retyped as avg's result (numeric, text), hidden dropped.
void client_fields(const sql::MergeSpec& spec, std::vector<wire::FieldDescription>& fields);

// The rows (indices into `table`, in order) that pass HAVING.
std::optional<MergeError> apply_having(const sql::HavingExpr& having, const Table& table,
                                       const MergeOptions& options, std::vector<std::size_t>& rows);

// Groups `rows` by equality of `columns` (NULL equal to NULL), in order of first appearance.
std::optional<MergeError> group_rows(const Table& table, std::span<const std::size_t> columns,
                                     std::span<const std::size_t> rows,
                                     std::vector<std::vector<std::size_t>>& groups);

// Stable sort of `rows` by `keys`.
std::optional<MergeError> sort_rows(std::span<const sql::SortKey> keys, const Table& table,
                                    const MergeOptions& options, std::vector<std::size_t>& rows);

}  // namespace pgrouter::sharding::detail
