// tests/unit/sql/classify_test.cpp — classify() and may_affect_session() through the real
// libpg_query: statement kinds, session effects, settings with their replay text, parse errors.
#include "pgrouter/sql/classify.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgrouter::sql {
namespace {

using K = StatementKind;

SettingChange set(std::string name, std::string replay) {
    return {SettingAction::Set, std::move(name), std::move(replay)};
}
SettingChange reset(std::string name) {
    return {SettingAction::Reset, std::move(name), {}};
}
SettingChange reset_all() {
    return {SettingAction::ResetAll, {}, {}};
}

constexpr std::uint32_t kAuth = kSetsParameter | kSessionAuthorization;

struct Case {
    std::string sql;
    std::vector<K> kinds;
    std::uint32_t effects = kNoEffect;
    std::vector<SettingChange> settings;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << '"' << c.sql << '"';
}

// One row per rule; the effects and settings columns are the whole expected answer.
const std::vector<Case> kCases = {
    // Session settings and their replay text.
    {"SET search_path = a,b",
     {K::Set},
     kSetsParameter,
     {set("search_path", "SET search_path = a,b")}},
    {"SET search_path TO 'a'",
     {K::Set},
     kSetsParameter,
     {set("search_path", "SET search_path TO 'a'")}},
    {"set Search_Path to a",
     {K::Set},
     kSetsParameter,
     {set("search_path", "set Search_Path to a")}},
    {"SET SESSION search_path = x",
     {K::Set},
     kSetsParameter,
     {set("search_path", "SET SESSION search_path = x")}},
    {"SET TIME ZONE 'UTC'", {K::Set}, kSetsParameter, {set("timezone", "SET TIME ZONE 'UTC'")}},
    {"SET NAMES 'UTF8'", {K::Set}, kSetsParameter, {set("client_encoding", "SET NAMES 'UTF8'")}},
    {"SET search_path FROM CURRENT",
     {K::Set},
     kSetsParameter,
     {set("search_path", "SET search_path FROM CURRENT")}},
    {"SET application_name = $$my app$$",
     {K::Set},
     kSetsParameter,
     {set("application_name", "SET application_name = $$my app$$")}},
    {"  /* lead */ SET work_mem = '64MB' -- trailing",
     {K::Set},
     kSetsParameter,
     {set("work_mem", "SET work_mem = '64MB'")}},
    {"SET search_path = a,\n  b -- why\n",
     {K::Set},
     kSetsParameter,
     {set("search_path", "SET search_path = a,\n  b")}},
    {"SET a.b = 'x;y'; RESET a.b",
     {K::Set, K::Reset},
     kSetsParameter,
     {set("a.b", "SET a.b = 'x;y'"), reset("a.b")}},
    {"SET statement_timeout TO DEFAULT", {K::Set}, kSetsParameter, {reset("statement_timeout")}},
    {"RESET search_path", {K::Reset}, kSetsParameter, {reset("search_path")}},
    {"RESET TIME ZONE", {K::Reset}, kSetsParameter, {reset("timezone")}},
    {"RESET ALL", {K::Reset}, kSetsParameter, {reset_all()}},
    {"DISCARD ALL",
     {K::Discard},
     kDiscardAll | kSetsParameter,
     {reset_all(), reset("session_authorization"), reset("role")}},
    {"DISCARD TEMP", {K::Discard}, kNoEffect, {}},
    {"DISCARD PLANS", {K::Discard}, kNoEffect, {}},
    {"SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
     {K::Set},
     kSetsParameter,
     {set("session characteristics",
          "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE")}},
    {"SET ROLE app", {K::Set}, kAuth, {set("role", "SET ROLE app")}},
    {"RESET ROLE", {K::Reset}, kAuth, {reset("role")}},
    {"SET SESSION AUTHORIZATION 'u'",
     {K::Set},
     kAuth,
     {set("session_authorization", "SET SESSION AUTHORIZATION 'u'"), reset("role")}},
    {"SET SESSION AUTHORIZATION DEFAULT",
     {K::Set},
     kAuth,
     {reset("session_authorization"), reset("role")}},
    // Not session-level.
    {"SET LOCAL search_path = a", {K::Set}, kNoEffect, {}},
    {"SET LOCAL statement_timeout TO DEFAULT", {K::Set}, kNoEffect, {}},
    {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", {K::Set}, kNoEffect, {}},
    {"SET transaction_isolation = 'serializable'", {K::Set}, kNoEffect, {}},
    {"ALTER ROLE r SET search_path = a", {K::Ddl}, kNoEffect, {}},
    {"ALTER DATABASE d SET work_mem = '1MB'", {K::Ddl}, kNoEffect, {}},
    {"CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = a AS 'SELECT 1'",
     {K::Ddl},
     kNoEffect,
     {}},
    {"UPDATE t SET search_path = 1", {K::Update}, kNoEffect, {}},
    // Multi-statement strings.
    {"SET a = 1; SELECT 1; RESET b",
     {K::Set, K::Select, K::Reset},
     kSetsParameter,
     {set("a", "SET a = 1"), reset("b")}},
    {"SET a = 1;SET b = 2",
     {K::Set, K::Set},
     kSetsParameter,
     {set("a", "SET a = 1"), set("b", "SET b = 2")}},
    {"BEGIN; SET LOCAL a = 1; SET b = 2; COMMIT",
     {K::Begin, K::Set, K::Set, K::Commit},
     kSetsParameter,
     {set("b", "SET b = 2")}},
    {"SELECT 1; ; SELECT 2", {K::Select, K::Select}, kNoEffect, {}},
    // LISTEN / NOTIFY.
    {"LISTEN ch", {K::Listen}, kListen, {}},
    {"UNLISTEN *", {K::Unlisten}, kNoEffect, {}},
    {"NOTIFY ch, 'x'", {K::Notify}, kNoEffect, {}},
    // Advisory locks anywhere in the tree; transaction-scoped ones do not count.
    {"SELECT pg_advisory_lock(1)", {K::Select}, kAdvisoryLock, {}},
    {"SELECT pg_catalog.pg_try_advisory_lock_shared(1, 2)", {K::Select}, kAdvisoryLock, {}},
    {"select PG_ADVISORY_LOCK_SHARED(1)", {K::Select}, kAdvisoryLock, {}},
    {"SELECT pg_try_advisory_lock(id) FROM t", {K::Select}, kAdvisoryLock, {}},
    {"SELECT * FROM t WHERE EXISTS (SELECT pg_advisory_lock_shared(t.id))",
     {K::Select},
     kAdvisoryLock,
     {}},
    {"WITH x AS (SELECT pg_advisory_lock(1)) SELECT * FROM x", {K::Select}, kAdvisoryLock, {}},
    {"UPDATE t SET a = 1 WHERE pg_try_advisory_lock(id)", {K::Update}, kAdvisoryLock, {}},
    {"SELECT U&\"\\0070g_advisory_lock\"(1)", {K::Select}, kAdvisoryLock, {}},
    {"SELECT pg_advisory_xact_lock(1)", {K::Select}, kNoEffect, {}},
    {"SELECT pg_try_advisory_xact_lock_shared(1)", {K::Select}, kNoEffect, {}},
    {"SELECT pg_advisory_unlock(1)", {K::Select}, kNoEffect, {}},
    // Temporary objects.
    {"CREATE TEMP TABLE t (a int)", {K::Ddl}, kTempTable, {}},
    {"CREATE TEMPORARY TABLE t (a int) ON COMMIT DELETE ROWS", {K::Ddl}, kTempTable, {}},
    {"CREATE TEMP TABLE t (a int) ON COMMIT DROP", {K::Ddl}, kNoEffect, {}},
    {"CREATE TABLE t (a int)", {K::Ddl}, kNoEffect, {}},
    {"CREATE TABLE pg_temp.t (a int)", {K::Ddl}, kTempTable, {}},
    {"CREATE TEMP VIEW v AS SELECT 1", {K::Ddl}, kTempTable, {}},
    {"CREATE TEMP SEQUENCE s", {K::Ddl}, kTempTable, {}},
    {"CREATE TEMP TABLE t AS SELECT 1", {K::Ddl}, kTempTable, {}},
    {"CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
     {K::Ddl},
     kTempTable,
     {}},
    {"SELECT 1 INTO TEMP t", {K::Ddl}, kTempTable, {}},
    {"SELECT 1 INTO pg_temp.t", {K::Ddl}, kTempTable, {}},
    {"SELECT 1 INTO t", {K::Ddl}, kNoEffect, {}},
    {"SELECT 1 INTO TEMP t UNION SELECT 2", {K::Ddl}, kTempTable, {}},
    // PostgreSQL rejects INTO below the top level, so these create nothing.
    {"COPY (SELECT 1 INTO TEMP t) TO STDOUT", {K::Copy}, kNoEffect, {}},
    {"INSERT INTO x SELECT 1 INTO TEMP t", {K::Insert}, kNoEffect, {}},
    {"SELECT (SELECT 1 INTO TEMP t)", {K::Select}, kNoEffect, {}},
    {"EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1", {K::Utility}, kTempTable, {}},
    // Cursors and prepared statements.
    {"DECLARE c CURSOR WITH HOLD FOR SELECT 1", {K::DeclareCursor}, kHoldCursor, {}},
    {"DECLARE c CURSOR FOR SELECT 1", {K::DeclareCursor}, kNoEffect, {}},
    {"PREPARE p(int) AS SELECT $1", {K::Prepare}, kPreparedStatement, {}},
    {"EXECUTE p(1)", {K::Execute}, kNoEffect, {}},
    {"DEALLOCATE p", {K::Deallocate}, kNoEffect, {}},
    {"DEALLOCATE ALL", {K::Deallocate}, kNoEffect, {}},
    {"CLOSE ALL", {K::Utility}, kNoEffect, {}},
    {"FETCH 10 FROM c", {K::Utility}, kNoEffect, {}},
    // Transactions.
    {"BEGIN", {K::Begin}, kNoEffect, {}},
    {"START TRANSACTION READ ONLY", {K::Begin}, kNoEffect, {}},
    {"COMMIT", {K::Commit}, kNoEffect, {}},
    {"END", {K::Commit}, kNoEffect, {}},
    {"ROLLBACK", {K::Rollback}, kNoEffect, {}},
    {"ABORT", {K::Rollback}, kNoEffect, {}},
    {"SAVEPOINT s", {K::Savepoint}, kNoEffect, {}},
    {"RELEASE SAVEPOINT s", {K::Savepoint}, kNoEffect, {}},
    {"ROLLBACK TO SAVEPOINT s", {K::Savepoint}, kNoEffect, {}},
    {"PREPARE TRANSACTION 'x'", {K::Utility}, kNoEffect, {}},
    // Everything else.
    {"SHOW search_path", {K::Show}, kNoEffect, {}},
    {"SELECT 1", {K::Select}, kNoEffect, {}},
    {"VALUES (1), (2)", {K::Select}, kNoEffect, {}},
    {"INSERT INTO t VALUES (1)", {K::Insert}, kNoEffect, {}},
    {"UPDATE t SET a = 1", {K::Update}, kNoEffect, {}},
    {"DELETE FROM t", {K::Delete}, kNoEffect, {}},
    {"MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", {K::Merge}, kNoEffect, {}},
    {"COPY t FROM STDIN", {K::Copy}, kNoEffect, {}},
    {"ALTER TABLE t ADD COLUMN b int", {K::Ddl}, kNoEffect, {}},
    {"TRUNCATE t", {K::Ddl}, kNoEffect, {}},
    {"DROP TABLE t", {K::Ddl}, kNoEffect, {}},
    {"VACUUM t", {K::Utility}, kNoEffect, {}},
    {"EXPLAIN SELECT 1", {K::Utility}, kNoEffect, {}},
    {"DO $$BEGIN NULL; END$$", {K::Utility}, kNoEffect, {}},
    {"CALL p()", {K::Utility}, kNoEffect, {}},
    {"LOCK TABLE t", {K::Utility}, kNoEffect, {}},
    {"", {K::Empty}, kNoEffect, {}},
    {"  -- only a comment", {K::Empty}, kNoEffect, {}},
    {";", {K::Empty}, kNoEffect, {}},
};

class ClassifyTable : public testing::TestWithParam<Case> {};

TEST_P(ClassifyTable, MatchesExpectedKindsEffectsAndSettings) {
    const Case& c = GetParam();
    Classification result = classify(c.sql);
    ASSERT_FALSE(result.parse_error);
    std::vector<K> kinds;
    std::uint32_t effects = kNoEffect;
    for (const Statement& statement : result.statements) {
        kinds.push_back(statement.kind);
        effects |= statement.effects;
    }
    EXPECT_EQ(kinds, c.kinds);
    EXPECT_EQ(result.effects, c.effects);
    EXPECT_EQ(effects, result.effects);
    EXPECT_EQ(result.settings, c.settings);
}

// The pre-filter may only skip the parser when classify() would find nothing.
TEST_P(ClassifyTable, PreFilterNeverHidesAnEffect) {
    const Case& c = GetParam();
    if (c.effects != kNoEffect || !c.settings.empty()) {
        EXPECT_TRUE(may_affect_session(c.sql));
    }
}

INSTANTIATE_TEST_SUITE_P(Statements, ClassifyTable, testing::ValuesIn(kCases));

struct NameCase {
    std::string sql;
    std::string name;
    std::uint32_t clears = kNoEffect;
};

TEST(Classify, NamesObjectsAndReportsWhatIsCleared) {
    const std::vector<NameCase> cases = {
        {"LISTEN ch", "ch", kNoEffect},
        {"UNLISTEN ch", "ch", kNoEffect},
        {"UNLISTEN *", "", kListen},
        {"NOTIFY ch", "ch", kNoEffect},
        {"PREPARE p AS SELECT 1", "p", kNoEffect},
        {"EXECUTE p", "p", kNoEffect},
        {"DEALLOCATE PREPARE p", "p", kNoEffect},
        {"DEALLOCATE ALL", "", kPreparedStatement},
        {"DECLARE c CURSOR FOR SELECT 1", "c", kNoEffect},
        {"FETCH 10 FROM c", "c", kNoEffect},
        {"CLOSE c", "c", kNoEffect},
        {"CLOSE ALL", "", kHoldCursor},
        {"DISCARD TEMP", "", kTempTable},
        {"SELECT pg_advisory_unlock_all()", "", kAdvisoryLock},
        {"DISCARD ALL", "",
         kSetsParameter | kListen | kAdvisoryLock | kTempTable | kHoldCursor | kPreparedStatement |
             kSessionAuthorization},
        {"SELECT 1", "", kNoEffect},
    };
    for (const NameCase& c : cases) {
        Classification result = classify(c.sql);
        ASSERT_EQ(result.statements.size(), 1u) << c.sql;
        EXPECT_EQ(result.statements[0].name, c.name) << c.sql;
        EXPECT_EQ(result.statements[0].clears, c.clears) << c.sql;
    }
}

TEST(Classify, ReadOnlyOnlyForPlainSelects) {
    const std::vector<std::pair<std::string, bool>> cases = {
        {"SELECT 1", true},
        {"SELECT * FROM t WHERE a = $1", true},
        {"VALUES (1)", true},
        {"TABLE t", true},
        {"WITH x AS (SELECT 1) SELECT * FROM x", true},
        {"SELECT 1 UNION SELECT 2", true},
        {"SELECT now(), count(*), lower(name) FROM t GROUP BY name", true},
        {"SELECT * FROM t FOR UPDATE", false},
        {"SELECT * FROM (SELECT * FROM t FOR SHARE) s", false},
        {"WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", false},
        {"WITH x AS (DELETE FROM t RETURNING *) SELECT 1", false},
        {"SELECT nextval('s')", false},
        {"SELECT setval('s', 1)", false},
        {"SELECT * FROM t WHERE id = currval('s')", false},
        {"SELECT pg_advisory_xact_lock(1)", false},
        {"SELECT set_config('a.b', 'c', false)", false},
        {"SELECT lo_create(0)", false},
        {"SELECT 1 INTO t", false},
        {"INSERT INTO t VALUES (1)", false},
        {"SHOW search_path", false},
        {"DECLARE c CURSOR FOR SELECT 1", false},
    };
    for (const auto& [sql, read_only] : cases) {
        Classification result = classify(sql);
        ASSERT_EQ(result.statements.size(), 1u) << sql;
        EXPECT_EQ(result.statements[0].read_only, read_only) << sql;
    }
}

TEST(Classify, SyntaxErrorIsAResultNotAnException) {
    for (const char* sql : {"SELEC 1", "SET search_path =", "SELECT 'unterminated",
                            "SET a = 1; SELEC 2", "/* open comment", "SELECT (((1"}) {
        Classification result = classify(sql);
        EXPECT_TRUE(result.parse_error) << sql;
        EXPECT_FALSE(result.over_limit) << sql;
        EXPECT_TRUE(result.statements.empty()) << sql;
        EXPECT_TRUE(result.settings.empty()) << sql;
        EXPECT_EQ(result.effects, kNoEffect) << sql;
    }
}

TEST(Classify, StopsAtNulByte) {
    const std::string sql("SET a = 1\0SET b = 2", 19);
    Classification result = classify(sql);
    ASSERT_FALSE(result.parse_error);
    EXPECT_EQ(result.settings, (std::vector<SettingChange>{set("a", "SET a = 1")}));
}

TEST(MayAffectSession, FalseForPlainTraffic) {
    for (const char* sql : {"SELECT 1",
                            "  select * from t",
                            "/* c */ INSERT INTO t VALUES (1)",
                            "-- x\nUPDATE t SET a=1",
                            "",
                            "   ",
                            ";",
                            "SELECT 1; SELECT 2",
                            "BEGIN; UPDATE t SET x = 1; COMMIT",
                            "UPDATE t SET search_path = 1",
                            "WITH x AS (SELECT 1) SELECT * FROM x",
                            "SELECT 'set a = 1; listen x'",
                            "SELECT \"into\" FROM temp_t",
                            "INSERT INTO attempts VALUES (1)",
                            "select 1 /* ; set x = 1 */",
                            "SELECT 1 -- ; SET x = 1",
                            "SELECT $1::int",
                            "DELETE FROM t WHERE a IN ($1, $2)",
                            "SHOW search_path",
                            "SELECT pg_notify('c', 'x')"}) {
        EXPECT_FALSE(may_affect_session(sql)) << sql;
    }
    EXPECT_FALSE(may_affect_session(std::string_view("SELECT 1\0SET a = 1", 18)));
}

TEST(MayAffectSession, TrueWhenAStatementMayChangeTheSession) {
    for (const char* sql : {"SET x = 1",
                            "select 1; set x = 1",
                            "/* ; select */ SET x = 1",
                            "/* /* nested */ ; select */ SET x = 1",
                            "-- ; select\nSET x = 1",
                            "RESET ALL",
                            "DISCARD ALL",
                            "LISTEN x",
                            "SELECT pg_advisory_lock(1)",
                            "SELECT \"pg_advisory_lock\"(1)",
                            "SELECT U&\"\\0070g_advisory_lock\"(1)",
                            "SELECT 1 INTO TEMP t",
                            "SELECT 1 into pg_temp.t",
                            "CREATE TEMP TABLE t ()",
                            "SELECT 'a\\' ; SET x = 1; --'",
                            "SELECT $$; SET x = 1; $$",
                            "(SELECT 1)",
                            "EXECUTE p",
                            "DEALLOCATE p",
                            "PREPARE p AS SELECT 1",
                            "selectx 1",
                            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
                            "EXPLAIN ANALYZE SELECT 1"}) {
        EXPECT_TRUE(may_affect_session(sql)) << sql;
    }
}

}  // namespace
}  // namespace pgrouter::sql
