// tests/unit/sql/shard_plan_test.cpp — plan_shard_statement(): the scope of each kind of
// statement (issue 8), the refusals, the rewritten shard query (as libpg_query deparses it) and
// the MergeSpec of scatter reads; insert_with_rows().
#include "pgrouter/sql/shard_plan.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgrouter::sql {
namespace {

const std::vector<ShardedTableKey> kTables = {{"accounts", "user_id"}, {"orders", "user_id"}};
const std::vector<std::string> kReference = {"countries"};

ShardPlan plan(const std::string& sql, bool writes_all = false, bool keyed_fallback = false) {
    ShardingView view;
    view.tables = kTables;
    view.reference_tables = kReference;
    view.cross_shard_writes_all = writes_all;
    view.keyed_fallback = keyed_fallback;
    return plan_shard_statement(sql, view);
}

// Refused, with `text` somewhere in the refusal.
void expect_refused(const std::string& sql, const std::string& text) {
    ShardPlan p = plan(sql);
    EXPECT_EQ(p.scope, ShardScope::Refused) << sql;
    EXPECT_NE(p.refusal.find(text), std::string::npos) << sql << " -> " << p.refusal;
}

KeyValue num(std::string text) {
    KeyValue v;
    v.text = std::move(text);
    return v;
}

KeyValue param(int n) {
    KeyValue v;
    v.kind = KeyValue::Kind::Param;
    v.param = n;
    v.text = std::to_string(n);
    v.text.insert(0, 1, '$');  // not "$" + ...: GCC 12 -Wrestrict false positive
    return v;
}

SortKey sort(std::size_t column, bool descending, bool nulls_first) {
    SortKey key;
    key.column = column;
    key.descending = descending;
    key.nulls_first = nulls_first;
    return key;
}

void expect_sort(const std::vector<SortKey>& got, const std::vector<SortKey>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].column, want[i].column) << i;
        EXPECT_EQ(got[i].descending, want[i].descending) << i;
        EXPECT_EQ(got[i].nulls_first, want[i].nulls_first) << i;
    }
}

// --- First ---------------------------------------------------------------------------------

TEST(ShardPlan, ParseErrorIsFirst) {
    ShardPlan p = plan("SELEC oops FROM accounts");
    EXPECT_EQ(p.scope, ShardScope::First);
    EXPECT_TRUE(p.parse_error);
}

TEST(ShardPlan, NoShardedTableIsFirst) {
    for (const char* sql : {"SELECT 1", "SET search_path = x", "BEGIN", "COMMIT", "SHOW work_mem",
                            "SELECT * FROM local_table", "INSERT INTO other VALUES (1)",
                            "LISTEN accounts", "DEALLOCATE ALL", "TRUNCATE other"}) {
        ShardPlan p = plan(sql);
        EXPECT_EQ(p.scope, ShardScope::First) << sql;
        EXPECT_FALSE(p.parse_error) << sql;
    }
    EXPECT_TRUE(plan("SELECT * FROM local_table").names_table);
    EXPECT_FALSE(plan("SELECT 1").names_table);
    EXPECT_FALSE(plan("COMMIT").names_table);
}

TEST(ShardPlan, SchemaDdlOnAnyTableIsBroadcast) {
    // One schema on every shard, also for tables whose rows live on the first shard.
    for (const char* sql :
         {"CREATE TABLE other (x int)", "CREATE SEQUENCE s", "CREATE INDEX other_x ON other (x)",
          "ALTER TABLE other ADD y int", "DROP TABLE other", "DROP INDEX other_x",
          "CREATE VIEW v AS SELECT 1", "GRANT SELECT ON other TO app"}) {
        ShardPlan p = plan(sql);
        EXPECT_EQ(p.scope, ShardScope::Broadcast) << sql;
        EXPECT_TRUE(p.ddl) << sql;
        EXPECT_FALSE(p.reference) << sql;
    }
    expect_refused("CREATE INDEX CONCURRENTLY other_x ON other (x)", "CREATE INDEX CONCURRENTLY");
}

TEST(ShardPlan, ReferenceWritesAnswerOnce) {
    EXPECT_TRUE(plan("INSERT INTO countries VALUES ('fr', 'France')").reference);
    EXPECT_FALSE(plan("CREATE INDEX c_name ON countries (name)").reference);
}

