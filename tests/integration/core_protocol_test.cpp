// tests/integration/core_protocol_test.cpp — the PostgreSQL protocol through pgrouter against real
// PostgreSQL 15: simple and extended query, pipelining, COPY both ways, notices, errors inside a
// transaction and startup ParameterStatus. Each answer is checked against the server itself.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kReplyTimeout{30000};

class CoreProtocol : public ::testing::Test {
protected:
    void SetUp() override { router_ = std::make_unique<PgrouterProcess>(base_yaml()); }

    std::string app_conninfo(std::string_view extra = "") const {
        return router_->conninfo("app", "app", "app", extra);
    }
    static std::string app_direct() { return direct_conninfo("app", "app", "app"); }

    std::unique_ptr<PgrouterProcess> router_;
};

TEST_F(CoreProtocol, SimpleQueryIsAnsweredByThePrimary) {
    PgConn conn(app_conninfo());
    EXPECT_EQ(conn.server_port(), topology().primary_port);
    EXPECT_EQ(conn.scalar("SELECT current_database()"), "app");
    EXPECT_EQ(conn.scalar("SELECT current_user"), "app");
    // The backend is a real PostgreSQL backend that a direct connection can see.
    const int pid = conn.backend_pid();
    PgConn direct(app_direct());
    EXPECT_EQ(
        direct.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = " + std::to_string(pid)),
        "1");
}

TEST_F(CoreProtocol, MultiStatementStringReturnsEveryResult) {
    PgConn conn(app_conninfo());
    PGconn* c = conn.raw();
    ASSERT_EQ(PQsendQuery(c, "SELECT 1 AS a; SELECT 'two' AS b; SELECT 3 AS c"), 1);
    std::vector<std::string> values;
    for (;;) {
        bool timed_out = false;
        PgResult res = next_result(c, kReplyTimeout, &timed_out);
        ASSERT_FALSE(timed_out) << "no reply to a multi-statement Query";
        if (!res) {
            break;
        }
        ASSERT_EQ(PQresultStatus(res.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(res.get());
        values.emplace_back(PQgetvalue(res.get(), 0, 0));
    }
    EXPECT_EQ(values, (std::vector<std::string>{"1", "two", "3"}));

    // An error in the middle stops the rest, and the implicit transaction is gone afterwards.
    ExecResult failed = conn.try_exec("SELECT 1; SELECT 1/0; SELECT 3");
    EXPECT_FALSE(failed.ok);
    EXPECT_EQ(failed.sqlstate, "22012");
    EXPECT_EQ(PQtransactionStatus(c), PQTRANS_IDLE);
    EXPECT_EQ(conn.scalar("SELECT 42"), "42");
}

TEST_F(CoreProtocol, CommittedTransactionIsVisibleFromADirectConnection) {
    ScratchTable table("it_core_tx", "id int PRIMARY KEY, note text");
    PgConn conn(app_conninfo());
    PgConn direct(app_direct());
    conn.exec("BEGIN");
    conn.exec("INSERT INTO " + table.name() + " VALUES (1, 'one')");
    conn.exec("INSERT INTO " + table.name() + " VALUES (2, 'two')");
    EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_INTRANS);
    // Still uncommitted: proves BEGIN really reached the server.
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()), "0");
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM " + table.name()), "2");
    conn.exec("COMMIT");
    EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_IDLE);
    EXPECT_EQ(direct.scalar("SELECT string_agg(note, ',' ORDER BY id) FROM " + table.name()),
              "one,two");
}

