// tests/unit/sharding/merge_test.cpp — merge_results without aggregates: concatenation, ORDER BY
// per type (as PostgreSQL 15 orders), DISTINCT, OFFSET/LIMIT, hidden columns, the checks on the
// shards' RowDescriptions; client_row_description and sum_command_tags.
#include "pgrouter/sharding/merge.hpp"

#include <gtest/gtest.h>

#include <random>

#include "merge_support.hpp"

namespace pgrouter::sharding {
namespace {

using namespace test;

using Strings = std::vector<std::string>;

sql::MergeSpec plain(std::size_t visible = 1) {
    sql::MergeSpec s;
    s.visible_columns = visible;
    return s;
}

sql::MergeSpec ordered(std::vector<sql::SortKey> keys, std::size_t visible = 1) {
    sql::MergeSpec s = plain(visible);
    s.order = std::move(keys);
    return s;
}

// Shards holding one column each, split as given.
std::vector<Shard> one_column(std::uint32_t oid, const std::vector<std::vector<Value>>& shards,
                              std::int16_t format = 0) {
    std::vector<Shard> out;
    for (const auto& values : shards) {
        std::vector<Row> rows;
        for (const Value& v : values) {
            rows.push_back({v});
        }
        out.emplace_back(std::vector<Col>{{"v", oid, format}}, rows);
    }
    return out;
}

Strings sorted_values(std::uint32_t oid, const std::vector<std::vector<Value>>& shards,
                      bool descending = false, bool bytewise = false) {
    const Result r = run(ordered({key(0, descending)}), one_column(oid, shards), bytewise);
    EXPECT_FALSE(r.error) << r.error->message;
    return column(r);
}

TEST(Merge, ConcatenatesShardAfterShardAndForwardsRowsAsTheyArrived) {
    const auto shards = one_column(kInt4, {{"1", "2"}, {}, {"3"}});
    const Result r = run(plain(), shards);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(column(r), (Strings{"1", "2", "3"}));
    EXPECT_EQ(r.tag, "SELECT 3");
    // RowDescription as the shards sent it, then the DataRows byte for byte.
    Buf expected = shards[0].rd;
    for (const auto* s : {&shards[0], &shards[2]}) {
        for (const Buf& b : s->rows) {
            expected.insert(expected.end(), b.begin(), b.end());
        }
    }
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), r.bytes.begin()));
}

TEST(Merge, OffsetAndLimitWindowTheConcatenation) {
    sql::MergeSpec s = plain();
    s.offset = 1;
    s.limit = 2;
    const Result r = run(s, one_column(kInt4, {{"1", "2"}, {"3", "4"}}));
    EXPECT_EQ(column(r), (Strings{"2", "3"}));
    EXPECT_EQ(r.tag, "SELECT 2");
    s.offset = 10;
    EXPECT_EQ(run(s, one_column(kInt4, {{"1"}, {"2"}})).tag, "SELECT 0");
    s.offset = 0;
    s.limit = 0;
    const Result none = run(s, one_column(kInt4, {{"1"}}));
    EXPECT_TRUE(none.has_row_description);
    EXPECT_TRUE(none.rows.empty());
}

TEST(Merge, OrdersIntegersNumerically) {
    EXPECT_EQ(sorted_values(kInt8, {{"10", "-5"}, {"9", "100"}}),
              (Strings{"-5", "9", "10", "100"}));
    EXPECT_EQ(sorted_values(kInt4, {{"10", "-5"}, {"9"}}, true), (Strings{"10", "9", "-5"}));
}

TEST(Merge, OrdersNumericWithNaNAboveInfinity) {
    EXPECT_EQ(
        sorted_values(kNumeric, {{"NaN", "1.50", "-Infinity"}, {"1.5", "Infinity", "-2", "0.001"}}),
        (Strings{"-Infinity", "-2", "0.001", "1.50", "1.5", "Infinity", "NaN"}));
    EXPECT_EQ(sorted_values(kNumeric, {{"-0.5", "-10"}, {"10.01", "9.999"}}),
              (Strings{"-10", "-0.5", "9.999", "10.01"}));
}