TEST(ShardPlan, SessionStatementsAreFirstEvenOverShardedTables) {
    EXPECT_EQ(plan("PREPARE p AS SELECT * FROM accounts").scope, ShardScope::First);
    EXPECT_EQ(plan("EXECUTE p(1)").scope, ShardScope::First);
}

TEST(ShardPlan, SeveralStatements) {
    EXPECT_EQ(plan("SELECT 1; SELECT 2").scope, ShardScope::First);
    expect_refused("SELECT 1; SELECT * FROM accounts WHERE user_id = 1",
                   "several statements in one query");
    expect_refused("SELECT * FROM countries; SELECT 1", "several statements");
}

// --- DDL -------------------------------------------------------------------------------------

TEST(ShardPlan, FunctionsTypesSchemasAreBroadcast) {
    for (const char* sql :
         {"CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "DROP FUNCTION f()",
          "CREATE TYPE mood AS ENUM ('a', 'b')", "CREATE DOMAIN pos AS int CHECK (VALUE > 0)",
          "CREATE EXTENSION pgcrypto", "CREATE SCHEMA app",
          "CREATE PROCEDURE p() LANGUAGE sql AS 'select 1'"}) {
        ShardPlan p = plan(sql);
        EXPECT_EQ(p.scope, ShardScope::Broadcast) << sql;
        EXPECT_TRUE(p.ddl) << sql;
        EXPECT_TRUE(p.writes) << sql;
    }
}

TEST(ShardPlan, DdlOnShardedOrReferenceTablesIsBroadcast) {
    for (const char* sql :
         {"CREATE TABLE accounts (user_id bigint, name text)", "ALTER TABLE accounts ADD c int",
          "DROP TABLE accounts", "DROP TABLE IF EXISTS public.orders", "TRUNCATE countries",
          "CREATE INDEX ON accounts (name)", "ALTER TABLE accounts RENAME TO acc",
          "COMMENT ON TABLE accounts IS 'x'", "COMMENT ON COLUMN orders.total IS 'x'",
          "ANALYZE accounts", "GRANT SELECT ON accounts TO bob", "LOCK TABLE accounts"}) {
        ShardPlan p = plan(sql);
        EXPECT_EQ(p.scope, ShardScope::Broadcast) << sql;
        EXPECT_TRUE(p.ddl) << sql;
        EXPECT_TRUE(p.writes) << sql;
    }
}

TEST(ShardPlan, StatementsOutsideTransactionsAreRefused) {
    expect_refused("CREATE INDEX CONCURRENTLY i ON accounts (name)", "CREATE INDEX CONCURRENTLY");
    expect_refused("VACUUM accounts", "VACUUM");
    expect_refused("REINDEX (CONCURRENTLY) TABLE accounts", "REINDEX CONCURRENTLY");
}

TEST(ShardPlan, CreateTableAsOverShardedIsRefused) {
    expect_refused("CREATE TABLE t AS SELECT * FROM accounts", "CREATE TABLE AS");
    expect_refused("SELECT * INTO t FROM accounts", "SELECT INTO");
    EXPECT_EQ(plan("CREATE TABLE t AS SELECT * FROM countries").scope, ShardScope::Broadcast);
}

// --- Reference tables ------------------------------------------------------------------------

TEST(ShardPlan, ReferenceReadsAnyOneWritesBroadcast) {
    EXPECT_EQ(plan("SELECT * FROM countries WHERE code = 'de'").scope, ShardScope::AnyOne);
    EXPECT_EQ(plan("SELECT * FROM public.countries").scope, ShardScope::AnyOne);
    for (const char* sql : {"INSERT INTO countries VALUES ('de')",
                            "UPDATE countries SET name = 'x'", "DELETE FROM countries",
                            "MERGE INTO countries c USING (VALUES ('de')) v(x) ON c.code = v.x "
                            "WHEN NOT MATCHED THEN INSERT VALUES (v.x)"}) {
        ShardPlan p = plan(sql);
        EXPECT_EQ(p.scope, ShardScope::Broadcast) << sql;
        EXPECT_TRUE(p.writes) << sql;
        EXPECT_FALSE(p.ddl) << sql;
    }
}

TEST(ShardPlan, WriteToReferenceReadingShardedIsRefused) {
    expect_refused("INSERT INTO countries SELECT country FROM accounts",
                   "reading sharded table accounts");
}

// --- Writes to sharded tables ----------------------------------------------------------------

