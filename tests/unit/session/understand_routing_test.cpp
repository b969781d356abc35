// Unit tests for the routing facts understand() works out when a database has replicas: reads,
// writes and why, transactions, hints, prepared statements and the functions that write.
#include <gtest/gtest.h>

#include <deque>
#include <unordered_set>

#include "pgrouter/session/understand.hpp"
#include "pgrouter/sql/classify.hpp"
#include "support/bytes.hpp"

namespace pgrouter::session {
namespace {

using routing::Access;
using routing::WriteCause;
using test::be16;
using test::Buf;
using test::cstr;
using test::msg;

class UnderstandRouting : public ::testing::Test {
protected:
    Request query(std::string_view text) { return run(msg('Q', cstr(text))); }
    Request parse(std::string_view name, std::string_view text) {
        return run(msg('P', cstr(name) + cstr(text) + be16(0)));
    }
    Request run(Buf bytes) {
        const Buf& kept = kept_.emplace_back(std::move(bytes));
        RoutingContext context;
        context.enabled = true;
        context.write_functions = catalogue_known_ ? &write_functions_ : nullptr;
        context.builtins_trusted = catalogue_known_;
        return understand(wire::Frame{static_cast<char>(kept.at(0)), kept}, false, statements_,
                          true, cache_, context);
    }

    std::deque<Buf> kept_;
    ClientStatements statements_;
    sql::StatementCache cache_{64};
    std::unordered_set<std::string> write_functions_{"bump_counter"};
    bool catalogue_known_ = true;
};

TEST_F(UnderstandRouting, PlainSelectsAreReadsWithoutTheParser) {
    Request r = query("SELECT abalance FROM pgbench_accounts WHERE aid = 48213;");
    EXPECT_EQ(r.route.access, Access::Read);
    EXPECT_EQ(r.classification, nullptr);
    EXPECT_FALSE(r.may_modify);
}

TEST_F(UnderstandRouting, WritesAndWhy) {
    struct Case {
        const char* text;
        WriteCause cause;
    };
    for (const Case& c : {
             Case{"INSERT INTO t VALUES (1)", WriteCause::Statement},
             Case{"SELECT * FROM t FOR UPDATE", WriteCause::LockingClause},
             Case{"SELECT * FROM t FOR NO KEY UPDATE", WriteCause::LockingClause},
             Case{"select nextval('s')", WriteCause::WriteFunction},
             Case{"SELECT bump_counter()", WriteCause::WriteFunction},
             Case{"WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", WriteCause::Statement},
             Case{"SELECT 1 INTO newtable", WriteCause::Statement},
             Case{"SELECT 1; DELETE FROM t", WriteCause::Statement},
             Case{"LISTEN jobs", WriteCause::SessionState},
         }) {
        Request r = query(c.text);
        EXPECT_EQ(r.route.access, Access::Write) << c.text;
        EXPECT_EQ(r.route.cause, c.cause) << c.text;
        EXPECT_TRUE(r.may_modify) << c.text;
    }
}

TEST_F(UnderstandRouting, ReadsThatLookLikeWrites) {
    for (const char* text : {"SELECT 'insert into t' /* delete from t */",
                             "select count(*) from t -- update t set a = 1", "SHOW search_path",
                             "EXPLAIN SELECT * FROM t", "VALUES (1), (2)",
                             "SELECT stable_fn()"}) {
        Request r = query(text);
        EXPECT_EQ(r.route.access, Access::Read) << text;
        EXPECT_FALSE(r.may_modify) << text;
    }
}

TEST_F(UnderstandRouting, UntilTheCatalogueIsReadAnyFunctionMayWrite) {
    catalogue_known_ = false;
    EXPECT_EQ(query("SELECT stable_fn()").route.access, Access::Write);
    EXPECT_EQ(query("SELECT 1").route.access, Access::Read);
}

TEST_F(UnderstandRouting, Transactions) {
    Request begin = query("BEGIN");
    EXPECT_EQ(begin.route.access, Access::Transaction);
    EXPECT_TRUE(begin.begin);
    EXPECT_FALSE(begin.may_modify);
    Request read_only = query("START TRANSACTION READ ONLY");
    EXPECT_EQ(read_only.route.access, Access::ReadOnlyTransaction);
    EXPECT_FALSE(read_only.begin);
    EXPECT_TRUE(query("SET TRANSACTION READ ONLY").sets_read_only);
    EXPECT_TRUE(query("COMMIT").ends_tx);
    EXPECT_TRUE(query("rollback;").ends_tx);
    EXPECT_FALSE(query("COMMIT AND CHAIN").ends_tx);
    EXPECT_FALSE(query("SET search_path = a").may_modify);
}

TEST_F(UnderstandRouting, Hints) {
    Request primary = query("/* pgrouter: primary */ SELECT 1");
    EXPECT_EQ(primary.route.hint, routing::Hint::Primary);
    Request replica = query("/* pgrouter: replica, max_lag_ms=100, key=user:7 */ SELECT 1");
    EXPECT_EQ(replica.route.hint, routing::Hint::Replica);
    EXPECT_EQ(replica.route.max_lag_ms, 100u);
    EXPECT_EQ(replica.consistency_key, "user:7");
    EXPECT_EQ(query("SELECT '/* pgrouter: replica */'").route.hint, routing::Hint::None);
}

TEST_F(UnderstandRouting, PreparedStatementsRouteByTheirStatement) {
    statements_.add("r", make_statement(parse("r", "SELECT * FROM t WHERE id = $1")));
    statements_.add("w", make_statement(parse("w", "UPDATE t SET a = 1 WHERE id = $1")));
    Request bind_read = run(msg('B', cstr("") + cstr("r") + be16(0) + be16(0) + be16(0)));
    EXPECT_EQ(bind_read.route.access, Access::Read);
    EXPECT_FALSE(bind_read.may_modify);
    Request bind_write = run(msg('B', cstr("") + cstr("w") + be16(0) + be16(0) + be16(0)));
    EXPECT_EQ(bind_write.route.access, Access::Write);
    EXPECT_TRUE(bind_write.may_modify);
    // The unnamed statement may be anything: to the primary.
    Request unnamed = run(msg('B', cstr("") + cstr("") + be16(0) + be16(0) + be16(0)));
    EXPECT_EQ(unnamed.route.access, Access::Write);
    // Execute and Sync have no statement of their own.
    EXPECT_TRUE(run(msg('S', "")).neutral);
}

}  // namespace
}  // namespace pgrouter::session
