// tests/unit/sharding/merge_aggregate_test.cpp — merge_results with aggregates: groups combined
// across shards, count/sum/min/max/avg as PostgreSQL 15 computes them (expected values taken from
// a PostgreSQL 15 server), HAVING with three-valued logic, the one row of an ungrouped aggregate,
// and what is refused.
#include <gtest/gtest.h>

#include "merge_support.hpp"
#include "pgrouter/sharding/merge.hpp"

namespace pgrouter::sharding {
namespace {

using namespace test;
using sql::AggregateKind;
using sql::HavingExpr;

using Strings = std::vector<std::string>;

// SELECT avg(x) FROM t: the shards run sum(x), count(x); avg's column is 0, its count 1 (hidden).
sql::MergeSpec avg_spec() {
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Avg, 0, 1)};
    return s;
}

// One partial (sum, count) per shard.
std::string avg_of(std::uint32_t sum_type,
                   const std::vector<std::pair<Value, std::string>>& parts) {
    std::vector<Shard> shards;
    for (const auto& [sum, count] : parts) {
        shards.emplace_back(std::vector<Col>{{"avg", sum_type}, {"count", kInt8}},
                            std::vector<Row>{{sum, count}});
    }
    const Result r = run(avg_spec(), shards);
    EXPECT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(r.rows.size(), 1u);
    return r.rows.empty() ? "?" : column(r)[0];
}

TEST(MergeAggregate, AvgMatchesPostgresScaleAndRounding) {
    // avg(int4): int8 partial sums.
    EXPECT_EQ(avg_of(kInt8, {{"1", "1"}, {"2", "1"}}), "1.5000000000000000");
    EXPECT_EQ(avg_of(kInt8, {{"15", "5"}, {"40", "5"}}), "5.5000000000000000");
    EXPECT_EQ(avg_of(kInt8, {{"-1", "1"}, {"-2", "1"}}), "-1.5000000000000000");
    EXPECT_EQ(avg_of(kInt8, {{"0", "2"}, {"1", "1"}}), "0.33333333333333333333");
    EXPECT_EQ(avg_of(kInt8, {{"4", "2"}, {"3", "1"}}), "2.3333333333333333");
    EXPECT_EQ(avg_of(kInt8, {{"9999", "1"}, {"1", "1"}}), "5000.0000000000000000");
    EXPECT_EQ(avg_of(kInt8, {{"0", "1"}, {"0", "1"}}), "0.00000000000000000000");
    // avg(int8): numeric partial sums.
    EXPECT_EQ(avg_of(kNumeric, {{"100000000000", "1"}, {"1", "1"}}), "50000000000.50000000");
    EXPECT_EQ(avg_of(kNumeric, {{"123456789012345678", "1"}, {"1", "1"}}), "61728394506172840");
    // avg(numeric): the inputs' scale counts.
    EXPECT_EQ(avg_of(kNumeric, {{"0.01", "1"}, {"0.02", "1"}}), "0.01500000000000000000");
    EXPECT_EQ(avg_of(kNumeric, {{"3.75", "2"}, {"3.751", "2"}}), "1.8752500000000000");
    EXPECT_EQ(avg_of(kNumeric, {{"-0.00005", "1"}, {"0.00001", "1"}}),
              "-0.000020000000000000000000");
    EXPECT_EQ(avg_of(kNumeric, {{"0.66666666666666666667", "1"}, {"1", "1"}}),
              "0.83333333333333333334");
    EXPECT_EQ(avg_of(kNumeric, {{"99999999.99999", "1"}, {"0", "1"}}), "49999999.999995000000");
    EXPECT_EQ(avg_of(kNumeric, {{"NaN", "1"}, {"1", "1"}}), "NaN");
    EXPECT_EQ(avg_of(kNumeric, {{"Infinity", "1"}, {"-Infinity", "1"}}), "NaN");
    EXPECT_EQ(avg_of(kNumeric, {{"Infinity", "1"}, {std::nullopt, "0"}}), "Infinity");
}

