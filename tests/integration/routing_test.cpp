// tests/integration/routing_test.cpp — issue 7, routing over streaming replicas against a real
// primary and two real replicas: where reads go (both protocols, prepared statements, read_from,
// balance, per-database override), that every kind of write lands on the primary, transactions
// (primary, READ ONLY, by_first_statement, errors inside), trace notices, hints and
// SET pgrouter.route. The server that answered is always asked of the server itself.
// Read-your-writes and lag: routing_consistency_test.cpp; dead and stopped servers, promotion:
// routing_failover_test.cpp.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "support/extended_query.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/routing_support.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kPortQuery = "SELECT inet_server_port()";

std::unique_ptr<PgrouterProcess> start_router(const std::string& routing,
                                              RouterOptions options = {}) {
    options.with_replicas = true;
    // A session a bug left hanging must not hold the shutdown up for long.
    options.shutdown_timeout_ms = 3000;
    options.routing_yaml = "routing: " + routing + "\n";
    return std::make_unique<PgrouterProcess>(base_yaml(options));
}

// PQexecParams (Parse/Bind/Describe/Execute/Sync in one go, unnamed statement) with a deadline
// short enough that a hang costs seconds, not the suite's patience.
ExecResult exec_params_within(PgConn& conn, const std::string& sql,
                              const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const std::string& p : params) {
        values.push_back(p.c_str());
    }
    return collect(conn.raw(),
                   PQsendQueryParams(conn.raw(), sql.c_str(), static_cast<int>(values.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0) == 1,
                   seconds(5));
}

// Every test starts from replicas that stream and have replayed what the primary holds.
class Routing : public ::testing::Test {
protected:
    void SetUp() override { expect_replicas_caught_up(); }
};

// ---- 1. where reads go ----

TEST_F(Routing, SimpleProtocolReadsSpreadOverBothReplicas) {
    auto router = start_router("{read_from: replicas}");
    PgConn conn(router->conninfo("app", "app", "app"));
    expect_both_replicas_only(ports_of(conn, kPortQuery, 20), "simple protocol reads");
}

TEST_F(Routing, ExtendedProtocolReadsSpreadOverBothReplicas) {
    auto router = start_router("{read_from: replicas}");
    PgConn conn(router->conninfo("app", "app", "app"));
    PortCounts counts;
    for (int i = 0; i < 20; ++i) {
        const std::string sql = "SELECT inet_server_port(), $1::int";
        ++counts[port_in(exec_params_within(conn, sql, {std::to_string(i)}), sql)];
    }
    expect_both_replicas_only(counts, "PQexecParams reads");
}

TEST_F(Routing, NamedPreparedReadsSpreadOverBothReplicas) {
    auto router = start_router("{read_from: replicas}");
    PgConn conn(router->conninfo("app", "app", "app"));
    const ExecResult prepared = prepare(conn.raw(), "ports", "SELECT inet_server_port()");
    ASSERT_TRUE(prepared.ok) << outcome(prepared);
    PortCounts counts;
    for (int i = 0; i < 20; ++i) {
        ++counts[port_in(exec_prepared(conn.raw(), "ports"), "EXECUTE ports")];
    }
    expect_both_replicas_only(counts, "PQexecPrepared reads");
}

TEST_F(Routing, ReadFromAnyUsesAllThreeServers) {
    auto router = start_router("{read_from: any}");
    PgConn conn(router->conninfo("app", "app", "app"));
    const PortCounts counts = ports_of(conn, kPortQuery, 30);
    const Servers& s = servers();
    for (int port : {s.primary, s.replica1, s.replica2}) {
        EXPECT_GT(counts.count(port), 0u)
            << s.name(port) << " never answered with read_from: any; got " << describe(counts);
    }
    EXPECT_EQ(counts.size(), 3u) << describe(counts);
}