TEST(ShardPlan, SingleRowInsertIsKeyed) {
    ShardPlan p = plan("INSERT INTO accounts (user_id, name) VALUES (42, 'a')");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_TRUE(p.writes);
    EXPECT_EQ(p.table, "accounts");
    EXPECT_EQ(p.keys, std::vector<KeyValue>{num("42")});
}

TEST(ShardPlan, InsertWithParameterAndOnConflictIsKeyed) {
    ShardPlan p = plan(
        "INSERT INTO accounts (user_id, name) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE "
        "SET name = excluded.name");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_EQ(p.keys, std::vector<KeyValue>{param(1)});
}

TEST(ShardPlan, MultiRowInsertIsSplit) {
    ShardPlan p = plan("INSERT INTO public.accounts (user_id, name) VALUES (1, 'a'), (2, 'b')");
    EXPECT_EQ(p.scope, ShardScope::Split);
    EXPECT_TRUE(p.writes);
    EXPECT_EQ(p.table, "accounts");
    EXPECT_EQ(p.rows, (std::vector<KeyValue>{num("1"), num("2")}));
}

TEST(ShardPlan, InsertWithoutKeyValueIsRefused) {
    expect_refused("INSERT INTO accounts (name) VALUES ('a')",
                   "INSERT into sharded table accounts without a value for its shard key user_id");
    expect_refused("INSERT INTO accounts (user_id) VALUES (1), (NULL)", "without a value");
    expect_refused("INSERT INTO accounts (user_id) VALUES (1), (random())", "without a value");
    expect_refused("INSERT INTO accounts DEFAULT VALUES", "without a value");
}

TEST(ShardPlan, InsertSelectIsRefused) {
    expect_refused("INSERT INTO accounts SELECT * FROM orders", "INSERT ... SELECT into sharded");
    expect_refused("INSERT INTO accounts SELECT 1", "INSERT ... SELECT into sharded");
}

TEST(ShardPlan, UpdateOfShardKeyIsRefused) {
    expect_refused("UPDATE accounts SET user_id = 2 WHERE user_id = 1",
                   "UPDATE of the shard key accounts.user_id");
    expect_refused(
        "INSERT INTO accounts (user_id) VALUES (1) ON CONFLICT (user_id) DO UPDATE "
        "SET user_id = 3",
        "UPDATE of the shard key");
}

TEST(ShardPlan, KeyedUpdateAndDelete) {
    ShardPlan p = plan("UPDATE accounts SET name = 'x' WHERE user_id = 7");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_TRUE(p.writes);
    EXPECT_EQ(p.keys, std::vector<KeyValue>{num("7")});
    p = plan("DELETE FROM accounts WHERE user_id IN ($1, $2)");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_EQ(p.keys, (std::vector<KeyValue>{param(1), param(2)}));
}

TEST(ShardPlan, KeylessWrites) {
    expect_refused("UPDATE accounts SET name = 'x' WHERE name = 'y'",
                   "UPDATE on sharded table accounts without its shard key user_id");
    expect_refused("DELETE FROM accounts",
                   "DELETE on sharded table accounts without its shard key");
    ShardPlan p = plan("DELETE FROM accounts WHERE name = 'y'", true);
    EXPECT_EQ(p.scope, ShardScope::Broadcast);
    EXPECT_TRUE(p.writes);
    EXPECT_FALSE(p.ddl);
}

TEST(ShardPlan, WriteReadingAnotherUnpinnedShardedTableIsRefused) {
    expect_refused(
        "UPDATE accounts SET n = 1 WHERE user_id = 1 AND name IN (SELECT name FROM "
        "orders)",
        "reads sharded table orders");
    expect_refused(
        "MERGE INTO accounts a USING orders o ON a.user_id = o.user_id WHEN MATCHED "
        "THEN DO NOTHING",
        "MERGE");
}

// --- Reads ------------------------------------------------------------------------------------

TEST(ShardPlan, PinnedReadIsKeyed) {
    ShardPlan p = plan("SELECT * FROM accounts WHERE user_id = 5");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_FALSE(p.writes);
    EXPECT_EQ(p.table, "accounts");
    EXPECT_EQ(p.keys, std::vector<KeyValue>{num("5")});
    EXPECT_TRUE(p.shard_sql.empty());  // planned only when asked for (keys on several shards)
    ShardPlan fallback = plan("SELECT * FROM accounts WHERE user_id = 5", false, true);
    EXPECT_EQ(fallback.shard_sql, "SELECT * FROM accounts WHERE user_id = 5");
}

