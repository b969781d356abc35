// tests/unit/sharding/merge_support.hpp — builds shard replies and reads the merged result back,
// for the merge tests. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pgrouter/sharding/merge.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/row_messages.hpp"

namespace pgrouter::sharding::test {

using Buf = std::vector<std::uint8_t>;
using Value = std::optional<std::string>;
using Row = std::vector<Value>;

inline constexpr std::uint32_t kBool = 16, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
                               kFloat4 = 700, kFloat8 = 701, kBpchar = 1042, kVarchar = 1043,
                               kDate = 1082, kTime = 1083, kTimestamp = 1114, kTimestamptz = 1184,
                               kNumeric = 1700, kUuid = 2950, kInterval = 1186;

struct Col {
    std::string name;
    std::uint32_t oid = 0;
    std::int16_t format = 0;
};

inline Buf row_description(const std::vector<Col>& cols) {
    std::vector<wire::FieldDescription> fields;
    for (const Col& c : cols) {
        wire::FieldDescription f;
        f.name = c.name;
        f.type_oid = c.oid;
        f.type_size = -1;
        f.format = c.format;
        fields.push_back(f);
    }
    Buf out;
    wire::append_row_description(out, fields);
    return out;
}

inline Buf data_row(const Row& values) {
    std::vector<wire::Cell> cells;
    for (const Value& v : values) {
        if (v) {
            cells.push_back(
                wire::Bytes(reinterpret_cast<const std::uint8_t*>(v->data()), v->size()));
        } else {
            cells.emplace_back();
        }
    }
    Buf out;
    wire::append_data_row(out, cells);
    return out;
}

// One shard's reply; keeps the bytes the ShardReply views point into.
struct Shard {
    Buf rd;
    std::vector<Buf> rows;
    std::string tag;

    Shard(const std::vector<Col>& cols, const std::vector<Row>& values) {
        rd = row_description(cols);
        for (const Row& r : values) {
            rows.push_back(data_row(r));
        }
        tag = "SELECT " + std::to_string(values.size());
    }
    Shard() = default;  // no RowDescription, no rows

    ShardReply reply() const {
        ShardReply r;
        r.row_description = rd;
        for (const Buf& b : rows) {
            r.data_rows.push_back(b);
        }
        r.command_tag = tag;
        return r;
    }
};

struct Result {
    std::optional<MergeError> error;
    std::vector<wire::FieldDescription> fields;  // names copied into `names`
    std::vector<std::string> names;
    std::vector<Row> rows;
    std::string tag;
    Buf bytes;
    bool has_row_description = false;
};

inline Result run(const sql::MergeSpec& spec, const std::vector<Shard>& shards,
                  bool bytewise_text = false) {
    std::vector<ShardReply> replies;
    for (const Shard& s : shards) {
        replies.push_back(s.reply());
    }
    MergeOptions options;
    options.bytewise_text = bytewise_text;
    Result res;
    res.error = merge_results(spec, replies, options, res.bytes);
    if (res.error) {
        EXPECT_TRUE(res.bytes.empty()) << "nothing is written on error";
        return res;
    }
    std::size_t at = 0;
    while (at < res.bytes.size()) {
        const auto d = wire::decode_frame(wire::Bytes(res.bytes).subspan(at), 1 << 24);
        EXPECT_EQ(d.status, wire::DecodeStatus::Complete);
        if (d.status != wire::DecodeStatus::Complete) {
            break;
        }
        if (d.type == 'T') {
            EXPECT_TRUE(wire::parse_row_description(d.frame, res.fields));
            for (auto& f : res.fields) {
                res.names.emplace_back(f.name);
            }
            res.has_row_description = true;
        } else if (d.type == 'D') {
            std::vector<wire::Cell> cells;
            EXPECT_TRUE(wire::parse_data_row(d.frame, cells));
            Row row;
            for (const auto& c : cells) {
                row.push_back(c ? Value(std::string(c->begin(), c->end())) : Value());
            }
            res.rows.push_back(std::move(row));
        } else if (d.type == 'C') {
            res.tag = std::string(wire::parse_command_complete(d.frame).value_or("?"));
        } else {
            ADD_FAILURE() << "unexpected message " << d.type;
        }
        at += d.total;
    }
    return res;
}

// The single-column values of a result, NULL as "NULL".
inline std::vector<std::string> column(const Result& r, std::size_t c = 0) {
    std::vector<std::string> out;
    for (const Row& row : r.rows) {
        out.push_back(c < row.size() && row[c] ? *row[c] : "NULL");
    }
    return out;
}

inline sql::SortKey key(std::size_t column, bool descending = false,
                        std::optional<bool> nulls_first = std::nullopt) {
    sql::SortKey k;
    k.column = column;
    k.descending = descending;
    k.nulls_first = nulls_first.value_or(descending);  // PostgreSQL's default
    return k;
}

inline sql::AggregateColumn agg(sql::AggregateKind kind, std::size_t column,
                                std::size_t count_column = SIZE_MAX) {
    sql::AggregateColumn a;
    a.kind = kind;
    a.column = column;
    a.count_column = count_column;
    return a;
}

inline sql::HavingExpr compare(std::size_t column, sql::HavingExpr::Compare op,
                               std::string constant) {
    sql::HavingExpr e;
    e.op = sql::HavingExpr::Op::Compare;
    e.compare = op;
    e.column = column;
    e.constant = std::move(constant);
    return e;
}

inline sql::HavingExpr logical(sql::HavingExpr::Op op, std::vector<sql::HavingExpr> children) {
    sql::HavingExpr e;
    e.op = op;
    e.children = std::move(children);
    return e;
}

}  // namespace pgrouter::sharding::test