TEST_F(Routing, ReadFromPrimaryUsesOnlyThePrimary) {
    auto router = start_router("{read_from: primary}");
    PgConn conn(router->conninfo("app", "app", "app"));
    expect_only(ports_of(conn, kPortQuery, 12), servers().primary, "read_from: primary");
    PortCounts extended;
    for (int i = 0; i < 6; ++i) {
        ++extended[port_in(exec_params_within(conn, kPortQuery), kPortQuery)];
    }
    expect_only(extended, servers().primary, "read_from: primary, PQexecParams");
}

TEST_F(Routing, SessionPoolingKeepsEveryStatementOnThePrimary) {
    // One server connection for the whole session: a read first must not tie the session's
    // later writes to a replica.
    RouterOptions options;
    options.mode = "session";
    auto router = start_router("{read_from: replicas}", options);
    PgConn conn(router->conninfo("app", "app", "app"));
    expect_only(ports_of(conn, kPortQuery, 4), servers().primary, "session mode reads");
    conn.exec("CREATE TEMP TABLE session_mode_probe (id int)");
    conn.exec("INSERT INTO session_mode_probe VALUES (1)");
}

TEST_F(Routing, DatabaseRoutingOverridesTheGlobalBlock) {
    RouterOptions options;
    options.app_routing_yaml = "{read_from: primary}";
    auto router = start_router("{read_from: replicas}", options);
    PgConn app(router->conninfo("app", "app", "app"));
    PgConn app2(router->conninfo("app", "app", "app2"));
    expect_only(ports_of(app, kPortQuery, 10), servers().primary, "app (read_from: primary)");
    expect_both_replicas_only(ports_of(app2, kPortQuery, 10), "app2 (global read_from: replicas)");
}

TEST_F(Routing, LeastBusyAvoidsTheReplicaWithAnOpenTransaction) {
    auto router = start_router("{balance: least_busy}");
    PgConn reader(router->conninfo("app", "app", "app"));
    // Idle replicas: ties go round both.
    expect_both_replicas_only(ports_of(reader, kPortQuery, 10), "least_busy, idle replicas");
    PgConn holder(router->conninfo("app", "app", "app"));
    holder.exec("BEGIN READ ONLY");
    const int busy = port_in(holder.try_exec(kPortQuery), "held transaction");
    ASSERT_TRUE(servers().is_replica(busy)) << servers().name(busy);
    const int idle = busy == servers().replica1 ? servers().replica2 : servers().replica1;
    expect_only(ports_of(reader, kPortQuery, 10), idle,
                "least_busy while " + servers().name(busy) + " runs a transaction");
    holder.exec("COMMIT");
}

// ---- 2. every write lands on the primary ----

class RoutingWrites : public Routing {
protected:
    void SetUp() override {
        PgConn direct(direct_conninfo("app", "app", "app"));
        direct.exec("INSERT INTO " + table_.name() + " VALUES (1, 0), (2, 0), (3, 0)");
        direct.exec("CREATE SEQUENCE " + seq_);
        // Created before pgrouter starts: its start-up probe reads VOLATILE functions from pg_proc.
        direct.exec("CREATE FUNCTION " + volatile_fn_ +
                    "() RETURNS int VOLATILE LANGUAGE sql AS 'select inet_server_port()'");
        direct.exec("CREATE FUNCTION " + stable_fn_ +
                    "() RETURNS int STABLE LANGUAGE sql AS 'select inet_server_port()'");
        Routing::SetUp();  // the replicas have all of it
        router_ = start_router("{read_from: replicas, pin_after_write_ms: 0}");
        conn_ = std::make_unique<PgConn>(router_->conninfo("app", "app", "app"));
    }
    void TearDown() override {
        conn_.reset();
        router_.reset();
        PgConn direct(direct_conninfo("app", "app", "app"));
        direct.try_exec("DROP SEQUENCE IF EXISTS " + seq_ + "; DROP FUNCTION IF EXISTS " +
                        volatile_fn_ + "(); DROP FUNCTION IF EXISTS " + stable_fn_ + "()");
    }