TEST(ShardPlan, JoinPinnedOnBothTablesIsKeyed) {
    ShardPlan p = plan(
        "SELECT a.name, o.total FROM accounts a JOIN orders o ON a.user_id = o.user_id WHERE "
        "a.user_id = 3");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_EQ(p.table, "accounts");
    EXPECT_EQ(p.keys, std::vector<KeyValue>{num("3")});
}

TEST(ShardPlan, KeyedReadThatCannotMergeSaysWhy) {
    ShardPlan p =
        plan("SELECT string_agg(name, ',') FROM accounts WHERE user_id IN (1, 2)", false, true);
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_TRUE(p.shard_sql.empty());
    EXPECT_NE(p.refusal.find("string_agg"), std::string::npos);
}

TEST(ShardPlan, LockingReads) {
    ShardPlan p = plan("SELECT * FROM accounts WHERE user_id = 1 FOR UPDATE");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_TRUE(p.writes);
    expect_refused("SELECT * FROM accounts FOR SHARE", "FOR UPDATE/SHARE");
}

TEST(ShardPlan, PlainScatter) {
    ShardPlan p = plan("SELECT name, balance FROM accounts WHERE balance > 10");
    EXPECT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT name, balance FROM accounts WHERE balance > 10");
    EXPECT_EQ(p.merge.visible_columns, 2u);
    EXPECT_FALSE(p.merge.aggregate);
    EXPECT_TRUE(p.merge.order.empty());
    EXPECT_FALSE(p.merge.limit);
}

TEST(ShardPlan, SelectStarOnlyWithoutColumnReferences) {
    ShardPlan p = plan("SELECT * FROM accounts LIMIT 10");
    EXPECT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.merge.visible_columns, 0u);  // every column
    EXPECT_EQ(p.merge.limit, 10u);
    EXPECT_EQ(p.shard_sql, "SELECT * FROM accounts LIMIT 10");
    expect_refused("SELECT DISTINCT * FROM accounts", "SELECT *");
    expect_refused("SELECT * FROM accounts ORDER BY lower(name)", "SELECT * with ORDER BY");
}

TEST(ShardPlan, SelectStarOrderedByColumnNamesSortsByName) {
    // The merge finds the column by name in the shards' RowDescription.
    ShardPlan p = plan("SELECT * FROM accounts ORDER BY name DESC, a.user_id LIMIT 3");
    ASSERT_EQ(p.scope, ShardScope::Scatter) << p.refusal;
    EXPECT_EQ(p.merge.visible_columns, 0u);
    ASSERT_EQ(p.merge.order.size(), 2u);
    EXPECT_EQ(p.merge.order[0].name, "name");
    EXPECT_TRUE(p.merge.order[0].descending);
    EXPECT_TRUE(p.merge.order[0].nulls_first);
    EXPECT_EQ(p.merge.order[1].name, "user_id");
    EXPECT_EQ(p.merge.limit, 3u);
}

TEST(ShardPlan, LimitRaisedAndOffsetDropped) {
    ShardPlan p = plan(
        "SELECT name, balance FROM accounts ORDER BY balance DESC NULLS LAST, name LIMIT 10 "
        "OFFSET 5");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql,
              "SELECT name, balance FROM accounts ORDER BY balance DESC NULLS LAST, name LIMIT 15");
    EXPECT_EQ(p.merge.limit, 10u);
    EXPECT_EQ(p.merge.offset, 5u);
    expect_sort(p.merge.order, {sort(1, true, false), sort(0, false, false)});
}

TEST(ShardPlan, OffsetWithoutLimitAndLimitAll) {
    ShardPlan p = plan("SELECT name FROM accounts ORDER BY name DESC OFFSET 3");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT name FROM accounts ORDER BY name DESC");
    EXPECT_FALSE(p.merge.limit);
    EXPECT_EQ(p.merge.offset, 3u);
    expect_sort(p.merge.order, {sort(0, true, true)});
    p = plan("SELECT name FROM accounts LIMIT ALL");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_FALSE(p.merge.limit);
}

TEST(ShardPlan, LimitMustBeAConstant) {
    expect_refused("SELECT name FROM accounts LIMIT $1", "LIMIT with a parameter");
    expect_refused("SELECT name FROM accounts OFFSET $2", "OFFSET with a parameter");
    expect_refused("SELECT name FROM accounts LIMIT 1 + 1", "LIMIT");
    expect_refused("SELECT name FROM accounts ORDER BY name FETCH FIRST 3 ROWS WITH TIES",
                   "WITH TIES");
}