TEST(Merge, OrdersFloatsAsPostgres) {
    // NaN above Infinity, -0 equal to 0 (stable: shard order kept between them).
    EXPECT_EQ(
        sorted_values(kFloat8, {{"NaN", "0", "1e+100"}, {"-0", "Infinity", "-Infinity", "2.5"}}),
        (Strings{"-Infinity", "0", "-0", "2.5", "1e+100", "Infinity", "NaN"}));
    EXPECT_EQ(sorted_values(kFloat4, {{"NaN", "1.1"}, {"-3.4028235e+38", "1"}}, true),
              (Strings{"NaN", "1.1", "1", "-3.4028235e+38"}));
}

TEST(Merge, OrdersTextBytewiseOnlyWhenAllowed) {
    EXPECT_EQ(sorted_values(kText, {{"b", "B"}, {"a", "\xc3\xa9", "ab"}}, false, true),
              (Strings{"B", "a", "ab", "b", "\xc3\xa9"}));
    const Result r = run(ordered({key(0)}), one_column(kVarchar, {{"b"}, {"a"}}));
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->sqlstate, "0A000");
    EXPECT_NE(r.error->message.find("collation"), std::string::npos);
}

TEST(Merge, OrdersBpcharIgnoringTrailingSpaces) {
    // 'a ' = 'a' for bpchar, so 'a\x01' sorts after both (text would put 'a ' after it).
    EXPECT_EQ(sorted_values(kBpchar, {{"a\x01", "a "}, {"a"}}, false, true),
              (Strings{"a ", "a", "a\x01"}));
}

TEST(Merge, OrdersBoolFalseFirst) {
    EXPECT_EQ(sorted_values(kBool, {{"t", "f"}, {"t"}}), (Strings{"f", "t", "t"}));
}

TEST(Merge, OrdersDatesWithBcInfinityAndLongYears) {
    EXPECT_EQ(sorted_values(kDate, {{"infinity", "2024-01-01", "0044-03-15 BC"},
                                    {"12345-06-01", "-infinity", "0001-01-01", "0001-12-31 BC"}}),
              (Strings{"-infinity", "0044-03-15 BC", "0001-12-31 BC", "0001-01-01", "2024-01-01",
                       "12345-06-01", "infinity"}));
}

TEST(Merge, OrdersTimestamptzByInstant) {
    // 10:00+05:30 is 04:30 UTC, before 05:00+00.
    EXPECT_EQ(sorted_values(kTimestamptz,
                            {{"2024-01-01 05:00:00+00", "2024-01-01 10:00:00+05:30"},
                             {"2024-01-01 00:00:00-05", "infinity", "0100-01-01 00:00:00+00 BC"}}),
              (Strings{"0100-01-01 00:00:00+00 BC", "2024-01-01 10:00:00+05:30",
                       "2024-01-01 05:00:00+00", "2024-01-01 00:00:00-05", "infinity"}));
    EXPECT_EQ(
        sorted_values(kTimestamp, {{"2024-01-01 00:00:00.5", "2024-01-01 00:00:00.25"},
                                   {"2023-12-31 23:59:59.999999"}}),
        (Strings{"2023-12-31 23:59:59.999999", "2024-01-01 00:00:00.25", "2024-01-01 00:00:00.5"}));
    EXPECT_EQ(sorted_values(kTime, {{"24:00:00", "09:00:00"}, {"10:00:00.5"}}),
              (Strings{"09:00:00", "10:00:00.5", "24:00:00"}));
}

TEST(Merge, RefusesDatesOutsideDateStyleIso) {
    const Result r = run(ordered({key(0)}), one_column(kDate, {{"01/02/2024"}, {"2024-01-01"}}));
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->sqlstate, "0A000");
}