    // `sql` returns inet_server_port() first; it must run on the primary without an error, and
    // the next plain read (pin_after_write_ms: 0) goes back to a replica.
    void expect_on_primary(const std::string& sql) {
        SCOPED_TRACE(sql);
        const ExecResult result = conn_->try_exec(sql);
        ASSERT_TRUE(result.ok) << "SQLSTATE " << result.sqlstate << ": " << result.message
                               << (result.sqlstate == "25006" ? "  <- sent to a replica" : "");
        EXPECT_EQ(servers().name(port_in(result, sql)), servers().name(servers().primary));
        const int next = port_in(conn_->try_exec(kPortQuery), kPortQuery);
        EXPECT_TRUE(servers().is_replica(next))
            << "the read after it went to " << servers().name(next);
    }
    void expect_on_replica(const std::string& sql) {
        SCOPED_TRACE(sql);
        const int port = port_in(conn_->try_exec(sql), sql);
        EXPECT_TRUE(servers().is_replica(port)) << "a read went to " << servers().name(port);
    }

    ScratchTable table_{"rt_writes", "id int, v int"};
    std::string seq_ = unique_name("rt_seq");
    std::string volatile_fn_ = unique_name("vol_port");
    std::string stable_fn_ = unique_name("stable_port");
    std::unique_ptr<PgrouterProcess> router_;
    std::unique_ptr<PgConn> conn_;
};

TEST_F(RoutingWrites, DmlReturningRunsOnThePrimary) {
    const std::string& t = table_.name();
    expect_on_primary("INSERT INTO " + t + " VALUES (10, 0) RETURNING inet_server_port()");
    expect_on_primary("UPDATE " + t + " SET v = v + 1 WHERE id = 1 RETURNING inet_server_port()");
    expect_on_primary("DELETE FROM " + t + " WHERE id = 3 RETURNING inet_server_port()");
    expect_on_primary("WITH x AS (INSERT INTO " + t +
                      " VALUES (11, 0) RETURNING 1) SELECT inet_server_port() FROM x");
    expect_on_primary("WITH x AS (UPDATE " + t +
                      " SET v = 5 WHERE id = 2 RETURNING 1) SELECT inet_server_port() FROM x");
}

TEST_F(RoutingWrites, WriteFunctionsAndLockingClausesRunOnThePrimary) {
    const std::string& t = table_.name();
    expect_on_primary("SELECT inet_server_port(), nextval('" + seq_ + "')");
    for (const char* clause : {"FOR UPDATE", "FOR SHARE", "FOR NO KEY UPDATE", "FOR KEY SHARE"}) {
        expect_on_primary("SELECT inet_server_port() FROM " + t + " WHERE id = 1 " + clause);
    }
    expect_on_primary("SELECT " + volatile_fn_ + "()");
    // A STABLE function is a read: the VOLATILE one above is routed for what it is, not for
    // being a user function.
    expect_on_replica("SELECT " + stable_fn_ + "()");
}

TEST_F(RoutingWrites, SelectIntoCreatesTheTableOnThePrimary) {
    const std::string created = unique_name("rt_into");
    const ExecResult result = conn_->try_exec("SELECT inet_server_port() AS port INTO " + created);
    ASSERT_TRUE(result.ok) << result.sqlstate << ": " << result.message;
    PgConn direct(direct_conninfo("app", "app", "app"));
    const ExecResult on_primary = direct.try_exec("SELECT port FROM " + created);
    ASSERT_TRUE(on_primary.ok) << "the table is not on the primary: " << on_primary.message;
    EXPECT_EQ(format_rows(on_primary.rows), std::to_string(servers().primary) + "\n");
    direct.try_exec("DROP TABLE IF EXISTS " + created);
}