TEST(MergeAggregate, AvgOfNoRowsIsNullAndIsRetyped) {
    EXPECT_EQ(avg_of(kInt8, {{std::nullopt, "0"}, {std::nullopt, "0"}}), "NULL");
    const Result r = run(avg_spec(), {Shard({{"avg", kInt8}, {"count", kInt8}}, {{"3", "2"}})});
    ASSERT_EQ(r.fields.size(), 1u);
    EXPECT_EQ(r.fields[0].type_oid, kNumeric);
    EXPECT_EQ(r.fields[0].format, 0);
    EXPECT_EQ(column(r), (Strings{"1.5000000000000000"}));
}

TEST(MergeAggregate, CombinesGroupsAcrossShards) {
    // SELECT g, count(*), sum(v), min(v), max(v), avg(v) FROM t GROUP BY g ORDER BY g;
    // shard columns: g, count, sum, min, max, avg-sum, avg-count (hidden).
    const std::vector<Col> cols{{"g", kText},   {"count", kInt8}, {"sum", kInt8}, {"min", kInt4},
                                {"max", kInt4}, {"avg", kInt8},   {"cnt", kInt8}};
    const std::vector<Shard> shards{
        Shard(cols, {{"a", "2", "3", "1", "2", "3", "2"}, {"b", "1", "10", "10", "10", "10", "1"}}),
        Shard(cols, {{"b", "2", "-4", "-5", "1", "-4", "2"},
                     {"c", "1", std::nullopt, std::nullopt, std::nullopt, std::nullopt, "0"}}),
        Shard(cols, {})};
    sql::MergeSpec s;
    s.visible_columns = 6;
    s.aggregate = true;
    s.group_by = {0};
    s.aggregates = {agg(AggregateKind::Count, 1), agg(AggregateKind::Sum, 2),
                    agg(AggregateKind::Min, 3), agg(AggregateKind::Max, 4),
                    agg(AggregateKind::Avg, 5, 6)};
    s.order = {key(0)};
    const Result r = run(s, shards, true);
    ASSERT_FALSE(r.error) << r.error->message;
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[0], (Row{"a", "2", "3", "1", "2", "1.5000000000000000"}));
    EXPECT_EQ(r.rows[1], (Row{"b", "3", "6", "-5", "10", "2.0000000000000000"}));
    EXPECT_EQ(r.rows[2], (Row{"c", "1", std::nullopt, std::nullopt, std::nullopt, std::nullopt}));
    EXPECT_EQ(r.tag, "SELECT 3");
}

TEST(MergeAggregate, GroupsNullsTogether) {
    const std::vector<Col> cols{{"g", kInt4}, {"count", kInt8}};
    sql::MergeSpec s;
    s.visible_columns = 2;
    s.aggregate = true;
    s.group_by = {0};
    s.aggregates = {agg(AggregateKind::Count, 1)};
    const Result r = run(
        s, {Shard(cols, {{std::nullopt, "2"}, {"1", "1"}}), Shard(cols, {{std::nullopt, "3"}})});
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[0], (Row{std::nullopt, "5"}));
    EXPECT_EQ(r.rows[1], (Row{"1", "1"}));
}

TEST(MergeAggregate, SumsNumericExactlyAndSkipsNullPartials) {
    const std::vector<Col> cols{{"sum", kNumeric}};
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Sum, 0)};
    auto sum = [&](std::vector<Value> parts) {
        std::vector<Shard> shards;
        for (const Value& p : parts) {
            shards.emplace_back(cols, std::vector<Row>{{p}});
        }
        return column(run(s, shards));
    };
    EXPECT_EQ(sum({"1.5", "-1.50"}), (Strings{"0.00"}));
    EXPECT_EQ(sum({"99999999999999999999.99", "0.01", std::nullopt}),
              (Strings{"100000000000000000000.00"}));
    EXPECT_EQ(sum({"-3", "1.25"}), (Strings{"-1.75"}));
    EXPECT_EQ(sum({std::nullopt, std::nullopt}), (Strings{"NULL"}));
    EXPECT_EQ(sum({"NaN", "1"}), (Strings{"NaN"}));
    EXPECT_EQ(sum({"Infinity", "-Infinity"}), (Strings{"NaN"}));
}