TEST(ShardPlan, OrderByHiddenColumnAliasAndPosition) {
    ShardPlan p = plan("SELECT name AS n, balance FROM accounts ORDER BY created_at, n, 2 DESC");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql,
              "SELECT name AS n, balance, created_at FROM accounts ORDER BY created_at, n, 2 DESC");
    EXPECT_EQ(p.merge.visible_columns, 2u);
    expect_sort(p.merge.order, {sort(2, false, false), sort(0, false, false), sort(1, true, true)});
}

TEST(ShardPlan, OrderByEqualExpressionReusesTheColumn) {
    ShardPlan p = plan("SELECT lower(name) FROM accounts ORDER BY lower(name) NULLS FIRST");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT lower(name) FROM accounts ORDER BY lower(name) NULLS FIRST");
    expect_sort(p.merge.order, {sort(0, false, true)});
}

TEST(ShardPlan, CollateInOrderBy) {
    EXPECT_EQ(plan("SELECT name FROM accounts ORDER BY name COLLATE \"C\"").scope,
              ShardScope::Scatter);
    expect_refused("SELECT name FROM accounts ORDER BY name COLLATE \"de_DE\"", "COLLATE");
    expect_refused("SELECT name, count(*) FROM accounts GROUP BY name COLLATE \"en_US\"",
                   "COLLATE");
}

TEST(ShardPlan, CountAndSumWithoutGroupBy) {
    ShardPlan p = plan("SELECT count(*), sum(balance), min(name), max(name) FROM accounts");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT count(*), sum(balance), min(name), max(name) FROM accounts");
    EXPECT_TRUE(p.merge.aggregate);
    EXPECT_TRUE(p.merge.group_by.empty());
    ASSERT_EQ(p.merge.aggregates.size(), 4u);
    EXPECT_EQ(p.merge.aggregates[0].kind, AggregateKind::Count);
    EXPECT_EQ(p.merge.aggregates[1].kind, AggregateKind::Sum);
    EXPECT_EQ(p.merge.aggregates[2].kind, AggregateKind::Min);
    EXPECT_EQ(p.merge.aggregates[3].kind, AggregateKind::Max);
    EXPECT_EQ(p.merge.aggregates[3].column, 3u);
}

TEST(ShardPlan, AvgIsSplitIntoSumAndHiddenCount) {
    ShardPlan p = plan("SELECT avg(balance), avg(x) AS ax FROM accounts");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql,
              "SELECT sum(balance) AS avg, sum(x) AS ax, count(balance), count(x) FROM accounts");
    EXPECT_EQ(p.merge.visible_columns, 2u);
    ASSERT_EQ(p.merge.aggregates.size(), 2u);
    EXPECT_EQ(p.merge.aggregates[0].kind, AggregateKind::Avg);
    EXPECT_EQ(p.merge.aggregates[0].column, 0u);
    EXPECT_EQ(p.merge.aggregates[0].count_column, 2u);
    EXPECT_EQ(p.merge.aggregates[1].column, 1u);
    EXPECT_EQ(p.merge.aggregates[1].count_column, 3u);
}

TEST(ShardPlan, GroupByHavingOrderByLimit) {
    ShardPlan p = plan(
        "SELECT name, avg(balance) FROM accounts GROUP BY name HAVING avg(balance) > 10 AND "
        "count(*) >= 2 ORDER BY 2 DESC LIMIT 5 OFFSET 2");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql,
              "SELECT name, sum(balance) AS avg, count(balance), count(*) FROM accounts GROUP BY "
              "name ORDER BY 2 DESC");
    EXPECT_EQ(p.merge.visible_columns, 2u);
    EXPECT_TRUE(p.merge.aggregate);
    EXPECT_EQ(p.merge.group_by, std::vector<std::size_t>{0});
    ASSERT_EQ(p.merge.aggregates.size(), 2u);
    EXPECT_EQ(p.merge.aggregates[1].kind, AggregateKind::Count);
    EXPECT_EQ(p.merge.aggregates[1].column, 3u);
    ASSERT_TRUE(p.merge.having);
    EXPECT_EQ(p.merge.having->op, HavingExpr::Op::And);
    ASSERT_EQ(p.merge.having->children.size(), 2u);
    EXPECT_EQ(p.merge.having->children[0].compare, HavingExpr::Compare::Gt);
    EXPECT_EQ(p.merge.having->children[0].column, 1u);
    EXPECT_EQ(p.merge.having->children[0].constant, "10");
    EXPECT_EQ(p.merge.having->children[1].compare, HavingExpr::Compare::Ge);
    EXPECT_EQ(p.merge.having->children[1].column, 3u);
    expect_sort(p.merge.order, {sort(1, true, true)});
    EXPECT_EQ(p.merge.limit, 5u);
    EXPECT_EQ(p.merge.offset, 2u);
}

