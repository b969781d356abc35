// tests/unit/sql/read_view_test.cpp — classify()'s routing view: which statements a replica can
// answer (Statement::read and its cause), the functions each one calls, READ ONLY transactions.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::sql {
namespace {

using C = NotReadCause;

Statement only(const std::string& sql) {
    Classification result = classify(sql);
    EXPECT_FALSE(result.parse_error) << sql;
    EXPECT_EQ(result.statements.size(), 1u) << sql;
    return result.statements.empty() ? Statement{} : result.statements[0];
}

TEST(ReadView, EveryRuleGivesItsCause) {
    const std::vector<std::pair<std::string, C>> cases = {
        // Reads.
        {"SELECT 1", C::None},
        {"select abalance from pgbench_accounts where aid = 48213;", C::None},
        {"VALUES (1), (2)", C::None},
        {"TABLE t", C::None},
        {"(SELECT 1) UNION ALL (SELECT 2)", C::None},
        {"WITH x AS (SELECT 1) SELECT * FROM x", C::None},
        {"WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n + 1 FROM r WHERE n < 3) TABLE r",
         C::None},
        {"SELECT * FROM t WHERE name = 'insert into x; delete from y'", C::None},
        {"SELECT $$ update t set a = 1 $$", C::None},
        {"SELECT my_volatile_fn()", C::None},  // user functions: the caller checks `functions`
        {"SHOW search_path", C::None},
        {"SHOW ALL", C::None},
        {"EXPLAIN SELECT * FROM t", C::None},
        {"EXPLAIN ANALYZE SELECT * FROM t", C::None},
        {"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM t", C::None},
        // Statements that are not queries.
        {"INSERT INTO t VALUES (1)", C::NotSelect},
        {"UPDATE t SET a = 1", C::NotSelect},
        {"DELETE FROM t", C::NotSelect},
        {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", C::NotSelect},
        {"COPY t TO STDOUT", C::NotSelect},
        {"BEGIN", C::NotSelect},
        {"BEGIN READ ONLY", C::NotSelect},
        {"COMMIT", C::NotSelect},
        {"SET search_path = a", C::NotSelect},
        {"DECLARE c CURSOR FOR SELECT 1", C::NotSelect},
        {"FETCH 10 FROM c", C::NotSelect},
        {"EXECUTE p(1)", C::NotSelect},
        {"CALL p()", C::NotSelect},
        {"DO $$ BEGIN END $$", C::NotSelect},
        {"LOCK TABLE t", C::NotSelect},
        {"CREATE TABLE x AS SELECT 1", C::NotSelect},
        {"REFRESH MATERIALIZED VIEW v", C::NotSelect},
        {"NOTIFY c", C::NotSelect},
        // EXPLAIN follows the statement it explains, with or without ANALYZE.
        {"EXPLAIN ANALYZE DELETE FROM t", C::NotSelect},
        {"EXPLAIN DELETE FROM t", C::NotSelect},
        {"EXPLAIN (ANALYZE false) INSERT INTO t VALUES (1)", C::NotSelect},
        {"EXPLAIN ANALYZE SELECT * FROM t FOR UPDATE", C::LockingClause},
        {"EXPLAIN ANALYZE SELECT nextval('s')", C::WritingFunction},
        {"EXPLAIN EXECUTE p", C::NotSelect},
        // SELECT INTO.
        {"SELECT 1 INTO t", C::Into},
        {"SELECT * INTO TEMP t FROM s", C::Into},
        {"SELECT 1 INTO t UNION SELECT 2", C::Into},
        // Data-modifying CTEs, at any depth.
        {"WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", C::WritingCte},
        {"WITH x AS (INSERT INTO t VALUES (1) RETURNING id) SELECT 1", C::WritingCte},
        {"WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT count(*) FROM x", C::WritingCte},
        {"SELECT * FROM (WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d) s", C::WritingCte},
        {"WITH a AS (SELECT 1), b AS (DELETE FROM t) SELECT * FROM a", C::WritingCte},
        // Locking clauses, in subqueries too.
        {"SELECT * FROM t FOR UPDATE", C::LockingClause},
        {"SELECT * FROM t FOR NO KEY UPDATE", C::LockingClause},
        {"SELECT * FROM t FOR SHARE", C::LockingClause},
        {"SELECT * FROM t FOR KEY SHARE SKIP LOCKED", C::LockingClause},
        {"SELECT * FROM t FOR UPDATE OF t NOWAIT", C::LockingClause},
        {"SELECT * FROM (SELECT * FROM t FOR SHARE) s", C::LockingClause},
        {"SELECT (SELECT a FROM t LIMIT 1 FOR UPDATE)", C::LockingClause},
        // Built-ins that write or need the primary, wherever they are called.
        {"SELECT nextval('s')", C::WritingFunction},
        {"SELECT NEXTVAL('s')", C::WritingFunction},
        {"SELECT pg_catalog.nextval('s')", C::WritingFunction},
        {"SELECT setval('s', 1)", C::WritingFunction},
        {"SELECT currval('s')", C::WritingFunction},
        {"SELECT lastval()", C::WritingFunction},
        {"SELECT pg_advisory_lock(1)", C::WritingFunction},
        {"SELECT pg_advisory_xact_lock_shared(1)", C::WritingFunction},
        {"SELECT pg_try_advisory_lock(1)", C::WritingFunction},
        {"SELECT pg_advisory_unlock(1)", C::WritingFunction},
        {"SELECT pg_advisory_unlock_all()", C::WritingFunction},
        {"SELECT pg_notify('c', 'x')", C::WritingFunction},
        {"SELECT set_config('a.b', 'c', true)", C::WritingFunction},
        {"SELECT txid_current()", C::WritingFunction},
        {"SELECT pg_current_xact_id()", C::WritingFunction},
        {"SELECT lo_create(0)", C::WritingFunction},
        {"SELECT lo_import('/tmp/x')", C::WritingFunction},
        {"SELECT lo_unlink(1)", C::WritingFunction},
        {"SELECT lo_put(1, 0, 'x')", C::WritingFunction},
        {"SELECT lo_from_bytea(0, 'x')", C::WritingFunction},
        {"SELECT lowrite(0, 'x')", C::WritingFunction},
        {"SELECT pg_logical_emit_message(true, 'p', 'x')", C::WritingFunction},
        {"SELECT pg_create_physical_replication_slot('s')", C::WritingFunction},
        {"SELECT pg_create_logical_replication_slot('s', 'pgoutput')", C::WritingFunction},
        {"SELECT pg_drop_replication_slot('s')", C::WritingFunction},
        {"SELECT * FROM pg_logical_slot_get_changes('s', NULL, NULL)", C::WritingFunction},
        {"SELECT pg_switch_wal()", C::WritingFunction},
        {"SELECT pg_current_wal_lsn()", C::WritingFunction},
        {"SELECT pg_stat_reset()", C::WritingFunction},
        {"SELECT pg_terminate_backend(1)", C::WritingFunction},
        {"SELECT * FROM t WHERE id IN (SELECT nextval('s'))", C::WritingFunction},
        {"WITH x AS (SELECT nextval('s')) SELECT * FROM x", C::WritingFunction},
        {"SELECT * FROM generate_series(1, nextval('s'))", C::WritingFunction},
        // The cause order: INTO, then a writing CTE, then a lock, then a function.
        {"WITH x AS (DELETE FROM t) SELECT nextval('s') FROM x FOR UPDATE", C::WritingCte},
        {"SELECT nextval('s') FROM t FOR UPDATE", C::LockingClause},
    };
    for (const auto& [sql, cause] : cases) {
        Statement statement = only(sql);
        EXPECT_EQ(statement.not_read, cause) << sql << " : " << to_string(statement.not_read);
        EXPECT_EQ(statement.read, cause == C::None) << sql;
    }
}

TEST(ReadView, ReadOnlyIsUnchangedAndNeverWiderThanRead) {
    for (const char* sql : {"SELECT 1", "SHOW x", "EXPLAIN SELECT 1", "SELECT * FROM t FOR UPDATE",
                            "SELECT nextval('s')", "SELECT 1 INTO t", "INSERT INTO t VALUES (1)"}) {
        Statement statement = only(sql);
        if (statement.read_only) {
            EXPECT_TRUE(statement.read) << sql;
        }
    }
    EXPECT_FALSE(only("SHOW x").read_only);  // read_only keeps its SELECT-only meaning
    EXPECT_TRUE(only("SHOW x").read);
}

std::vector<std::string> sorted(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
}

TEST(ReadView, FunctionsAreEveryCallLowerCasedUnqualifiedOnce) {
    Statement statement = only(
        "WITH c AS (SELECT Audit.Log_Access(id) FROM t) "
        "SELECT count(*), \"MyFn\"(1), lower(x), COUNT(y), s.f() FROM c, LATERAL g(c.id) "
        "WHERE EXISTS (SELECT h() FROM u) AND z = ANY (SELECT k(1))");
    EXPECT_EQ(
        sorted(statement.functions),
        (std::vector<std::string>{"count", "f", "g", "h", "k", "log_access", "lower", "myfn"}));
    EXPECT_EQ(only("SELECT my_volatile_fn()").functions,
              (std::vector<std::string>{"my_volatile_fn"}));
    EXPECT_EQ(only("SELECT a FROM t").functions, std::vector<std::string>{});
    EXPECT_EQ(sorted(only("EXPLAIN ANALYZE SELECT f(g(1))").functions),
              (std::vector<std::string>{"f", "g"}));
    EXPECT_EQ(only("INSERT INTO t VALUES (f())").functions, (std::vector<std::string>{"f"}));
    EXPECT_EQ(only("SELECT 1 WHERE 'nextval(1)' = x").functions, std::vector<std::string>{});
    EXPECT_EQ(only("SHOW search_path").functions, std::vector<std::string>{});
}

TEST(ReadView, ClassificationUnionAndAllRead) {
    Classification two = classify("SELECT f(1); SHOW x; SELECT g(), f(2)");
    ASSERT_EQ(two.statements.size(), 3u);
    EXPECT_TRUE(two.all_read());
    EXPECT_EQ(sorted(two.functions), (std::vector<std::string>{"f", "g"}));

    EXPECT_FALSE(classify("SELECT 1; DELETE FROM t").all_read());
    EXPECT_FALSE(classify("SELECT 1; SELECT 2 FOR UPDATE").all_read());
    EXPECT_FALSE(classify("BEGIN; SELECT 1; COMMIT").all_read());
    EXPECT_FALSE(classify("").all_read());
    EXPECT_FALSE(classify(" -- nothing\n;").all_read());
    EXPECT_FALSE(classify("SELEC 1").all_read());
    EXPECT_TRUE(classify("select 1 /* ; delete from t */").all_read());
    EXPECT_TRUE(classify("SELECT 1;").all_read());
}

TEST(ReadView, ReadOnlyTransactions) {
    const std::vector<std::pair<std::string, bool>> cases = {
        {"BEGIN READ ONLY", true},
        {"BEGIN TRANSACTION READ ONLY", true},
        {"START TRANSACTION READ ONLY", true},
        {"START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", true},
        {"BEGIN READ ONLY, DEFERRABLE, ISOLATION LEVEL SERIALIZABLE", true},
        {"begin read write", false},
        {"BEGIN READ ONLY, READ WRITE", false},  // the last one wins, as in PostgreSQL
        {"BEGIN READ WRITE, READ ONLY", true},
        {"BEGIN", false},
        {"BEGIN ISOLATION LEVEL SERIALIZABLE", false},
        {"SET TRANSACTION READ ONLY", true},
        {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE", true},
        {"SET TRANSACTION READ WRITE", false},
        {"SET transaction_read_only = on", true},
        {"SET transaction_read_only TO true", true},
        {"SET LOCAL transaction_read_only = 'yes'", true},
        {"SET transaction_read_only = 1", true},
        {"SET transaction_read_only = off", false},
        {"SET transaction_read_only TO DEFAULT", false},
        {"SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", false},
        {"SET default_transaction_read_only = on", false},
        {"COMMIT", false},
        {"SELECT 1", false},
    };
    for (const auto& [sql, read_only] : cases) {
        EXPECT_EQ(only(sql).read_only_transaction, read_only) << sql;
    }
    EXPECT_EQ(only("BEGIN READ ONLY").kind, StatementKind::Begin);
    EXPECT_EQ(only("SET TRANSACTION READ ONLY").kind, StatementKind::Set);
    // Transaction-scoped settings stay out of the session settings, as before.
    EXPECT_TRUE(classify("SET transaction_read_only = on").settings.empty());
}

TEST(ReadView, PrimaryOnlyFunctionList) {
    for (const char* name :
         {"nextval", "setval", "currval", "lastval", "pg_advisory_lock", "pg_advisory_xact_lock",
          "pg_try_advisory_lock_shared", "pg_advisory_unlock_all", "pg_notify", "set_config",
          "txid_current", "lo_import", "lowrite", "pg_switch_wal", "pg_current_wal_lsn",
          "pg_drop_replication_slot", "pg_logical_slot_peek_changes"}) {
        EXPECT_TRUE(is_primary_only_function(name)) << name;
    }
    for (const char* name : {"count", "now", "lower", "pg_sleep", "random", "current_setting",
                             "pg_is_in_recovery", "pg_last_wal_replay_lsn", "my_fn"}) {
        EXPECT_FALSE(is_primary_only_function(name)) << name;
    }
}

TEST(ReadView, CauseTexts) {
    EXPECT_EQ(to_string(C::LockingClause), "SELECT ... FOR UPDATE/SHARE");
    for (C cause :
         {C::None, C::NotSelect, C::Into, C::WritingCte, C::LockingClause, C::WritingFunction}) {
        EXPECT_FALSE(to_string(cause).empty());
    }
}

}  // namespace
}  // namespace pgrouter::sql