TEST(MergeAggregate, BigintSumOverflowIs22003) {
    const std::vector<Col> cols{{"sum", kInt8}};
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Sum, 0)};
    const Result ok = run(s, {Shard(cols, {{"9223372036854775806"}}), Shard(cols, {{"1"}})});
    EXPECT_EQ(column(ok), (Strings{"9223372036854775807"}));
    const Result r = run(s, {Shard(cols, {{"9223372036854775807"}}), Shard(cols, {{"1"}})});
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->sqlstate, "22003");
    EXPECT_EQ(r.error->message, "bigint out of range");
}

TEST(MergeAggregate, UngroupedAggregateGivesOneRowEvenWithoutShardRows) {
    const std::vector<Col> cols{{"count", kInt8}, {"sum", kInt8}, {"max", kInt4}};
    sql::MergeSpec s;
    s.visible_columns = 3;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Count, 0), agg(AggregateKind::Sum, 1),
                    agg(AggregateKind::Max, 2)};
    const Result r = run(s, {Shard(cols, {}), Shard(cols, {})});
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"0", std::nullopt, std::nullopt}));
    const Result all = run(s, {Shard(cols, {{"0", std::nullopt, std::nullopt}}),
                               Shard(cols, {{"2", "7", "4"}}), Shard(cols, {{"1", "-2", "9"}})});
    ASSERT_EQ(all.rows.size(), 1u);
    EXPECT_EQ(all.rows[0], (Row{"3", "5", "9"}));
    EXPECT_EQ(all.tag, "SELECT 1");
}

TEST(MergeAggregate, CountAndSumInBinaryFormat) {
    const std::vector<Col> cols{{"count", kInt8, 1}};
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Count, 0)};
    const std::string two("\0\0\0\0\0\0\0\x02", 8);
    const std::string big("\0\0\0\0\x01\0\0\0", 8);
    const Result r = run(s, {Shard(cols, {{two}}), Shard(cols, {{big}})});
    ASSERT_FALSE(r.error);
    EXPECT_EQ(column(r), (Strings{std::string("\0\0\0\0\x01\0\0\x02", 8)}));
}

TEST(MergeAggregate, MinMaxOfTextNeedsBytewiseCollation) {
    const std::vector<Col> cols{{"min", kText}};
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Min, 0)};
    const std::vector<Shard> shards{Shard(cols, {{"b"}}), Shard(cols, {{"B"}})};
    EXPECT_EQ(run(s, shards).error->sqlstate, "0A000");
    EXPECT_EQ(column(run(s, shards, true)), (Strings{"B"}));
}

TEST(MergeAggregate, RefusesInexactCombinations) {
    auto refused = [](AggregateKind kind, std::uint32_t type, std::int16_t format = 0) {
        sql::MergeSpec s;
        s.visible_columns = 1;
        s.aggregate = true;
        s.aggregates = {agg(kind, 0, 1)};
        const std::vector<Col> cols{{"x", type, format}, {"n", kInt8}};
        const Result r = run(s, {Shard(cols, {{"1", "1"}}), Shard(cols, {{"2", "1"}})});
        return r.error && r.error->sqlstate == "0A000";
    };
    EXPECT_TRUE(refused(AggregateKind::Sum, kFloat8));
    EXPECT_TRUE(refused(AggregateKind::Sum, kFloat4));
    EXPECT_TRUE(refused(AggregateKind::Avg, kFloat8));
    EXPECT_TRUE(refused(AggregateKind::Sum, kInterval));
    EXPECT_TRUE(refused(AggregateKind::Max, kInterval));
    EXPECT_TRUE(refused(AggregateKind::Sum, kNumeric, 1));
    EXPECT_TRUE(refused(AggregateKind::Avg, kInt8, 1));
    EXPECT_FALSE(refused(AggregateKind::Max, kFloat8));
}