TEST_F(RoutingWrites, AdvisoryLocksRunOnThePrimary) {
    expect_on_primary("SELECT inet_server_port(), pg_advisory_xact_lock(7001)");
    PgConn locker(router_->conninfo("app", "app", "app"));
    const ExecResult locked = locker.try_exec("SELECT inet_server_port(), pg_advisory_lock(7002)");
    EXPECT_EQ(port_in(locked, "pg_advisory_lock"), servers().primary);
    const ExecResult unlocked =
        locker.try_exec("SELECT inet_server_port(), pg_advisory_unlock(7002)");
    EXPECT_EQ(port_in(unlocked, "pg_advisory_unlock"), servers().primary);
    EXPECT_EQ(cell(unlocked, 0, 1), "t") << "the unlock ran where the lock is not held";
}

TEST_F(RoutingWrites, MultiStatementTextWithAWriteRunsOnThePrimary) {
    const std::string& t = table_.name();
    expect_on_primary("SELECT 1; INSERT INTO " + t + " VALUES (12, 0); SELECT inet_server_port()");
    expect_on_replica("SELECT 1; SELECT inet_server_port()");
}

TEST_F(RoutingWrites, WriteKeywordsInCommentsAndLiteralsStayReads) {
    expect_on_replica("SELECT inet_server_port(), 'insert into x' /* delete */");
    expect_on_replica("-- update t set v = 1\nSELECT inet_server_port() AS \"drop\"");
    expect_on_replica("SELECT inet_server_port(), $$ CREATE TABLE y () $$");
}

// ---- 3. transactions ----

void expect_same_replica(PgConn& conn, const std::string& begin, int statements) {
    SCOPED_TRACE(begin);
    conn.exec(begin);
    std::set<int> ports;
    for (int i = 0; i < statements; ++i) {
        ports.insert(port_in(conn.try_exec(kPortQuery), kPortQuery));
    }
    conn.exec("COMMIT");
    ASSERT_EQ(ports.size(), 1u) << "one transaction ran on several servers";
    EXPECT_TRUE(servers().is_replica(*ports.begin())) << servers().name(*ports.begin());
}

TEST_F(Routing, TransactionsRunOnThePrimaryEvenWhenTheyOnlyRead) {
    auto router = start_router("{transactions: primary, pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    for (const char* begin :
         {"BEGIN", "START TRANSACTION", "BEGIN ISOLATION LEVEL REPEATABLE READ"}) {
        SCOPED_TRACE(begin);
        conn.exec(begin);
        expect_only(ports_of(conn, kPortQuery, 3), servers().primary, begin);
        conn.exec("COMMIT");
    }
    // Outside a transaction, reads are back on the replicas.
    expect_both_replicas_only(ports_of(conn, kPortQuery, 6), "reads after the transactions");
}

TEST_F(Routing, ReadOnlyTransactionsRunOnOneReplica) {
    auto router = start_router("{transactions: primary, pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    for (const char* begin : {"BEGIN READ ONLY", "START TRANSACTION READ ONLY",
                              "BEGIN ISOLATION LEVEL REPEATABLE "
                              "READ, READ ONLY"}) {
        for (int i = 0; i < 2; ++i) {
            expect_same_replica(conn, begin, 3);
        }
    }
}

