// src/sharding/merge.cpp — merge_results: the shards' replies checked against one another, loaded
// as views, combined, filtered, deduplicated, sorted and windowed in SQL's order, then written
// as the one result a single server would send. Untouched rows are forwarded as the bytes that
// arrived. Pure: no I/O, no logging, errors returned.
#include "pgrouter/sharding/merge.hpp"
#include "pgrouter/wire/sqlstate.hpp"

#include <algorithm>

#include "merge_internal.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::sharding {

namespace {

using detail::Table;

bool same_shape(const std::vector<wire::FieldDescription>& a,
                const std::vector<wire::FieldDescription>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
        return x.type_oid == y.type_oid && x.format == y.format;
    });
}

// The common RowDescription (`found` false when no shard sent one) and every row, as views.
std::optional<MergeError> load(std::span<const ShardReply> replies,
                               std::vector<wire::FieldDescription>& fields, bool& found,
                               Table& table) {
    found = false;
    std::vector<wire::FieldDescription> other;
    for (const ShardReply& reply : replies) {
        if (reply.row_description.empty()) {
            if (!reply.data_rows.empty()) {
                return detail::inconsistent("a shard returned rows without a RowDescription");
            }
            continue;  // a shard with nothing to describe contributes no rows
        }
        const auto frame = wire::frame_of(reply.row_description);
        if (!frame || !wire::parse_row_description(*frame, found ? other : fields)) {
            return detail::inconsistent("a shard returned a malformed RowDescription");
        }
        if (found && !same_shape(fields, other)) {
            return detail::inconsistent("the shards returned different RowDescriptions");
        }
        found = true;
    }
    table.width = fields.size();
    for (const wire::FieldDescription& f : fields) {
        table.columns.push_back({f.type_oid, f.format, detail::type_class(f.type_oid)});
    }
    for (const ShardReply& reply : replies) {
        for (const auto& message : reply.data_rows) {
            const auto frame = wire::frame_of(message);
            const auto n = frame ? wire::parse_data_row(*frame, table.cells) : std::nullopt;
            if (!n || *n != table.width) {
                if (n) {
                    table.cells.resize(table.cells.size() - *n);
                }
                return detail::inconsistent(
                    "a shard returned a DataRow that does not match its "
                    "RowDescription");
            }
            table.raw.push_back(message);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<MergeError> merge_results(const sql::MergeSpec& spec,
                                        std::span<const ShardReply> replies,
                                        const MergeOptions& options,
                                        std::vector<std::uint8_t>& out) {
    std::vector<wire::FieldDescription> fields;
    bool described = false;
    Table table;
    if (auto err = load(replies, fields, described, table)) {
        return err;
    }
    if (!described) {
        // Nothing returned rows (or no shard described any): the summed tag is the reply.
        std::vector<std::string_view> tags;
        for (const ShardReply& r : replies) {
            tags.push_back(r.command_tag);
        }
        wire::MessageWriter(out).command_complete(sum_command_tags(tags));
        return std::nullopt;
    }
    // visible_columns 0 is read as "no hidden columns": a plan that hides nothing may leave it.
    const std::size_t visible = spec.visible_columns == 0 ? table.width : spec.visible_columns;
    if (visible > table.width) {
        return detail::inconsistent("the shards returned fewer columns than the plan expects");
    }
    if (spec.aggregate) {
        if (auto err = detail::combine_groups(spec, options, table)) {
            return err;
        }
    }
    // SQL's order: groups, HAVING, DISTINCT, ORDER BY, OFFSET/LIMIT.
    std::vector<std::size_t> rows(table.rows());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        rows[i] = i;
    }
    if (spec.having) {
        if (auto err = detail::apply_having(*spec.having, table, options, rows)) {
            return err;
        }
    }
    if (spec.distinct) {
        std::vector<std::size_t> columns(visible);
        for (std::size_t c = 0; c < visible; ++c) {
            columns[c] = c;
        }
        std::vector<std::vector<std::size_t>> groups;
        if (auto err = detail::group_rows(table, columns, rows, groups)) {
            return err;
        }
        rows.clear();
        for (const auto& g : groups) {
            rows.push_back(g.front());
        }
    }
    if (!spec.order.empty()) {
        std::vector<sql::SortKey> order(spec.order.begin(), spec.order.end());
        for (sql::SortKey& key : order) {
            if (key.name.empty()) {
                continue;
            }
            std::size_t found = 0;
            for (std::size_t c = 0; c < fields.size(); ++c) {
                if (fields[c].name == key.name) {
                    key.column = c;
                    ++found;
                }
            }
            if (found != 1) {
                return MergeError{std::string(wire::sqlstate::kFeatureNotSupported),
                                  "pgrouter: ORDER BY " + key.name +
                                      " with SELECT * naming that column " +
                                      (found == 0 ? "nowhere" : "more than once") +
                                      " is not supported across shards"};
            }
        }
        if (auto err = detail::sort_rows(order, table, options, rows)) {
            return err;
        }
    }
    const std::size_t begin = static_cast<std::size_t>(
        std::min<std::uint64_t>(spec.offset, static_cast<std::uint64_t>(rows.size())));
    std::size_t end = rows.size();
    if (spec.limit && *spec.limit < end - begin) {
        end = begin + static_cast<std::size_t>(*spec.limit);
    }

    detail::client_fields(spec, fields);
    wire::append_row_description(out, fields);
    for (std::size_t i = begin; i < end; ++i) {
        const std::size_t r = rows[i];
        if (!table.raw[r].empty() && visible == table.width) {
            out.insert(out.end(), table.raw[r].begin(), table.raw[r].end());
        } else {
            wire::append_data_row(out, table.row(r).first(visible));
        }
    }
    wire::MessageWriter(out).command_complete("SELECT " + std::to_string(end - begin));
    return std::nullopt;
}

std::vector<std::uint8_t> client_row_description(
    const sql::MergeSpec& spec, std::span<const std::uint8_t> shard_row_description) {
    std::vector<wire::FieldDescription> fields;
    const auto frame = wire::frame_of(shard_row_description);
    if (!frame || !wire::parse_row_description(*frame, fields)) {
        return {};
    }
    detail::client_fields(spec, fields);
    std::vector<std::uint8_t> out;
    wire::append_row_description(out, fields);
    return out;
}

}  // namespace pgrouter::sharding