// SELECT g, sum(v) FROM t GROUP BY g HAVING <expr>; columns g, sum, count(*) (hidden).
Strings having(HavingExpr e) {
    const std::vector<Col> cols{{"g", kInt4}, {"sum", kNumeric}, {"count", kInt8}};
    sql::MergeSpec s;
    s.visible_columns = 2;
    s.aggregate = true;
    s.group_by = {0};
    s.aggregates = {agg(AggregateKind::Sum, 1), agg(AggregateKind::Count, 2)};
    s.having = std::move(e);
    s.order = {key(0)};
    const Result r = run(s, {Shard(cols, {{"1", "5", "1"}, {"2", std::nullopt, "1"}}),
                             Shard(cols, {{"1", "1.5", "2"}, {"3", "10", "1"}})});
    EXPECT_FALSE(r.error) << r.error->message;
    return column(r);
}

TEST(MergeAggregate, HavingComparesCombinedValuesByType) {
    using C = HavingExpr::Compare;
    EXPECT_EQ(having(compare(2, C::Gt, "1")), (Strings{"1"}));  // count 3 > 1
    EXPECT_EQ(having(compare(1, C::Ge, "6.5")), (Strings{"1", "3"}));
    EXPECT_EQ(having(compare(1, C::Eq, "6.50")), (Strings{"1"}));
    EXPECT_EQ(having(compare(1, C::Lt, "1e2")), (Strings{"1", "3"}));
    EXPECT_EQ(having(compare(2, C::Le, "2.5")), (Strings{"2", "3"}));  // int vs numeric literal
    EXPECT_EQ(having(compare(1, C::Ne, "10")), (Strings{"1"}));        // NULL sum: unknown
}

TEST(MergeAggregate, HavingUsesThreeValuedLogic) {
    using C = HavingExpr::Compare;
    using Op = HavingExpr::Op;
    // Group 2 has a NULL sum: NOT (sum > 7) is unknown, so it is dropped.
    EXPECT_EQ(having(logical(Op::Not, {compare(1, C::Gt, "7")})), (Strings{"1"}));
    // unknown OR true = true; unknown AND false = false.
    EXPECT_EQ(having(logical(Op::Or, {compare(1, C::Gt, "7"), compare(2, C::Eq, "1")})),
              (Strings{"2", "3"}));
    EXPECT_EQ(having(logical(Op::And, {compare(1, C::Gt, "0"), compare(2, C::Eq, "1")})),
              (Strings{"3"}));
}

TEST(MergeAggregate, HavingOnUngroupedAggregateCanDropTheRow) {
    const std::vector<Col> cols{{"count", kInt8}};
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.aggregates = {agg(AggregateKind::Count, 0)};
    s.having = compare(0, HavingExpr::Compare::Gt, "5");
    const Result r = run(s, {Shard(cols, {{"2"}}), Shard(cols, {{"3"}})});
    ASSERT_FALSE(r.error);
    EXPECT_TRUE(r.rows.empty());
    EXPECT_EQ(r.tag, "SELECT 0");
}

TEST(MergeAggregate, DistinctOrderAndLimitApplyAfterGrouping) {
    // SELECT DISTINCT count(*) FROM t GROUP BY g ORDER BY 1 DESC LIMIT 2; g hidden.
    const std::vector<Col> cols{{"count", kInt8}, {"g", kInt4}};
    sql::MergeSpec s;
    s.visible_columns = 1;
    s.aggregate = true;
    s.group_by = {1};
    s.aggregates = {agg(AggregateKind::Count, 0)};
    s.distinct = true;
    s.order = {key(0, true)};
    s.limit = 2;
    const Result r = run(s, {Shard(cols, {{"1", "1"}, {"5", "2"}, {"2", "4"}}),
                             Shard(cols, {{"4", "1"}, {"1", "3"}, {"1", "4"}})});
    ASSERT_FALSE(r.error);
    EXPECT_EQ(column(r), (Strings{"5", "3"}));
    EXPECT_EQ(r.fields.size(), 1u);
}

}  // namespace
}  // namespace pgrouter::sharding