TEST_F(Routing, SetTransactionReadOnlyRunsOnAReplica) {
    auto router = start_router("{transactions: primary, pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    conn.exec("BEGIN");
    conn.exec("SET TRANSACTION READ ONLY");
    const ExecResult first = conn.try_exec(
        "SELECT inet_server_port(), current_setting("
        "'transaction_read_only')");
    const int port = port_in(first, "first read");
    EXPECT_TRUE(servers().is_replica(port)) << servers().name(port);
    EXPECT_EQ(cell(first, 0, 1), "on");
    EXPECT_EQ(port_in(conn.try_exec(kPortQuery), "second read"), port);
    conn.exec("COMMIT");
}

TEST_F(Routing, ByFirstStatementFollowsTheFirstStatement) {
    ScratchTable table("rt_tx", "id int");
    expect_replicas_caught_up();
    auto router = start_router("{transactions: by_first_statement, pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    for (int i = 0; i < 2; ++i) {
        expect_same_replica(conn, "BEGIN", 2);
    }

    conn.exec("BEGIN");
    const std::string insert =
        "INSERT INTO " + table.name() + " VALUES (1) RETURNING inet_server_port()";
    EXPECT_EQ(servers().name(port_in(conn.try_exec(insert), insert)),
              servers().name(servers().primary));
    EXPECT_EQ(servers().name(port_in(conn.try_exec(kPortQuery), "read after the insert")),
              servers().name(servers().primary));
    conn.exec("COMMIT");

    // Begun with a read, so on a replica: a write there fails as PostgreSQL says it does.
    conn.exec("BEGIN");
    const int port = port_in(conn.try_exec(kPortQuery), kPortQuery);
    EXPECT_TRUE(servers().is_replica(port)) << servers().name(port);
    const ExecResult write = conn.try_exec("INSERT INTO " + table.name() + " VALUES (2)");
    EXPECT_FALSE(write.ok) << "a write in a replica's transaction succeeded";
    EXPECT_EQ(write.sqlstate, "25006") << write.message;
    EXPECT_EQ(conn.try_exec("SELECT 1").sqlstate, "25P02");
    conn.exec("ROLLBACK");
    EXPECT_TRUE(servers().is_replica(port_in(conn.try_exec(kPortQuery), "after ROLLBACK")));
}

TEST_F(Routing, EmptyTransactionsWork) {
    for (const char* mode : {"primary", "by_first_statement"}) {
        SCOPED_TRACE(mode);
        auto router = start_router(std::string("{transactions: ") + mode + "}");
        PgConn conn(router->conninfo("app", "app", "app"));
        conn.exec("BEGIN");
        conn.exec("COMMIT");
        conn.exec("BEGIN");
        conn.exec("ROLLBACK");
        conn.exec("BEGIN; COMMIT");
        EXPECT_EQ(conn.scalar("SELECT 7"), "7");
    }
}

TEST_F(Routing, FailedStatementAbortsTheTransactionLikePostgres) {
    for (const char* mode : {"primary", "by_first_statement"}) {
        SCOPED_TRACE(mode);
        auto router = start_router(std::string("{transactions: ") + mode + "}");
        PgConn conn(router->conninfo("app", "app", "app"));
        conn.exec("BEGIN");
        EXPECT_EQ(conn.try_exec("SELECT 1/0").sqlstate, "22012");
        const ExecResult aborted = conn.try_exec("SELECT 1");
        EXPECT_EQ(aborted.sqlstate, "25P02") << outcome(aborted);
        conn.exec("ROLLBACK");
        EXPECT_EQ(conn.scalar("SELECT 2"), "2");
        EXPECT_TRUE(servers().is_replica(port_in(conn.try_exec(kPortQuery), "after ROLLBACK")));
    }
}

// ---- 9. trace, hints and SET pgrouter.route ----

// Column `col` of the first row, "NULL" for SQL NULL, else as cell() puts it.
std::string value_or_null(const ExecResult& result, std::size_t col) {
    if (result.ok && !result.rows.empty() && result.rows[0].size() > col && !result.rows[0][col]) {
        return "NULL";
    }
    return cell(result, 0, col);
}

void collect_notice(void* arg, const PGresult* res) {
    const char* message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    static_cast<std::vector<std::string>*>(arg)->push_back(message != nullptr ? message : "");
}

// Sends `sql` (first value inet_server_port()) in single-row mode and returns the port and the
// notices that had arrived when the first row did.
struct Traced {
    int port = 0;
    std::vector<std::string> before_first_row;
    std::vector<std::string> all;
};

Traced run_traced(PgConn& conn, std::vector<std::string>& notices, const std::string& sql) {
    notices.clear();
    Traced out;
    EXPECT_EQ(PQsendQuery(conn.raw(), sql.c_str()), 1) << PQerrorMessage(conn.raw());
    EXPECT_EQ(PQsetSingleRowMode(conn.raw()), 1);
    bool timed_out = false;
    PgResult first = next_result(conn.raw(), seconds(30), &timed_out);
    if (!first || PQresultStatus(first.get()) != PGRES_SINGLE_TUPLE) {
        ADD_FAILURE() << sql << ": no row"
                      << (first ? std::string(": ") + PQresultErrorMessage(first.get()) : "");
        collect(conn.raw(), true);
        throw TestAbort("no row");
    }
    out.before_first_row = notices;
    out.port = std::stoi(PQgetvalue(first.get(), 0, 0));
    collect(conn.raw(), true);  // the end of the result set, up to ReadyForQuery
    out.all = notices;
    return out;
}

std::vector<std::string> pgrouter_notices(const std::vector<std::string>& notices) {
    std::vector<std::string> out;
    for (const std::string& n : notices) {
        if (n.rfind("pgrouter: ", 0) == 0) {
            out.push_back(n);
        }
    }
    return out;
}

TEST_F(Routing, TraceNamesTheServerThatAnswered) {
    ScratchTable table("rt_trace", "id int");
    expect_replicas_caught_up();
    auto router = start_router("{pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    std::vector<std::string> notices;
    PQsetNoticeReceiver(conn.raw(), collect_notice, &notices);

    const Traced untraced = run_traced(conn, notices, kPortQuery);
    EXPECT_TRUE(pgrouter_notices(untraced.all).empty()) << "trace is off by default";

    conn.exec("SET pgrouter.trace = on");
    EXPECT_EQ(conn.scalar("SHOW pgrouter.trace"), "on");
    const std::string insert =
        "INSERT INTO " + table.name() + " VALUES (1) RETURNING inet_server_port()";
    std::set<int> seen;
    for (const std::string& sql : {std::string(kPortQuery), std::string(kPortQuery),
                                   std::string(kPortQuery), insert, std::string(kPortQuery)}) {
        SCOPED_TRACE(sql);
        const Traced traced = run_traced(conn, notices, sql);
        seen.insert(traced.port);
        const std::vector<std::string> before = pgrouter_notices(traced.before_first_row);
        ASSERT_FALSE(before.empty())
            << "no pgrouter notice before the first row (" << pgrouter_notices(traced.all).size()
            << " pgrouter notices in all)";
        for (const std::string& notice : before) {
            EXPECT_NE(notice.find(server_address(traced.port)), std::string::npos)
                << "the notice does not name " << servers().name(traced.port)
                << ", which answered: " << notice;
            for (int other : {servers().primary, servers().replica1, servers().replica2}) {
                if (other != traced.port) {
                    EXPECT_EQ(notice.find(server_address(other)), std::string::npos)
                        << "the notice names " << servers().name(other) << ": " << notice;
                }
            }
        }
    }
    EXPECT_EQ(seen.size(), 3u) << "the traced statements should have used all three servers";

    conn.exec("SET pgrouter.trace = off");
    EXPECT_TRUE(pgrouter_notices(run_traced(conn, notices, kPortQuery).all).empty());
}

TEST_F(Routing, CommentHintsChooseTheServer) {
    auto router = start_router("{read_from: replicas}");
    PgConn conn(router->conninfo("app", "app", "app"));
    expect_only(ports_of(conn, "/* pgrouter: primary */ SELECT inet_server_port()", 5),
                servers().primary, "primary hint");
    expect_both_replicas_only(
        ports_of(conn, "/* pgrouter: replica */ SELECT inet_server_port()", 6), "replica hint");

    // The replica hint also overrides read_from: primary.
    auto primary_reads = start_router("{read_from: primary}");
    PgConn conn2(primary_reads->conninfo("app", "app", "app"));
    expect_only(ports_of(conn2, kPortQuery, 4), servers().primary, "read_from: primary");
    expect_both_replicas_only(
        ports_of(conn2, "/* pgrouter: replica */ SELECT inet_server_port()", 6),
        "replica hint with read_from: primary");
}

TEST_F(Routing, SessionRouteSettingIsPgroutersOwn) {
    auto router = start_router("{read_from: replicas}");
    PgConn conn(router->conninfo("app", "app", "app"));
    const std::string probe = "SELECT inet_server_port(), current_setting('pgrouter.route', true)";

    conn.exec("SET pgrouter.route = 'primary'");
    EXPECT_EQ(conn.scalar("SHOW pgrouter.route"), "primary");
    PortCounts counts;
    for (int i = 0; i < 5; ++i) {
        const ExecResult result = conn.try_exec(probe);
        ++counts[port_in(result, probe)];
        EXPECT_EQ(value_or_null(result, 1), "NULL") << "SET pgrouter.route reached the server";
    }
    expect_only(counts, servers().primary, "SET pgrouter.route = 'primary'");

    conn.exec("SET pgrouter.route = 'auto'");
    EXPECT_EQ(conn.scalar("SHOW pgrouter.route"), "auto");
    counts.clear();
    for (int i = 0; i < 6; ++i) {
        const ExecResult result = conn.try_exec(probe);
        ++counts[port_in(result, probe)];
        EXPECT_EQ(value_or_null(result, 1), "NULL") << "SET pgrouter.route reached a replica";
    }
    expect_both_replicas_only(counts, "SET pgrouter.route = 'auto'");

    const ExecResult bogus = conn.try_exec("SET pgrouter.route = 'bogus'");
    EXPECT_FALSE(bogus.ok);
    EXPECT_EQ(bogus.sqlstate, "22023") << bogus.message;
    EXPECT_EQ(conn.scalar("SHOW pgrouter.route"), "auto") << "a rejected value was kept";
    expect_both_replicas_only(ports_of(conn, kPortQuery, 4), "after the rejected SET");

    conn.exec("SET pgrouter.route = 'primary'");
    conn.exec("RESET pgrouter.route");
    EXPECT_EQ(conn.scalar("SHOW pgrouter.route"), "auto");
}

TEST_F(Routing, MaxLagHintSkipsALaggingReplica) {
    ScratchTable table("rt_maxlag", "v int");
    expect_replicas_caught_up();
    // The configured limit is far away: only the hint can exclude replica1.
    auto router = start_router(
        "{max_replica_lag_ms: 60000, health_check_interval_ms: 100, pin_after_write_ms: 0}");
    PgConn conn(router->conninfo("app", "app", "app"));
    const std::string hinted = "/* pgrouter: max_lag_ms=100 */ SELECT inet_server_port()";
    expect_both_replicas_only(ports_of(conn, hinted, 6), "hinted reads before any lag");

    ReplayPause pause(servers().replica1);
    BackgroundWriter writer(table.name(), milliseconds(50));
    // Bounded poll: 12 hinted reads in a row without replica1.
    int streak = 0;
    PortCounts last;
    const bool avoided = wait_until(
        [&] {
            const int port = port_in(conn.try_exec(hinted), hinted);
            if (port == servers().replica1) {
                streak = 0;
                last.clear();
                return false;
            }
            ++last[port];
            return ++streak >= 12;
        },
        seconds(6), milliseconds(25));
    ASSERT_TRUE(avoided) << "hinted reads still reach replica1 whose replay is paused; "
                         << describe(last);
    expect_only(last, servers().replica2, "hinted reads while replica1 lags");
    // Without the hint replica1 is still used (its lag is far below max_replica_lag_ms).
    const PortCounts plain = ports_of(conn, kPortQuery, 8);
    EXPECT_GT(plain.count(servers().replica1), 0u)
        << "unhinted reads avoid replica1 too: " << describe(plain);
    writer.stop();
}

}  // namespace
}  // namespace pgrouter::test