TEST_F(CoreProtocol, ExtendedProtocolWithUnnamedStatements) {
    PgConn conn(app_conninfo());
    PGconn* c = conn.raw();

    const char* params[2] = {"40", "2"};
    PgResult sum(PQexecParams(c, "SELECT $1::int + $2::int, inet_server_port()", 2, nullptr, params,
                              nullptr, nullptr, 0));
    ASSERT_EQ(PQresultStatus(sum.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(sum.get());
    EXPECT_STREQ(PQgetvalue(sum.get(), 0, 0), "42");
    EXPECT_EQ(std::stoi(PQgetvalue(sum.get(), 0, 1)), topology().primary_port);

    // Binary result format: int4 42 as four network-order bytes.
    PgResult binary(
        PQexecParams(c, "SELECT $1::int4", 1, nullptr, params, nullptr, nullptr, /*binary*/ 1));
    ASSERT_EQ(PQresultStatus(binary.get()), PGRES_TUPLES_OK);
    ASSERT_EQ(PQgetlength(binary.get(), 0, 0), 4);
    const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(binary.get(), 0, 0));
    EXPECT_EQ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3], 40);

    // NULL parameter.
    const char* null_param[1] = {nullptr};
    PgResult is_null(
        PQexecParams(c, "SELECT $1::text IS NULL", 1, nullptr, null_param, nullptr, nullptr, 0));
    ASSERT_EQ(PQresultStatus(is_null.get()), PGRES_TUPLES_OK);
    EXPECT_STREQ(PQgetvalue(is_null.get(), 0, 0), "t");

    // Unnamed prepared statement: Parse "" once, Describe, then Bind/Execute it twice.
    PgResult prepared(PQprepare(c, "", "SELECT $1::int * 3", 0, nullptr));
    ASSERT_EQ(PQresultStatus(prepared.get()), PGRES_COMMAND_OK)
        << PQresultErrorMessage(prepared.get());
    PgResult described(PQdescribePrepared(c, ""));
    ASSERT_EQ(PQresultStatus(described.get()), PGRES_COMMAND_OK);
    ASSERT_EQ(PQnparams(described.get()), 1);
    EXPECT_EQ(PQparamtype(described.get(), 0), 23u);  // int4
    for (const char* value : {"5", "7"}) {
        const char* one[1] = {value};
        PgResult run(PQexecPrepared(c, "", 1, one, nullptr, nullptr, 0));
        ASSERT_EQ(PQresultStatus(run.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(run.get());
        EXPECT_EQ(std::stoi(PQgetvalue(run.get(), 0, 0)), std::stoi(value) * 3);
    }

    // An error in the extended protocol leaves the connection usable.
    const char* zero[1] = {"0"};
    PgResult bad(PQexecParams(c, "SELECT 1 / $1::int", 1, nullptr, zero, nullptr, nullptr, 0));
    EXPECT_EQ(PQresultStatus(bad.get()), PGRES_FATAL_ERROR);
    EXPECT_STREQ(PQresultErrorField(bad.get(), PG_DIAG_SQLSTATE), "22012");
    EXPECT_EQ(conn.scalar("SELECT 'still fine'"), "still fine");
}

// Reads one pipelined query's results: the result, then the NULL that ends it.
void expect_pipeline_value(PGconn* c, int expected) {
    PgResult res = next_result(c, kReplyTimeout);
    ASSERT_TRUE(res) << "missing pipelined result";
    ASSERT_EQ(PQresultStatus(res.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(res.get());
    EXPECT_EQ(std::stoi(PQgetvalue(res.get(), 0, 0)), expected);
    bool timed_out = false;
    EXPECT_FALSE(next_result(c, kReplyTimeout, &timed_out));
    EXPECT_FALSE(timed_out);
}

void expect_pipeline_sync(PGconn* c) {
    PgResult res = next_result(c, kReplyTimeout);
    ASSERT_TRUE(res) << "missing PIPELINE_SYNC";
    EXPECT_EQ(PQresultStatus(res.get()), PGRES_PIPELINE_SYNC);
}

TEST_F(CoreProtocol, PipelineModeWithTwoSyncsInARow) {
    PgConn conn(app_conninfo());
    PGconn* c = conn.raw();
    ASSERT_EQ(PQenterPipelineMode(c), 1);
    for (int batch = 0; batch < 2; ++batch) {
        for (int i = 0; i < 5; ++i) {
            const std::string value = std::to_string(batch * 10 + i);
            const char* params[1] = {value.c_str()};
            ASSERT_EQ(
                PQsendQueryParams(c, "SELECT $1::int * 2", 1, nullptr, params, nullptr, nullptr, 0),
                1);
        }
        ASSERT_EQ(PQpipelineSync(c), 1);
    }
    for (int batch = 0; batch < 2; ++batch) {
        for (int i = 0; i < 5; ++i) {
            expect_pipeline_value(c, (batch * 10 + i) * 2);
        }
        expect_pipeline_sync(c);
    }
    ASSERT_EQ(PQexitPipelineMode(c), 1);
    EXPECT_EQ(conn.scalar("SELECT 'after pipeline'"), "after pipeline");
}

TEST_F(CoreProtocol, PipelineErrorAbortsOnlyItsOwnSyncGroup) {
    PgConn conn(app_conninfo());
    PGconn* c = conn.raw();
    ASSERT_EQ(PQenterPipelineMode(c), 1);
    for (const char* sql : {"SELECT 1", "SELECT 1/0", "SELECT 2"}) {
        ASSERT_EQ(PQsendQueryParams(c, sql, 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
    }
    ASSERT_EQ(PQpipelineSync(c), 1);
    ASSERT_EQ(PQsendQueryParams(c, "SELECT 3", 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
    ASSERT_EQ(PQpipelineSync(c), 1);

    expect_pipeline_value(c, 1);
    PgResult error = next_result(c, kReplyTimeout);
    ASSERT_TRUE(error);
    EXPECT_EQ(PQresultStatus(error.get()), PGRES_FATAL_ERROR);
    EXPECT_STREQ(PQresultErrorField(error.get(), PG_DIAG_SQLSTATE), "22012");
    EXPECT_FALSE(next_result(c, kReplyTimeout));
    PgResult aborted = next_result(c, kReplyTimeout);
    ASSERT_TRUE(aborted);
    EXPECT_EQ(PQresultStatus(aborted.get()), PGRES_PIPELINE_ABORTED);
    EXPECT_FALSE(next_result(c, kReplyTimeout));
    expect_pipeline_sync(c);
    expect_pipeline_value(c, 3);
    expect_pipeline_sync(c);
    ASSERT_EQ(PQexitPipelineMode(c), 1);
}

TEST_F(CoreProtocol, CopyFromStdinAndToStdoutWithTenThousandRows) {
    constexpr int kRows = 10000;
    ScratchTable table("it_core_copy", "id int PRIMARY KEY, v text");
    PgConn conn(app_conninfo());
    PGconn* c = conn.raw();

    std::string expected;
    for (int i = 1; i <= kRows; ++i) {
        expected += std::to_string(i) + "\tvalue " + std::to_string(i * 7) + "\n";
    }
    ASSERT_EQ(PQsendQuery(c, ("COPY " + table.name() + " (id, v) FROM STDIN").c_str()), 1);
    PgResult copy_in = next_result(c, kReplyTimeout);
    ASSERT_TRUE(copy_in);
    ASSERT_EQ(PQresultStatus(copy_in.get()), PGRES_COPY_IN) << PQresultErrorMessage(copy_in.get());
    // Uneven chunks, so CopyData boundaries do not line up with rows.
    for (std::size_t pos = 0; pos < expected.size(); pos += 3001) {
        const std::string chunk = expected.substr(pos, 3001);
        ASSERT_EQ(PQputCopyData(c, chunk.data(), static_cast<int>(chunk.size())), 1);
    }
    ASSERT_EQ(PQputCopyEnd(c, nullptr), 1);
    PgResult done = next_result(c, kReplyTimeout);
    ASSERT_TRUE(done);
    ASSERT_EQ(PQresultStatus(done.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(done.get());
    EXPECT_STREQ(PQcmdTuples(done.get()), "10000");
    EXPECT_FALSE(next_result(c, kReplyTimeout));

    PgConn direct(app_direct());
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()), std::to_string(kRows));

    ASSERT_EQ(
        PQsendQuery(
            c, ("COPY (SELECT id, v FROM " + table.name() + " ORDER BY id) TO STDOUT").c_str()),
        1);
    PgResult copy_out = next_result(c, kReplyTimeout);
    ASSERT_TRUE(copy_out);
    ASSERT_EQ(PQresultStatus(copy_out.get()), PGRES_COPY_OUT)
        << PQresultErrorMessage(copy_out.get());
    CopyOutData data = read_copy_out(c, kReplyTimeout);
    ASSERT_TRUE(data.complete) << data.error;
    EXPECT_EQ(data.data.size(), expected.size());
    EXPECT_TRUE(data.data == expected) << "COPY TO STDOUT returned different rows";
    EXPECT_EQ(conn.scalar("SELECT 'after copy'"), "after copy");
}

struct Notices {
    std::vector<std::pair<std::string, std::string>> seen;  // (severity, message)
};

void collect_notice(void* arg, const PGresult* res) {
    auto* notices = static_cast<Notices*>(arg);
    const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char* message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    notices->seen.emplace_back(severity ? severity : "", message ? message : "");
}

TEST_F(CoreProtocol, NoticeResponseReachesTheClient) {
    PgConn conn(app_conninfo());
    Notices notices;
    PQsetNoticeReceiver(conn.raw(), collect_notice, &notices);
    conn.exec("DO $$ BEGIN RAISE NOTICE 'hi'; END $$");
    ASSERT_EQ(notices.seen.size(), 1u);
    EXPECT_EQ(notices.seen[0].first, "NOTICE");
    EXPECT_EQ(notices.seen[0].second, "hi");
}

TEST_F(CoreProtocol, ErrorInsideTransactionThenRollbackKeepsConnectionUsable) {
    ScratchTable table("it_core_err", "id int");
    PgConn conn(app_conninfo());
    conn.exec("BEGIN");
    conn.exec("INSERT INTO " + table.name() + " VALUES (1)");
    ExecResult failed = conn.try_exec("SELECT 1/0");
    EXPECT_FALSE(failed.ok);
    EXPECT_EQ(failed.sqlstate, "22012");
    EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_INERROR);
    // Still in the same failed transaction on the server: statements are refused until ROLLBACK.
    ExecResult refused = conn.try_exec("SELECT 1");
    EXPECT_FALSE(refused.ok);
    EXPECT_EQ(refused.sqlstate, "25P02");
    conn.exec("ROLLBACK");
    EXPECT_EQ(PQtransactionStatus(conn.raw()), PQTRANS_IDLE);
    EXPECT_EQ(conn.scalar("SELECT 1"), "1");
    PgConn direct(app_direct());
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()), "0");
}

TEST_F(CoreProtocol, StartupParameterStatusMatchesTheServer) {
    const std::string options = "application_name=it_test";
    PgConn direct(direct_conninfo("app", "app", "app", options));
    PgConn routed(app_conninfo(options));
    for (const char* name :
         {"server_version", "server_encoding", "client_encoding", "DateStyle", "TimeZone",
          "integer_datetimes", "standard_conforming_strings", "application_name"}) {
        const std::optional<std::string> expected = direct.parameter_status(name);
        ASSERT_TRUE(expected.has_value()) << "PostgreSQL did not report " << name;
        EXPECT_EQ(routed.parameter_status(name), expected) << name;
    }
    EXPECT_EQ(routed.parameter_status("application_name"), "it_test");
    EXPECT_EQ(PQserverVersion(routed.raw()), PQserverVersion(direct.raw()));
    EXPECT_EQ(routed.scalar("SHOW application_name"), "it_test");
}

}  // namespace
}  // namespace pgrouter::test