TEST(Merge, OrdersUuidAndBinaryValues) {
    EXPECT_EQ(
        sorted_values(kUuid, {{"b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
                              {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}}),
        (Strings{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}));
    // Binary int4: big-endian two's complement.
    const auto shards =
        one_column(kInt4,
                   {{std::string("\x00\x00\x00\x05", 4)},
                    {std::string("\xff\xff\xff\xff", 4), std::string("\x00\x00\x01\x00", 4)}},
                   1);
    const Result r = run(ordered({key(0)}), shards);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(column(r),
              (Strings{std::string("\xff\xff\xff\xff", 4), std::string("\x00\x00\x00\x05", 4),
                       std::string("\x00\x00\x01\x00", 4)}));
    // Binary float8: -1.0 before 2.0 (raw byte order would say otherwise).
    const auto floats = one_column(kFloat8,
                                   {{std::string("\x40\x00\x00\x00\x00\x00\x00\x00", 8)},
                                    {std::string("\xbf\xf0\x00\x00\x00\x00\x00\x00", 8)}},
                                   1);
    EXPECT_EQ(column(run(ordered({key(0)}), floats))[0][0], '\xbf');
}

TEST(Merge, PlacesNullsAsAsked) {
    const auto shards = one_column(kInt4, {{"2", std::nullopt}, {"1"}});
    EXPECT_EQ(column(run(ordered({key(0)}), shards)), (Strings{"1", "2", "NULL"}));
    EXPECT_EQ(column(run(ordered({key(0, true)}), shards)), (Strings{"NULL", "2", "1"}));
    EXPECT_EQ(column(run(ordered({key(0, false, true)}), shards)), (Strings{"NULL", "1", "2"}));
    EXPECT_EQ(column(run(ordered({key(0, true, false)}), shards)), (Strings{"2", "1", "NULL"}));
}

TEST(Merge, OrdersBySeveralKeysThenWindows) {
    const std::vector<Col> cols{{"a", kInt4}, {"b", kInt4}};
    const std::vector<Shard> shards{Shard(cols, {{"1", "1"}, {"2", "1"}}),
                                    Shard(cols, {{"1", "3"}, {"2", "0"}})};
    sql::MergeSpec s = ordered({key(0), key(1, true)}, 2);
    s.offset = 1;
    s.limit = 2;
    const Result r = run(s, shards);
    ASSERT_FALSE(r.error);
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[0], (Row{"1", "1"}));
    EXPECT_EQ(r.rows[1], (Row{"2", "1"}));
}

TEST(Merge, DropsHiddenColumnsAfterSortingOnThem) {
    const std::vector<Col> cols{{"name", kText}, {"sort_key", kInt4}};
    const std::vector<Shard> shards{Shard(cols, {{"x", "3"}, {"y", "1"}}),
                                    Shard(cols, {{"z", "2"}})};
    const Result r = run(ordered({key(1)}, 1), shards);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(column(r), (Strings{"y", "z", "x"}));
    ASSERT_EQ(r.fields.size(), 1u);
    EXPECT_EQ(r.names[0], "name");
    for (const Row& row : r.rows) {
        EXPECT_EQ(row.size(), 1u);
    }
}

TEST(Merge, DistinctKeepsTheFirstOfEqualValues) {
    sql::MergeSpec s = plain();
    s.distinct = true;
    EXPECT_EQ(
        column(run(s, one_column(kInt4, {{"1", "2", std::nullopt}, {"2", "3", std::nullopt}}))),
        (Strings{"1", "2", "NULL", "3"}));
    // Equal as numeric (1.0 = 1.00), float (-0 = 0, NaN = NaN) and bpchar ('a' = 'a  ').
    EXPECT_EQ(column(run(s, one_column(kNumeric, {{"1.0", "NaN"}, {"1.00", "NaN"}}))),
              (Strings{"1.0", "NaN"}));
    EXPECT_EQ(column(run(s, one_column(kFloat8, {{"0", "NaN"}, {"-0", "NaN"}}))),
              (Strings{"0", "NaN"}));
    EXPECT_EQ(column(run(s, one_column(kBpchar, {{"a  "}, {"a"}}))), (Strings{"a  "}));
    // Text equality is bytewise whatever the collation.
    EXPECT_EQ(column(run(s, one_column(kText, {{"a", "A"}, {"a"}}))), (Strings{"a", "A"}));
}

