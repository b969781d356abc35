// src/sharding/merge_aggregate.cpp — combining the shards' partial aggregates per group: counts
// and integer sums added as bigint (22003 on overflow, as PostgreSQL), numeric sums added
// exactly, min/max by the type's order, avg finished from partial sums and counts exactly as
// PostgreSQL 15's numeric division does. Pure: errors returned, never thrown.
#include <string>

#include "merge_internal.hpp"

namespace pgrouter::sharding::detail {

namespace {

using sql::AggregateColumn;
using sql::AggregateKind;

std::string type_name(const Column& c) {
    return "type oid " + std::to_string(c.type_oid);
}

// Whether the combination of `a` can be computed exactly here; the 0A000 error if not.
std::optional<MergeError> check_aggregate(const AggregateColumn& a, const Table& t,
                                          const MergeOptions& options) {
    if (a.column >= t.width) {
        return inconsistent("an aggregate names a column the shards did not return");
    }
    const Column& c = t.columns[a.column];
    switch (a.kind) {
        case AggregateKind::Count:
            if (c.cls != TypeClass::Integer) {
                return inconsistent("a partial count is not an integer");
            }
            return std::nullopt;
        case AggregateKind::Sum:
        case AggregateKind::Avg: {
            const char* what = a.kind == AggregateKind::Sum ? "sum" : "avg";
            if (c.cls == TypeClass::Float) {
                // Floating-point addition depends on its order: no single server's answer.
                return unsupported(std::string(what) + " of floating-point values");
            }
            if (c.cls != TypeClass::Integer && c.cls != TypeClass::Numeric) {
                return unsupported(std::string(what) + " of values of " + type_name(c));
            }
            if (c.format != 0 && (c.cls == TypeClass::Numeric || a.kind == AggregateKind::Avg)) {
                return unsupported(std::string(what) + " in binary format");
            }
            if (a.kind == AggregateKind::Avg) {
                if (a.count_column >= t.width) {
                    return inconsistent("avg names a count column the shards did not return");
                }
                if (t.columns[a.count_column].cls != TypeClass::Integer) {
                    return inconsistent("the partial count of an avg is not an integer");
                }
            }
            return std::nullopt;
        }
        case AggregateKind::Min:
        case AggregateKind::Max:
            return check_comparable(c, true, options);
    }
    return inconsistent("unknown aggregate");
}

std::optional<MergeError> read_int(const Column& c, const wire::Bytes& b, std::int64_t& v) {
    std::optional<Key> k;
    if (auto err = decode_cell(c, wire::Cell{b}, k)) {
        return err;
    }
    v = k->i;
    return std::nullopt;
}

// An integer in the column's own format and width.
std::optional<MergeError> write_int(Table& t, const Column& c, std::int64_t v, wire::Cell& cell) {
    if (c.format == 0) {
        cell = t.keep(std::to_string(v));
        return std::nullopt;
    }
    const std::size_t size = c.type_oid == kInt2Oid ? 2 : (c.type_oid == kInt8Oid ? 8 : 4);
    const bool fits = size == 8 || (size == 4 && v >= INT32_MIN && v <= INT32_MAX) ||
                      (size == 2 && v >= INT16_MIN && v <= INT16_MAX);
    if (!fits || (c.type_oid == kOidOid && (v < 0 || v > UINT32_MAX))) {
        return MergeError{std::string(kNumericValueOutOfRange),
                          size == 2 ? "smallint out of range" : "integer out of range"};
    }
    std::string s(size, '\0');
    const auto u = static_cast<std::uint64_t>(v);
    for (std::size_t i = 0; i < size; ++i) {
        s[i] = static_cast<char>(u >> (8 * (size - 1 - i)));
    }
    cell = t.keep(std::move(s));
    return std::nullopt;
}

std::optional<MergeError> add_int(Table& t, const Column& c, std::span<const std::size_t> group,
                                  std::size_t column, std::int64_t& total, bool& any) {
    for (const std::size_t r : group) {
        const wire::Cell& cell = t.row(r)[column];
        if (!cell) {
            continue;  // a shard without a non-null value
        }
        std::int64_t v = 0;
        if (auto err = read_int(c, *cell, v)) {
            return err;
        }
        if (__builtin_add_overflow(total, v, &total)) {
            return bigint_out_of_range();
        }
        any = true;
    }
    return std::nullopt;
}

std::optional<MergeError> add_decimal(const Table& t, const Column& c,
                                      std::span<const std::size_t> group, std::size_t column,
                                      Decimal& total, bool& any) {
    for (const std::size_t r : group) {
        const wire::Cell& cell = t.row(r)[column];
        if (!cell) {
            continue;
        }
        std::optional<Decimal> d;
        if (c.cls == TypeClass::Integer) {
            std::int64_t v = 0;
            if (auto err = read_int(c, *cell, v)) {
                return err;
            }
            d = decimal_from_int(v);
        } else {
            d = parse_decimal({reinterpret_cast<const char*>(cell->data()), cell->size()});
            if (!d) {
                return inconsistent("a shard returned a partial sum that is not numeric");
            }
        }
        total = any ? add(total, *d) : *d;
        any = true;
    }
    return std::nullopt;
}

std::optional<MergeError> min_max(const Table& t, const Column& c,
                                  std::span<const std::size_t> group, std::size_t column, bool max,
                                  wire::Cell& out) {
    std::optional<Key> best;
    out.reset();
    for (const std::size_t r : group) {
        const wire::Cell& cell = t.row(r)[column];
        std::optional<Key> k;
        if (auto err = decode_cell(c, cell, k)) {
            return err;
        }
        if (!k) {
            continue;
        }
        const int cmp = best ? compare_keys(*k, *best) : 0;
        if (!best || (max ? cmp > 0 : cmp < 0)) {
            best = k;
            out = cell;
        }
    }
    return std::nullopt;
}

std::optional<MergeError> combine(const AggregateColumn& a, Table& t,
                                  std::span<const std::size_t> group, wire::Cell& out) {
    const Column& c = t.columns[a.column];
    switch (a.kind) {
        case AggregateKind::Count: {
            std::int64_t total = 0;
            bool any = false;
            if (auto err = add_int(t, c, group, a.column, total, any)) {
                return err;
            }
            return write_int(t, c, total, out);  // count is 0, never NULL, without rows
        }
        case AggregateKind::Sum: {
            out.reset();
            bool any = false;
            if (c.cls == TypeClass::Integer) {
                std::int64_t total = 0;
                if (auto err = add_int(t, c, group, a.column, total, any)) {
                    return err;
                }
                return any ? write_int(t, c, total, out) : std::nullopt;
            }
            Decimal total;
            if (auto err = add_decimal(t, c, group, a.column, total, any)) {
                return err;
            }
            if (any) {
                out = t.keep(to_string(total));
            }
            return std::nullopt;
        }
        case AggregateKind::Min:
        case AggregateKind::Max:
            return min_max(t, c, group, a.column, a.kind == AggregateKind::Max, out);
        case AggregateKind::Avg: {
            out.reset();
            std::int64_t count = 0;
            bool any_count = false;
            if (auto err = add_int(t, t.columns[a.count_column], group, a.count_column, count,
                                   any_count)) {
                return err;
            }
            Decimal sum;
            bool any_sum = false;
            if (auto err = add_decimal(t, c, group, a.column, sum, any_sum)) {
                return err;
            }
            if (count > 0 && any_sum) {
                out = t.keep(to_string(divide_for_avg(sum, count)));
            }
            return std::nullopt;  // avg of no rows is NULL
        }
    }
    return inconsistent("unknown aggregate");
}

}  // namespace

void client_fields(const sql::MergeSpec& spec, std::vector<wire::FieldDescription>& fields) {
    for (const AggregateColumn& a : spec.aggregates) {
        if (a.kind == AggregateKind::Avg && a.column < fields.size()) {
            // avg(int2/int4/int8/numeric) returns numeric; the merge writes it as text.
            wire::FieldDescription& f = fields[a.column];
            f.type_oid = kNumericOid;
            f.type_size = -1;
            f.type_modifier = -1;
            f.format = 0;
        }
    }
    if (spec.visible_columns != 0 && spec.visible_columns < fields.size()) {
        fields.resize(spec.visible_columns);
    }
}

std::optional<MergeError> combine_groups(const sql::MergeSpec& spec, const MergeOptions& options,
                                         Table& table) {
    bool has_avg = false;
    for (const AggregateColumn& a : spec.aggregates) {
        if (auto err = check_aggregate(a, table, options)) {
            return err;
        }
        has_avg = has_avg || a.kind == AggregateKind::Avg;
    }
    for (const std::size_t c : spec.group_by) {
        if (c >= table.width) {
            return inconsistent("GROUP BY names a column the shards did not return");
        }
    }
    std::vector<std::size_t> all(table.rows());
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = i;
    }
    std::vector<std::vector<std::size_t>> groups;
    if (spec.group_by.empty()) {
        groups.push_back(all);  // one row even when every shard is empty
    } else if (auto err = group_rows(table, spec.group_by, all, groups)) {
        return err;
    }

    Table out;
    out.width = table.width;
    out.columns = table.columns;
    for (const auto& group : groups) {
        const bool untouched = group.size() == 1 && !has_avg;
        for (std::size_t c = 0; c < table.width; ++c) {
            out.cells.push_back(group.empty() ? wire::Cell{} : table.row(group[0])[c]);
        }
        // One partial and no avg: the partial is the final value, so the row goes out as-is.
        out.raw.push_back(untouched ? table.raw[group[0]] : wire::Bytes{});
        if (untouched) {
            continue;
        }
        const std::size_t r = out.rows() - 1;
        for (const AggregateColumn& a : spec.aggregates) {
            wire::Cell value;
            if (auto err = combine(a, table, group, value)) {
                return err;
            }
            out.cell(r, a.column) = value;
        }
    }
    // Computed values live in `table`'s arena; moving a deque keeps its elements in place.
    out.arena = std::move(table.arena);
    for (const AggregateColumn& a : spec.aggregates) {
        if (a.kind == AggregateKind::Avg) {
            out.columns[a.column] = Column{kNumericOid, 0, TypeClass::Numeric};
        }
    }
    table = std::move(out);
    return std::nullopt;
}

}  // namespace pgrouter::sharding::detail
