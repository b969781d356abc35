// src/sharding/merge_filter.cpp — the merge's row steps over decoded values: HAVING with SQL's
// three-valued logic, grouping by equality (DISTINCT and GROUP BY) and the stable sort of ORDER
// BY with NULLS FIRST/LAST. Pure: errors returned, never thrown.
#include <algorithm>
#include <string>
#include <unordered_map>

#include "merge_internal.hpp"
#include "pgrouter/wire/sqlstate.hpp"

namespace pgrouter::sharding::detail {

namespace {

wire::Bytes bytes_of(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

enum class Truth : std::uint8_t { False, True, Unknown };

bool compare_holds(sql::HavingExpr::Compare op, int c) noexcept {
    switch (op) {
        case sql::HavingExpr::Compare::Eq:
            return c == 0;
        case sql::HavingExpr::Compare::Ne:
            return c != 0;
        case sql::HavingExpr::Compare::Lt:
            return c < 0;
        case sql::HavingExpr::Compare::Le:
            return c <= 0;
        case sql::HavingExpr::Compare::Gt:
            return c > 0;
        case sql::HavingExpr::Compare::Ge:
            return c >= 0;
    }
    return false;
}

// The column compared with its constant: integer columns against a non-integer literal compare
// as numeric (PostgreSQL resolves int8 > 2.5 with numeric operators).
std::optional<MergeError> compare_with_constant(const sql::HavingExpr& e, const Table& table,
                                                std::size_t row, const MergeOptions& options,
                                                Truth& out) {
    if (e.column >= table.width) {
        return inconsistent("HAVING names a column the shards did not return");
    }
    const Column& column = table.columns[e.column];
    const bool ordering =
        e.compare != sql::HavingExpr::Compare::Eq && e.compare != sql::HavingExpr::Compare::Ne;
    if (auto err = check_comparable(column, ordering, options)) {
        return err;
    }
    std::optional<Key> value;
    if (auto err = decode_cell(column, table.row(row)[e.column], value)) {
        return err;
    }
    if (!value) {
        out = Truth::Unknown;
        return std::nullopt;
    }
    Key constant;
    DecodeStatus st = DecodeStatus::Malformed;
    std::string canonical;  // numeric literals in numeric_out's form, so views compare
    Key left = *value;
    std::string left_text;
    if (column.cls == TypeClass::Numeric || column.cls == TypeClass::Integer) {
        const auto d = parse_decimal(e.constant);
        if (d && column.cls == TypeClass::Integer && d->scale == 0 &&
            d->special == NumericSpecial::None) {
            st = decode_key(column, bytes_of(e.constant), true, constant);
        }
        if (st != DecodeStatus::Ok && d) {
            canonical = to_string(*d);
            Column numeric{kNumericOid, 0, TypeClass::Numeric};
            st = decode_key(numeric, bytes_of(canonical), true, constant);
            if (column.cls == TypeClass::Integer) {
                left_text = to_string(decimal_from_int(value->i));
                st = st == DecodeStatus::Ok ? decode_key(numeric, bytes_of(left_text), true, left)
                                            : st;
            }
        }
    } else {
        st = decode_key(column, bytes_of(e.constant), true, constant);
    }
    if (st != DecodeStatus::Ok) {
        return unsupported("comparing a column of type oid " + std::to_string(column.type_oid) +
                           " with the constant '" + e.constant + "' in HAVING");
    }
    out = compare_holds(e.compare, compare_keys(left, constant)) ? Truth::True : Truth::False;
    return std::nullopt;
}

std::optional<MergeError> evaluate(const sql::HavingExpr& e, const Table& table, std::size_t row,
                                   const MergeOptions& options, Truth& out) {
    switch (e.op) {
        case sql::HavingExpr::Op::Compare:
            return compare_with_constant(e, table, row, options, out);
        case sql::HavingExpr::Op::Not: {
            if (e.children.size() != 1) {
                return inconsistent("HAVING NOT without exactly one operand");
            }
            Truth t = Truth::Unknown;
            if (auto err = evaluate(e.children[0], table, row, options, t)) {
                return err;
            }
            out = t == Truth::Unknown ? t : (t == Truth::True ? Truth::False : Truth::True);
            return std::nullopt;
        }
        case sql::HavingExpr::Op::And:
        case sql::HavingExpr::Op::Or: {
            // AND: any false decides; OR: any true decides; otherwise unknown beats the rest.
            const Truth decisive = e.op == sql::HavingExpr::Op::And ? Truth::False : Truth::True;
            const Truth neutral = e.op == sql::HavingExpr::Op::And ? Truth::True : Truth::False;
            bool unknown = false;
            for (const sql::HavingExpr& child : e.children) {
                Truth t = Truth::Unknown;
                if (auto err = evaluate(child, table, row, options, t)) {
                    return err;
                }
                if (t == decisive) {
                    out = decisive;
                    return std::nullopt;
                }
                unknown = unknown || t == Truth::Unknown;
            }
            out = unknown ? Truth::Unknown : neutral;
            return std::nullopt;
        }
    }
    return inconsistent("unknown HAVING operator");
}

// Keys of `columns` for each of `rows`: rows.size() * columns.size(), NULL as nullopt.
std::optional<MergeError> decode_columns(const Table& table, std::span<const std::size_t> columns,
                                         std::span<const std::size_t> rows,
                                         std::vector<std::optional<Key>>& keys) {
    keys.assign(rows.size() * columns.size(), std::nullopt);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        for (std::size_t j = 0; j < columns.size(); ++j) {
            const std::size_t c = columns[j];
            if (auto err = decode_cell(table.columns[c], table.row(rows[i])[c],
                                       keys[i * columns.size() + j])) {
                return err;
            }
        }
    }
    return std::nullopt;
}

}  // namespace

MergeError unsupported(std::string_view what) {
    return {std::string(wire::kFeatureNotSupported),
            "pgrouter: " + std::string(what) + " is not supported across shards"};
}

MergeError inconsistent(std::string_view what) {
    return {std::string(wire::kInternalError), "pgrouter: " + std::string(what)};
}

MergeError bigint_out_of_range() {
    return {std::string(kNumericValueOutOfRange), "bigint out of range"};
}

std::optional<MergeError> check_comparable(const Column& column, bool ordering,
                                           const MergeOptions& options) {
    const bool binary_numeric = column.cls == TypeClass::Numeric && column.format != 0;
    if (column.cls == TypeClass::Other || binary_numeric || column.format > 1 ||
        column.format < 0) {
        return unsupported(
            (ordering ? "ordering values of type oid " : "comparing values of type oid ") +
            std::to_string(column.type_oid) + (column.format == 1 ? " in binary format" : ""));
    }
    if (ordering && is_text_class(column.cls) && !options.bytewise_text) {
        return MergeError{std::string(wire::kFeatureNotSupported),
                          "pgrouter: ordering text is not supported across shards (the shards' "
                          "collation is not C)"};
    }
    return std::nullopt;
}

std::optional<MergeError> decode_cell(const Column& column, const wire::Cell& cell,
                                      std::optional<Key>& out) {
    out.reset();
    if (!cell) {
        return std::nullopt;
    }
    Key k;
    switch (decode_key(column, *cell, false, k)) {
        case DecodeStatus::Ok:
            out = k;
            return std::nullopt;
        case DecodeStatus::Unsupported:
            return unsupported("comparing values of type oid " + std::to_string(column.type_oid));
        case DecodeStatus::Malformed:
            break;
    }
    const bool datetime = column.cls == TypeClass::Date || column.cls == TypeClass::Timestamp ||
                          column.cls == TypeClass::Time;
    if (datetime) {
        return unsupported("comparing values of type oid " + std::to_string(column.type_oid) +
                           " outside DateStyle ISO");
    }
    return inconsistent("a shard returned a value that is not valid for type oid " +
                        std::to_string(column.type_oid));
}

std::optional<MergeError> apply_having(const sql::HavingExpr& having, const Table& table,
                                       const MergeOptions& options,
                                       std::vector<std::size_t>& rows) {
    std::vector<std::size_t> kept;
    kept.reserve(rows.size());
    for (const std::size_t r : rows) {
        Truth t = Truth::Unknown;
        if (auto err = evaluate(having, table, r, options, t)) {
            return err;
        }
        if (t == Truth::True) {
            kept.push_back(r);
        }
    }
    rows = std::move(kept);
    return std::nullopt;
}

std::optional<MergeError> group_rows(const Table& table, std::span<const std::size_t> columns,
                                     std::span<const std::size_t> rows,
                                     std::vector<std::vector<std::size_t>>& groups) {
    groups.clear();
    for (const std::size_t c : columns) {
        if (auto err = check_comparable(table.columns[c], false, MergeOptions{})) {
            return err;
        }
    }
    std::vector<std::optional<Key>> keys;
    if (auto err = decode_columns(table, columns, rows, keys)) {
        return err;
    }
    const std::size_t n = columns.size();
    auto equal = [&](std::size_t a, std::size_t b) {
        for (std::size_t j = 0; j < n; ++j) {
            const auto& ka = keys[a * n + j];
            const auto& kb = keys[b * n + j];
            if (ka.has_value() != kb.has_value() || (ka && compare_keys(*ka, *kb) != 0)) {
                return false;
            }
        }
        return true;
    };
    // hash -> groups (by index into `groups`) whose first row has that hash.
    std::unordered_map<std::size_t, std::vector<std::size_t>> buckets;
    std::vector<std::size_t> first;  // per group: its first row's position in `rows`
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::size_t h = 0;
        for (std::size_t j = 0; j < n; ++j) {
            const auto& k = keys[i * n + j];
            h = h * 1000003u ^ (k ? hash_key(*k) : 0x5bd1e995u);
        }
        auto& bucket = buckets[h];
        bool placed = false;
        for (const std::size_t g : bucket) {
            if (equal(first[g], i)) {
                groups[g].push_back(rows[i]);
                placed = true;
                break;
            }
        }
        if (!placed) {
            bucket.push_back(groups.size());
            first.push_back(i);
            groups.push_back({rows[i]});
        }
    }
    return std::nullopt;
}