TEST(Merge, DistinctComesBeforeOrderAndLimit) {
    sql::MergeSpec s = ordered({key(0, true)});
    s.distinct = true;
    s.limit = 2;
    EXPECT_EQ(column(run(s, one_column(kInt4, {{"5", "5", "1"}, {"5", "4"}}))),
              (Strings{"5", "4"}));
}

TEST(Merge, DistinctOverVisibleColumnsOnly) {
    const std::vector<Col> cols{{"a", kInt4}, {"hidden", kInt4}};
    sql::MergeSpec s = plain(1);
    s.distinct = true;
    const Result r = run(s, {Shard(cols, {{"1", "10"}}), Shard(cols, {{"1", "20"}})});
    EXPECT_EQ(column(r), (Strings{"1"}));
}

TEST(Merge, RefusesTypesItCannotCompare) {
    const Result r = run(ordered({key(0)}), one_column(kInterval, {{"1 day"}, {"2 days"}}));
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->sqlstate, "0A000");
    EXPECT_NE(r.error->message.find("1186"), std::string::npos);
    const Result bin = run(ordered({key(0)}), one_column(kNumeric, {{"x"}}, 1));
    ASSERT_TRUE(bin.error);
    EXPECT_EQ(bin.error->sqlstate, "0A000");
    // Concatenation needs no comparison: any type passes through.
    EXPECT_FALSE(run(plain(), one_column(kInterval, {{"1 day"}, {"2 days"}})).error);
}

TEST(Merge, RefusesDifferentRowDescriptions) {
    std::vector<Shard> shards = one_column(kInt4, {{"1"}});
    shards.emplace_back(std::vector<Col>{{"v", kInt8}}, std::vector<Row>{{"2"}});
    const Result r = run(plain(), shards);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->sqlstate, "XX000");
    std::vector<Shard> wider = one_column(kInt4, {{"1"}});
    wider.emplace_back(std::vector<Col>{{"v", kInt4}, {"w", kInt4}}, std::vector<Row>{});
    EXPECT_EQ(run(plain(), wider).error->sqlstate, "XX000");
    // A DataRow with the wrong column count.
    std::vector<Shard> bad = one_column(kInt4, {{"1"}});
    bad[0].rows.push_back(data_row({"1", "2"}));
    EXPECT_EQ(run(plain(), bad).error->sqlstate, "XX000");
}

TEST(Merge, ShardsWithoutRowDescriptionCountAsEmpty) {
    std::vector<Shard> shards = one_column(kInt4, {{"1"}});
    shards.emplace_back();
    shards.back().tag = "SELECT 0";
    const Result r = run(plain(), shards);
    ASSERT_FALSE(r.error);
    EXPECT_EQ(column(r), (Strings{"1"}));
    // Nobody described rows: only the summed tag.
    std::vector<Shard> none(2);
    none[0].tag = "UPDATE 2";
    none[1].tag = "UPDATE 3";
    const Result t = run(plain(), none);
    EXPECT_FALSE(t.has_row_description);
    EXPECT_EQ(t.tag, "UPDATE 5");
}

TEST(Merge, ClientRowDescriptionDropsHiddenAndRetypesAvg) {
    const Buf rd = row_description({{"g", kInt4}, {"avg", kInt8, 0}, {"cnt", kInt8}});
    sql::MergeSpec s = plain(2);
    s.aggregate = true;
    s.group_by = {0};
    s.aggregates = {agg(sql::AggregateKind::Avg, 1, 2)};
    const Buf out = client_row_description(s, rd);
    std::vector<wire::FieldDescription> fields;
    ASSERT_TRUE(wire::parse_row_description(*wire::frame_of(out), fields));
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(fields[0].type_oid, kInt4);
    EXPECT_EQ(fields[1].name, "avg");
    EXPECT_EQ(fields[1].type_oid, kNumeric);
    EXPECT_EQ(fields[1].type_size, -1);
    EXPECT_EQ(fields[1].type_modifier, -1);
    EXPECT_EQ(fields[1].format, 0);
    EXPECT_TRUE(client_row_description(s, Buf{'T', 0}).empty());
}