TEST(ShardPlan, HavingConstantOnTheLeftAndNot) {
    ShardPlan p = plan(
        "SELECT country FROM accounts GROUP BY country HAVING NOT (100 < sum(balance) OR "
        "country = 'de')");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT country, sum(balance) FROM accounts GROUP BY country");
    ASSERT_TRUE(p.merge.having);
    EXPECT_EQ(p.merge.having->op, HavingExpr::Op::Not);
    const HavingExpr& either = p.merge.having->children.at(0);
    EXPECT_EQ(either.op, HavingExpr::Op::Or);
    EXPECT_EQ(either.children.at(0).compare, HavingExpr::Compare::Gt);
    EXPECT_EQ(either.children.at(0).column, 1u);
    EXPECT_EQ(either.children.at(1).column, 0u);
    EXPECT_EQ(either.children.at(1).constant, "de");
}

TEST(ShardPlan, HavingAvgAddsHiddenSumAndCount) {
    ShardPlan p = plan("SELECT g FROM accounts GROUP BY g HAVING avg(x) <> 3");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT g, sum(x), count(x) FROM accounts GROUP BY g");
    ASSERT_EQ(p.merge.aggregates.size(), 1u);
    EXPECT_EQ(p.merge.aggregates[0].kind, AggregateKind::Avg);
    EXPECT_EQ(p.merge.aggregates[0].column, 1u);
    EXPECT_EQ(p.merge.aggregates[0].count_column, 2u);
    EXPECT_EQ(p.merge.having->compare, HavingExpr::Compare::Ne);
    EXPECT_EQ(p.merge.having->column, 1u);
}

TEST(ShardPlan, UnsupportedHavingIsRefused) {
    expect_refused("SELECT g FROM accounts GROUP BY g HAVING sum(x) > avg(y)", "HAVING");
    expect_refused("SELECT g FROM accounts GROUP BY g HAVING sum(x) > $1", "HAVING");
}

TEST(ShardPlan, GroupByExpressionNotSelectedIsHidden) {
    ShardPlan p =
        plan("SELECT count(*) AS n FROM accounts GROUP BY country, 1 + 1 ORDER BY max(y)");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql,
              "SELECT count(*) AS n, country, 1 + 1, max(y) FROM accounts GROUP BY country, 1 + 1 "
              "ORDER BY max(y)");
    EXPECT_EQ(p.merge.visible_columns, 1u);
    EXPECT_EQ(p.merge.group_by, (std::vector<std::size_t>{1, 2}));
    ASSERT_EQ(p.merge.aggregates.size(), 2u);
    EXPECT_EQ(p.merge.aggregates[1].kind, AggregateKind::Max);
    EXPECT_EQ(p.merge.aggregates[1].column, 3u);
    expect_sort(p.merge.order, {sort(3, false, false)});
}