std::optional<MergeError> sort_rows(std::span<const sql::SortKey> keys, const Table& table,
                                    const MergeOptions& options, std::vector<std::size_t>& rows) {
    std::vector<std::size_t> columns;
    for (const sql::SortKey& k : keys) {
        if (k.column >= table.width) {
            return inconsistent("ORDER BY names a column the shards did not return");
        }
        if (auto err = check_comparable(table.columns[k.column], true, options)) {
            return err;
        }
        columns.push_back(k.column);
    }
    std::vector<std::optional<Key>> decoded;
    if (auto err = decode_columns(table, columns, rows, decoded)) {
        return err;
    }
    // Sort positions into `rows`, so the decoded keys are found by position.
    std::vector<std::size_t> order(rows.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    const std::size_t n = keys.size();
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        for (std::size_t j = 0; j < n; ++j) {
            const auto& ka = decoded[a * n + j];
            const auto& kb = decoded[b * n + j];
            if (!ka || !kb) {
                if (!ka && !kb) {
                    continue;
                }
                // NULLS FIRST / LAST holds whatever the direction.
                return keys[j].nulls_first ? !ka : !kb;
            }
            const int c = compare_keys(*ka, *kb);
            if (c != 0) {
                return keys[j].descending ? c > 0 : c < 0;
            }
        }
        return false;
    });
    std::vector<std::size_t> sorted;
    sorted.reserve(rows.size());
    for (const std::size_t i : order) {
        sorted.push_back(rows[i]);
    }
    rows = std::move(sorted);
    return std::nullopt;
}

}  // namespace pgrouter::sharding::detail