TEST(Merge, RandomBytesNeverCrash) {
    // Valid shapes with random values and truncations, and random messages: an error or a
    // result, never a crash (run under ASan/UBSan).
    std::mt19937 rng(8);
    const std::vector<std::uint32_t> types{kInt4,        kInt8,   kNumeric, kFloat8, kDate,
                                           kTimestamptz, kBpchar, kUuid,    kBool,   kTime};
    for (int round = 0; round < 2000; ++round) {
        const std::uint32_t type = types[rng() % types.size()];
        const std::int16_t format = static_cast<std::int16_t>(rng() % 2);
        std::vector<Shard> shards;
        for (int s = 0; s < 2; ++s) {
            std::vector<Row> rows;
            for (int r = 0; r < 3; ++r) {
                std::string v(rng() % 12, '\0');
                for (char& c : v) {
                    c = "0123456789-.:+ BCNaInfity"[rng() % 25];
                }
                rows.push_back({v, std::to_string(rng() % 5)});
            }
            shards.emplace_back(std::vector<Col>{{"v", type, format}, {"n", kInt8}}, rows);
            if (rng() % 4 == 0) {
                Buf& m = shards.back().rows.front();
                m.resize(rng() % m.size());
            }
            if (rng() % 8 == 0) {
                shards.back().rd.resize(rng() % shards.back().rd.size());
            }
        }
        sql::MergeSpec s = plain(rng() % 3);
        s.order = {key(0, rng() % 2 == 0)};
        s.distinct = rng() % 2 == 0;
        if (rng() % 2 == 0) {
            s.aggregate = true;
            s.group_by = {0};
            s.aggregates = {agg(sql::AggregateKind::Avg, 1, 1)};
            s.having = compare(0, sql::HavingExpr::Compare::Lt, "1");
        }
        (void)run(s, shards, true);
    }
}

TEST(Merge, SumsCommandTags) {
    auto sum = [](std::vector<std::string_view> tags) { return sum_command_tags(tags); };
    EXPECT_EQ(sum({"INSERT 0 3", "INSERT 0 4"}), "INSERT 0 7");
    EXPECT_EQ(sum({"UPDATE 3", "UPDATE 0"}), "UPDATE 3");
    EXPECT_EQ(sum({"DELETE 0", "DELETE 0"}), "DELETE 0");
    EXPECT_EQ(sum({"SELECT 5", "SELECT 7"}), "SELECT 12");
    EXPECT_EQ(sum({"COPY 60000", "COPY 40000"}), "COPY 100000");
    EXPECT_EQ(sum({"MERGE 1", "MERGE 2"}), "MERGE 3");
    EXPECT_EQ(sum({"FETCH 1", "FETCH 2"}), "FETCH 3");
    EXPECT_EQ(sum({"MOVE 1", "MOVE 2"}), "MOVE 3");
    EXPECT_EQ(sum({"CREATE TABLE", "CREATE TABLE"}), "CREATE TABLE");
    EXPECT_EQ(sum({"SET"}), "SET");
    EXPECT_EQ(sum({}), "");
}

TEST(Merge, SortKeyByNameFindsTheColumnOfSelectStar) {
    const std::vector<Col> cols{{"name", kText}, {"id", kInt8}};
    const std::vector<Shard> shards{Shard(cols, {{"x", "30"}, {"y", "10"}}),
                                    Shard(cols, {{"z", "20"}})};
    sql::SortKey by_id;
    by_id.name = "id";
    by_id.column = 99;  // ignored: the name decides
    const Result r = run(ordered({by_id}, 2), shards);
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(column(r, 1), (Strings{"10", "20", "30"}));
    sql::SortKey missing;
    missing.name = "nope";
    const Result refused = run(ordered({missing}, 2), shards);
    ASSERT_TRUE(refused.error);
    EXPECT_EQ(refused.error->sqlstate, "0A000");
}

}  // namespace
}  // namespace pgrouter::sharding