TEST(ShardPlan, GroupByAliasAndPosition) {
    ShardPlan p = plan("SELECT lower(name) AS l, country, count(*) FROM accounts GROUP BY l, 2");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.merge.group_by, (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(p.merge.visible_columns, 3u);
}

TEST(ShardPlan, AggregationDropsLimitFromShardQuery) {
    ShardPlan p = plan("SELECT country, count(*) FROM accounts GROUP BY country LIMIT 3 OFFSET 1");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT country, count(*) FROM accounts GROUP BY country");
    EXPECT_EQ(p.merge.limit, 3u);
    EXPECT_EQ(p.merge.offset, 1u);
}

TEST(ShardPlan, FilterIsKept) {
    ShardPlan p = plan("SELECT count(*) FILTER (WHERE balance > 0) FROM accounts");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT count(*) FILTER (WHERE balance > 0) FROM accounts");
}

TEST(ShardPlan, Distinct) {
    ShardPlan p = plan("SELECT DISTINCT country FROM accounts ORDER BY country LIMIT 3");
    ASSERT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_EQ(p.shard_sql, "SELECT DISTINCT country FROM accounts ORDER BY country");
    EXPECT_TRUE(p.merge.distinct);
    EXPECT_EQ(p.merge.limit, 3u);
    expect_sort(p.merge.order, {sort(0, false, false)});
    expect_refused("SELECT DISTINCT ON (country) country, name FROM accounts", "DISTINCT ON");
}

TEST(ShardPlan, UnmergeableAggregatesAreRefused) {
    expect_refused("SELECT count(DISTINCT name) FROM accounts", "count(DISTINCT ...)");
    expect_refused("SELECT sum(x) + 1 FROM accounts", "an expression over an aggregate");
    expect_refused("SELECT round(avg(x)) FROM accounts", "an expression over an aggregate");
    expect_refused("SELECT string_agg(name, ',') FROM accounts", "string_agg");
    expect_refused("SELECT stddev(x) FROM accounts", "stddev");
    expect_refused("SELECT array_agg(x ORDER BY y) FROM accounts", "array_agg");
    expect_refused("SELECT sum(x ORDER BY y) FROM accounts", "ORDER BY");
    expect_refused("SELECT g FROM accounts GROUP BY g ORDER BY sum(x) * 2",
                   "an expression over an aggregate");
}

TEST(ShardPlan, WindowsAndGroupingSetsAreRefused) {
    expect_refused("SELECT row_number() OVER () FROM accounts", "window functions");
    expect_refused("SELECT sum(x) OVER (PARTITION BY g) FROM accounts", "window functions");
    expect_refused("SELECT g, count(*) FROM accounts GROUP BY ROLLUP (g)", "ROLLUP");
    expect_refused("SELECT g, count(*) FROM accounts GROUP BY GROUPING SETS ((g), ())",
                   "GROUPING SETS");
}

TEST(ShardPlan, JoinsOnShardKeys) {
    for (const char* sql :
         {"SELECT a.name, o.total FROM accounts a JOIN orders o ON a.user_id = o.user_id",
          "SELECT a.name FROM accounts a JOIN orders o USING (user_id)",
          "SELECT a.name FROM accounts a, orders o WHERE o.user_id = a.user_id AND o.total > 1",
          "SELECT a.name FROM accounts a LEFT JOIN orders o ON a.user_id = o.user_id",
          "SELECT a.name, c.name FROM accounts a JOIN countries c ON a.country = c.code"}) {
        EXPECT_EQ(plan(sql).scope, ShardScope::Scatter) << sql;
    }
    expect_refused("SELECT * FROM accounts a JOIN orders o ON a.id = o.account_id",
                   "join of sharded tables accounts and orders not on their shard keys");
    expect_refused("SELECT * FROM accounts a, orders o WHERE a.user_id = o.user_id OR a.x = 1",
                   "not on their shard keys");
    expect_refused("SELECT a.name FROM accounts a JOIN local_table l ON a.x = l.x",
                   "neither sharded nor reference");
    expect_refused("SELECT c.name FROM countries c LEFT JOIN accounts a ON a.country = c.code",
                   "outer join");
}

TEST(ShardPlan, SubqueriesSetOperationsAndCtesOverShardedAreRefused) {
    expect_refused("SELECT * FROM accounts WHERE user_id IN (SELECT user_id FROM orders)",
                   "subquery over sharded table orders");
    expect_refused("SELECT * FROM (SELECT * FROM accounts) s", "subquery over sharded table");
    expect_refused("SELECT name FROM accounts UNION SELECT name FROM orders", "UNION");
    expect_refused("WITH x AS (SELECT * FROM accounts) SELECT * FROM x", "WITH");
    // A CTE over a reference table is fine.
    EXPECT_EQ(plan("WITH c AS (SELECT code FROM countries) SELECT a.name FROM accounts a JOIN c "
                   "ON a.country = c.code")
                  .scope,
              ShardScope::Scatter);
    expect_refused("WITH d AS (DELETE FROM accounts RETURNING *) SELECT * FROM d",
                   "data-modifying WITH");
}

// --- COPY, EXPLAIN, cursors -------------------------------------------------------------------

TEST(ShardPlan, Copy) {
    ShardPlan p = plan("COPY accounts FROM STDIN");
    EXPECT_EQ(p.scope, ShardScope::Split);
    EXPECT_TRUE(p.copy);
    EXPECT_TRUE(p.writes);
    EXPECT_TRUE(p.rows.empty());
    EXPECT_EQ(p.table, "accounts");
    p = plan("COPY accounts (user_id, name) TO STDOUT");
    EXPECT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_TRUE(p.copy);
    EXPECT_FALSE(p.writes);
    EXPECT_EQ(p.shard_sql, "COPY accounts (user_id, name) TO STDOUT");
    EXPECT_EQ(p.merge.visible_columns, 0u);
    p = plan("COPY (SELECT name FROM accounts WHERE x > 1) TO STDOUT");
    EXPECT_EQ(p.scope, ShardScope::Scatter);
    EXPECT_TRUE(p.copy);
    p = plan("COPY (SELECT name FROM accounts WHERE user_id = 4) TO STDOUT");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_TRUE(p.copy);
    EXPECT_EQ(p.keys, std::vector<KeyValue>{num("4")});
    expect_refused("COPY (SELECT count(*) FROM accounts) TO STDOUT", "COPY (SELECT ...)");
    expect_refused("COPY accounts FROM '/tmp/x'", "COPY with a file");
    EXPECT_EQ(plan("COPY countries FROM STDIN").scope, ShardScope::Broadcast);
    EXPECT_EQ(plan("COPY countries TO STDOUT").scope, ShardScope::AnyOne);
}

TEST(ShardPlan, Explain) {
    ShardPlan p = plan("EXPLAIN SELECT * FROM accounts WHERE user_id = 1");
    EXPECT_EQ(p.scope, ShardScope::Keyed);
    EXPECT_EQ(p.keys, std::vector<KeyValue>{num("1")});
    EXPECT_TRUE(p.shard_sql.empty());
    expect_refused("EXPLAIN SELECT * FROM accounts", "EXPLAIN");
    expect_refused("EXPLAIN DELETE FROM accounts", "EXPLAIN");
    EXPECT_EQ(plan("EXPLAIN SELECT * FROM countries").scope, ShardScope::AnyOne);
    EXPECT_TRUE(plan("EXPLAIN ANALYZE DELETE FROM accounts WHERE user_id = 2").writes);
}

TEST(ShardPlan, Cursors) {
    EXPECT_EQ(plan("DECLARE c CURSOR FOR SELECT * FROM accounts WHERE user_id = 1").scope,
              ShardScope::Keyed);
    expect_refused("DECLARE c CURSOR FOR SELECT * FROM accounts", "DECLARE CURSOR");
}

TEST(ShardPlan, DeepNestingDoesNotCrash) {
    std::string sql = "SELECT name FROM accounts WHERE x = ";
    for (int i = 0; i < 3000; ++i) {
        sql += "(";
    }
    sql += "1";
    for (int i = 0; i < 3000; ++i) {
        sql += ")";
    }
    ShardPlan p = plan(sql);
    EXPECT_TRUE(p.scope == ShardScope::Scatter || p.parse_error);
}

// --- insert_with_rows -------------------------------------------------------------------------

TEST(ShardPlanInsertWithRows, KeepsTheListedRows) {
    const std::string sql =
        "INSERT INTO accounts (user_id, name) VALUES (1, 'a'), (2, 'b'), ($1, $2) ON CONFLICT "
        "DO NOTHING RETURNING *";
    const std::vector<std::size_t> rows = {0, 2};
    EXPECT_EQ(insert_with_rows(sql, rows),
              "INSERT INTO accounts (user_id, name) VALUES (1, 'a'), ($1, $2) ON CONFLICT DO "
              "NOTHING RETURNING *");
    const std::vector<std::size_t> one = {1};
    EXPECT_EQ(insert_with_rows(sql, one),
              "INSERT INTO accounts (user_id, name) VALUES (2, 'b') ON CONFLICT DO NOTHING "
              "RETURNING *");
}

TEST(ShardPlanInsertWithRows, EmptyWhenNotInsertValues) {
    const std::vector<std::size_t> rows = {0};
    EXPECT_EQ(insert_with_rows("SELECT 1", rows), "");
    EXPECT_EQ(insert_with_rows("INSERT INTO accounts SELECT 1", rows), "");
    EXPECT_EQ(insert_with_rows("INSERT INTO accounts VALUES (", rows), "");
    const std::vector<std::size_t> outside = {5};
    EXPECT_EQ(insert_with_rows("INSERT INTO accounts VALUES (1)", outside), "");
    EXPECT_EQ(insert_with_rows("INSERT INTO accounts VALUES (1)", {}), "");
}

}  // namespace
}  // namespace pgrouter::sql
