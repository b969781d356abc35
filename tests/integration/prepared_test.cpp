// tests/integration/prepared_test.cpp — named prepared statements through pgrouter in transaction
// mode against real PostgreSQL 15: the same names used by many clients over few server
// connections, statements following a client to another server connection, 26000/42P05 exactly
// as PostgreSQL gives them, Close and DEALLOCATE, the per-server LRU, portals kept across Syncs
// and pgbench -M prepared. Which backend answered is always asked of the server.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/bystanders.hpp"
#include "support/extended_query.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/raw_client.hpp"
#include "support/server_activity.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kReplyTimeout = kProtocolTimeout;
constexpr Oid kInt4 = kInt4Oid;
constexpr const char* kAppBackends = "usename = 'app' AND datname = 'app'";

std::unique_ptr<PgrouterProcess> start_router(std::uint32_t pool_size,
                                              std::uint32_t per_server = 200) {
    RouterOptions options;
    options.pool_size = pool_size;
    options.prepared_statements_per_server = per_server;
    // Many clients queue for few server connections here; waiting is expected, failing is not.
    options.query_wait_timeout_ms = 30000;
    return std::make_unique<PgrouterProcess>(base_yaml(options));
}

// ---- 1. many clients, the same names, two server connections ----

TEST(PreparedStatements, ThirtyClientsWithTheSameNamesShareTwoServerConnections) {
    constexpr int kClients = 30;
    constexpr int kIterations = 50;
    auto router = start_router(2);
    BackendCountMonitor monitor(router->pid(), kAppBackends, milliseconds(50));
    std::mutex mutex;
    std::set<std::string> pids;
    std::vector<std::string> failures;
    std::atomic<int> iterations_done{0};
    auto fail = [&](int client, const std::string& what) {
        std::lock_guard lock(mutex);
        if (failures.size() < 20) {
            failures.push_back("client " + std::to_string(client) + ": " + what);
        }
    };
    std::vector<std::thread> clients;
    for (int id = 0; id < kClients; ++id) {
        clients.emplace_back([&, id] {
            try {
                PgConn conn(router->conninfo("app", "app", "app"));
                PGconn* c = conn.raw();
                // Same name for everyone but a different text per client; and a text everyone
                // shares (one server statement for all of them).
                const std::string s1 =
                    "SELECT $1::int + " + std::to_string(id) + ", pg_backend_pid()";
                const ExecResult p1 = prepare(c, "s1", s1);
                const ExecResult p2 = prepare(c, "s2", "SELECT $1::int * 2, pg_backend_pid()");
                if (!p1.ok || !p2.ok) {
                    fail(id, "prepare: " + outcome(p1) + " / " + outcome(p2));
                    return;
                }
                for (int i = 0; i < kIterations; ++i) {
                    const bool in_transaction = i % 2 == 0;
                    if (in_transaction) {
                        conn.exec("BEGIN");
                    }
                    const ExecResult r1 = exec_prepared(c, "s1", {std::to_string(i)});
                    const ExecResult r2 = exec_prepared(c, "s2", {std::to_string(i)});
                    if (cell(r1) != std::to_string(i + id)) {
                        fail(id, "s1(" + std::to_string(i) + ") gave " + outcome(r1));
                    }
                    if (cell(r2) != std::to_string(2 * i)) {
                        fail(id, "s2(" + std::to_string(i) + ") gave " + outcome(r2));
                    }
                    if (in_transaction) {
                        if (cell(r1, 0, 1) != cell(r2, 0, 1)) {
                            fail(id, "one transaction ran on backends " + cell(r1, 0, 1) + " and " +
                                         cell(r2, 0, 1));
                        }
                        conn.exec("COMMIT");
                    }
                    {
                        std::lock_guard lock(mutex);
                        pids.insert(cell(r1, 0, 1));
                        pids.insert(cell(r2, 0, 1));
                    }
                    ++iterations_done;
                }
            } catch (const TestAbort&) {
                // recorded by PgConn
            }
        });
    }
    for (std::thread& t : clients) {
        t.join();
    }
    monitor.stop();
    std::string all_failures;
    for (const std::string& f : failures) {
        all_failures += f + "\n";
    }
    EXPECT_TRUE(failures.empty()) << all_failures;
    EXPECT_EQ(iterations_done.load(), kClients * kIterations);
    EXPECT_GE(pids.size(), 1u);
    EXPECT_LE(pids.size(), 2u) << "30 clients over pool.size 2 saw " << pids.size()
                               << " different server backends";
    EXPECT_LE(monitor.max_seen(), 2) << "pg_stat_activity showed more than pool.size connections";
}

// ---- 2. a statement follows its client to another server connection ----

TEST(PreparedStatements, StatementPreparedInOneTransactionRunsOnAnotherServerConnection) {
    auto router = start_router(2);
    PgConn a(router->conninfo("app", "app", "app"));
    PGconn* c = a.raw();
    const Oid types[1] = {kInt4};
    const std::string text = "SELECT $1 * 10, pg_backend_pid()";

    a.exec("BEGIN");
    const ExecResult prepared = prepare(c, "moved", text, 1, types);
    ASSERT_TRUE(prepared.ok) << outcome(prepared);
    const ExecResult first = exec_prepared(c, "moved", {"4"});
    ASSERT_EQ(cell(first), "40") << outcome(first);
    const std::string prepare_pid = cell(first, 0, 1);
    EXPECT_EQ(std::to_string(a.backend_pid()), prepare_pid);
    a.exec("COMMIT");

    // The only idle server connection (the one that has the statement) is taken by a transaction
    // that stays open, so A's next transaction must run on the second connection.
    PgConn holder(router->conninfo("app", "app", "app"));
    holder.exec("BEGIN");
    ASSERT_EQ(std::to_string(holder.backend_pid()), prepare_pid)
        << "setup: the holder did not get the idle connection A had used";

    a.exec("BEGIN");
    const std::string execute_pid = std::to_string(a.backend_pid());
    EXPECT_NE(execute_pid, prepare_pid) << "setup: A's transaction did not change connection";
    // Describe first (it needs the statement on this connection too), then execute.
    const Described d = describe_prepared(c, "moved");
    ASSERT_TRUE(d.result.ok) << outcome(d.result);
    EXPECT_EQ(d.n_params, 1);
    EXPECT_EQ(d.n_fields, 2);
    const ExecResult second = exec_prepared(c, "moved", {"5"});
    EXPECT_EQ(cell(second), "50") << outcome(second);
    EXPECT_EQ(cell(second, 0, 1), execute_pid);
    // The server connection really holds it now (under pgrouter's name, with A's text).
    EXPECT_EQ(a.scalar("SELECT count(*) FROM pg_prepared_statements WHERE statement = '" + text +
                       "' AND name LIKE 'pgr\\_%'"),
              "1");
    a.exec("COMMIT");
    holder.exec("COMMIT");

    // And on the first connection again, outside a transaction.
    const ExecResult third = exec_prepared(c, "moved", {"6"});
    EXPECT_EQ(cell(third), "60") << outcome(third);
}

// ---- 3. names are per client: 26000 for a name only another client prepared ----

TEST(PreparedStatements, NamePreparedByAnotherClientGives26000) {
    auto router = start_router(1);
    PgConn a(router->conninfo("trustuser", "", "app"));
    ASSERT_TRUE(prepare(a.raw(), "only_a", "SELECT 'from a'::text, pg_backend_pid()").ok);
    const ExecResult a_first = exec_prepared(a.raw(), "only_a");
    ASSERT_EQ(cell(a_first), "from a") << outcome(a_first);

    PgConn b(router->conninfo("trustuser", "", "app"));
    PGconn* c = b.raw();
    EXPECT_EQ(std::to_string(b.backend_pid()), cell(a_first, 0, 1))
        << "pool.size 1 should mean one server connection";
    const ExecResult bind = exec_prepared(c, "only_a");
    EXPECT_FALSE(bind.ok) << "B ran A's statement: " << outcome(bind);
    EXPECT_EQ(bind.sqlstate, "26000") << bind.message;
    const Described d = describe_prepared(c, "only_a");
    EXPECT_FALSE(d.result.ok);
    EXPECT_EQ(d.result.sqlstate, "26000") << d.result.message;
    EXPECT_EQ(b.scalar("SELECT 'b still works'"), "b still works");

    // Inside a transaction the error aborts it, as PostgreSQL does.
    b.exec("BEGIN");
    EXPECT_EQ(exec_prepared(c, "only_a").sqlstate, "26000");
    EXPECT_EQ(b.try_exec("SELECT 1").sqlstate, "25P02");
    b.exec("ROLLBACK");

    // B may use the same name for its own statement; each client keeps its own.
    const ExecResult b_prepared = prepare(c, "only_a", "SELECT 'from b'::text, pg_backend_pid()");
    ASSERT_TRUE(b_prepared.ok) << outcome(b_prepared);
    EXPECT_EQ(cell(exec_prepared(c, "only_a")), "from b");
    EXPECT_EQ(cell(exec_prepared(a.raw(), "only_a")), "from a");

    // The exact messages, from a third client on the same connection: nothing but the error and
    // ReadyForQuery, for Describe and for Bind.
    RawClient raw;
    ASSERT_TRUE(raw.connect(router->port()));
    ASSERT_TRUE(raw.startup_trust("trustuser", "app"));
    const auto described = round_trip(raw, describe_msg('S', "only_a") + sync_msg());
    EXPECT_EQ(types_of(described), "EZ");
    EXPECT_EQ(first_sqlstate(described), "26000");
    EXPECT_EQ(ready_status(described), 'I');
    const auto bound = round_trip(raw, bind_msg("", "only_a") + execute_msg("") + sync_msg());
    EXPECT_EQ(types_of(bound), "EZ");
    EXPECT_EQ(first_sqlstate(bound), "26000");
    const auto after = round_trip(raw, query_msg("SELECT 'raw ok'"));
    EXPECT_EQ(types_of(after), "TDCZ");
    EXPECT_EQ(first_column(after), std::vector<std::string>{"raw ok"});
}

// ---- 4. 42P05 and failed Parses, compared step by step with PostgreSQL itself ----

struct Step {
    enum Kind { kPrepare, kExec, kQuery, kExtended } kind;  // kExtended: SQL, unnamed statement
    std::string name_or_sql;
    std::string sql;  // kPrepare: the statement text
};

// Runs the steps on `conn`; one line per step: outcome plus the transaction status afterwards.
std::vector<std::string> run_steps(PgConn& conn, const std::vector<Step>& steps,
                                   std::vector<std::string>* messages = nullptr) {
    std::vector<std::string> out;
    for (const Step& step : steps) {
        ExecResult r;
        switch (step.kind) {
            case Step::kPrepare:
                r = prepare(conn.raw(), step.name_or_sql, step.sql);
                break;
            case Step::kExec:
                r = exec_prepared(conn.raw(), step.name_or_sql);
                break;
            case Step::kQuery:
                r = conn.try_exec(step.name_or_sql, kReplyTimeout);
                break;
            case Step::kExtended:
                r = exec_params(conn.raw(), step.name_or_sql);
                break;
        }
        out.push_back(outcome(r) + " [" + tx_status(conn.raw()) + "]");
        if (messages != nullptr) {
            messages->push_back(r.message);
        }
    }
    return out;
}

std::string numbered(const std::vector<std::string>& lines) {
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        out += "  " + std::to_string(i + 1) + ". " + lines[i] + "\n";
    }
    return out;
}

TEST(PreparedStatements, DuplicateNameGives42P05AndAbortsTheTransactionLikePostgres) {
    auto router = start_router(1);
    const std::vector<Step> steps = {
        {Step::kPrepare, "dup", "SELECT 1"},
        {Step::kPrepare, "dup", "SELECT 2"},  // 42P05
        {Step::kExec, "dup", ""},
        {Step::kQuery, "BEGIN", ""},
        {Step::kExec, "dup", ""},
        {Step::kPrepare, "dup", "SELECT 3"},  // 42P05 inside the transaction
        {Step::kQuery, "SELECT 1", ""},       // 25P02
        {Step::kExec, "dup", ""},             // 25P02
        {Step::kQuery, "COMMIT", ""},
        {Step::kExec, "dup", ""},
        {Step::kPrepare, "dup", "SELECT 1"},  // 42P05 even with the same text
    };
    PgConn direct(direct_conninfo("app", "app", "app"));
    PgConn routed(router->conninfo("app", "app", "app"));
    std::vector<std::string> direct_messages;
    std::vector<std::string> routed_messages;
    const auto expected = run_steps(direct, steps, &direct_messages);
    const auto got = run_steps(routed, steps, &routed_messages);
    // The reference itself, so the comparison cannot pass on two equally wrong runs.
    ASSERT_EQ(expected[1], "error 42P05 [I]");
    ASSERT_EQ(expected[6], "error 25P02 [E]");
    EXPECT_EQ(got, expected) << "through pgrouter:\n"
                             << numbered(got) << "directly:\n"
                             << numbered(expected);
    EXPECT_EQ(routed_messages[1], direct_messages[1]);
    EXPECT_EQ(routed_messages[5], direct_messages[5]);
}

TEST(PreparedStatements, FailedParseLeavesNoStatementBehindLikePostgres) {
    auto router = start_router(1);
    const std::vector<Step> steps = {
        {Step::kPrepare, "bad", "SELEC 1"},  // 42601: the name stays free
        {Step::kPrepare, "bad", "SELECT 'fixed'"},
        {Step::kExec, "bad", ""},
        {Step::kQuery, "BEGIN", ""},
        {Step::kQuery, "SELECT 1/0", ""},
        {Step::kPrepare, "late", "SELECT 'late'"},  // 25P02: not prepared
        {Step::kQuery, "ROLLBACK", ""},
        {Step::kPrepare, "late_again", "SELECT 'late'"},  // same text, so same server statement
        {Step::kExec, "late_again", ""},
        {Step::kPrepare, "late", "SELECT 'late 2'"},
        {Step::kExec, "late", ""},
    };
    PgConn direct(direct_conninfo("app", "app", "app"));
    PgConn routed(router->conninfo("app", "app", "app"));
    const auto expected = run_steps(direct, steps);
    const auto got = run_steps(routed, steps);
    ASSERT_EQ(expected[0], "error 42601 [I]");
    ASSERT_EQ(expected[5], "error 25P02 [E]");
    EXPECT_EQ(got, expected) << "through pgrouter:\n"
                             << numbered(got) << "directly:\n"
                             << numbered(expected);
}

// ---- 5. Close and DEALLOCATE ----

TEST(PreparedStatements, CloseMessageFreesTheNameForANewText) {
    auto router = start_router(1);
    RawClient raw;
    ASSERT_TRUE(raw.connect(router->port()));
    ASSERT_TRUE(raw.startup_trust("trustuser", "app"));
    EXPECT_EQ(types_of(round_trip(raw, parse_msg("s", "SELECT 'one'") + sync_msg())), "1Z");
    auto run = round_trip(raw, bind_msg("", "s") + execute_msg("") + sync_msg());
    EXPECT_EQ(types_of(run), "2DCZ");
    EXPECT_EQ(first_column(run), std::vector<std::string>{"one"});

    EXPECT_EQ(types_of(round_trip(raw, close_msg('S', "s") + sync_msg())), "3Z");
    // Closing a name that does not exist is not an error in PostgreSQL either.
    EXPECT_EQ(types_of(round_trip(raw, close_msg('S', "never_prepared") + sync_msg())), "3Z");
    const auto closed = round_trip(raw, bind_msg("", "s") + execute_msg("") + sync_msg());
    EXPECT_EQ(types_of(closed), "EZ");
    EXPECT_EQ(first_sqlstate(closed), "26000");

    EXPECT_EQ(types_of(round_trip(raw, parse_msg("s", "SELECT 'two'") + sync_msg())), "1Z");
    run = round_trip(raw, bind_msg("", "s") + execute_msg("") + sync_msg());
    EXPECT_EQ(types_of(run), "2DCZ");
    EXPECT_EQ(first_column(run), std::vector<std::string>{"two"});

    // Close, Parse under the same name and run it, all in one Sync group.
    run = round_trip(raw, close_msg('S', "s") + parse_msg("s", "SELECT 'three'") +
                              bind_msg("", "s") + execute_msg("") + sync_msg());
    EXPECT_EQ(types_of(run), "312DCZ");
    EXPECT_EQ(first_column(run), std::vector<std::string>{"three"});
}

TEST(PreparedStatements, SqlDeallocateOfProtocolStatementsAndDeallocateAll) {
    auto router = start_router(1);
    PgConn a(router->conninfo("app", "app", "app"));
    PgConn b(router->conninfo("app", "app", "app"));
    // Same text, so both names map to one statement on the shared server connection.
    ASSERT_TRUE(prepare(a.raw(), "s", "SELECT 'shared text'").ok);
    ASSERT_TRUE(prepare(b.raw(), "t", "SELECT 'shared text'").ok);
    ASSERT_EQ(cell(exec_prepared(a.raw(), "s")), "shared text");

    const ExecResult dealloc = a.try_exec("DEALLOCATE s", kReplyTimeout);
    EXPECT_TRUE(dealloc.ok) << outcome(dealloc);
    EXPECT_EQ(exec_prepared(a.raw(), "s").sqlstate, "26000");
    EXPECT_EQ(cell(exec_prepared(b.raw(), "t")), "shared text")
        << "A's DEALLOCATE took B's statement away";
    const ExecResult again = prepare(a.raw(), "s", "SELECT 'new text'");
    EXPECT_TRUE(again.ok) << outcome(again);
    EXPECT_EQ(cell(exec_prepared(a.raw(), "s")), "new text");
    // DEALLOCATE of a name the client does not have: PostgreSQL's own 26000.
    EXPECT_EQ(a.try_exec("DEALLOCATE never_prepared", kReplyTimeout).sqlstate, "26000");

    ASSERT_TRUE(prepare(a.raw(), "s2", "SELECT 'second'").ok);
    const ExecResult all = a.try_exec("DEALLOCATE ALL", kReplyTimeout);
    EXPECT_TRUE(all.ok) << outcome(all);
    EXPECT_EQ(exec_prepared(a.raw(), "s").sqlstate, "26000");
    EXPECT_EQ(exec_prepared(a.raw(), "s2").sqlstate, "26000");
    EXPECT_EQ(cell(exec_prepared(b.raw(), "t")), "shared text")
        << "A's DEALLOCATE ALL took B's statement away";
    EXPECT_TRUE(prepare(a.raw(), "s", "SELECT 'after all'").ok);
    EXPECT_EQ(cell(exec_prepared(a.raw(), "s")), "after all");

    const ExecResult discard = a.try_exec("DISCARD ALL", kReplyTimeout);
    EXPECT_TRUE(discard.ok) << outcome(discard);
    EXPECT_EQ(exec_prepared(a.raw(), "s").sqlstate, "26000");
    EXPECT_EQ(cell(exec_prepared(b.raw(), "t")), "shared text")
        << "A's DISCARD ALL took B's statement away";
    EXPECT_TRUE(prepare(a.raw(), "s", "SELECT 'after discard'").ok);
    EXPECT_EQ(cell(exec_prepared(a.raw(), "s")), "after discard");
}

TEST(PreparedStatements, EveryFormOfDeallocateBehavesLikePostgres) {
    auto router = start_router(1);
    const std::vector<Step> steps = {
        {Step::kPrepare, "d1", "SELECT 'd1'"},
        {Step::kExtended, "DEALLOCATE d1", ""},  // what drivers using only Parse/Bind send
        {Step::kExec, "d1", ""},
        {Step::kPrepare, "d2", "SELECT 'd2'"},
        {Step::kQuery, "DEALLOCATE PREPARE d2", ""},
        {Step::kExec, "d2", ""},
        {Step::kPrepare, "d4", "SELECT 'd4'"},
        {Step::kQuery, "BEGIN", ""},
        {Step::kQuery, "DEALLOCATE d4", ""},
        {Step::kQuery, "ROLLBACK", ""},
        {Step::kExec, "d4", ""},
        {Step::kPrepare, "d1", "SELECT 'd1 again'"},
        {Step::kExec, "d1", ""},
        {Step::kPrepare, "d5", "SELECT 'd5'"},
        {Step::kExtended, "DEALLOCATE ALL", ""},
        {Step::kExec, "d5", ""},
    };
    PgConn direct(direct_conninfo("app", "app", "app"));
    PgConn routed(router->conninfo("app", "app", "app"));
    const auto expected = run_steps(direct, steps);
    const auto got = run_steps(routed, steps);
    ASSERT_EQ(expected[2], "error 26000 [I]");
    EXPECT_EQ(got, expected) << "through pgrouter:\n"
                             << numbered(got) << "directly:\n"
                             << numbered(expected);
}

// Known limitation, pinned down so a change is noticed: DEALLOCATE of a protocol-level statement
// inside a multi-statement string is not rewritten to pgrouter's name, so the server answers 26000
// (directly, the DEALLOCATE succeeds). Drivers close statements with the Close message instead.
TEST(PreparedStatements, DeallocateInsideMultiStatementIsAKnownLimitation) {
    auto router = start_router(1);
    const std::vector<Step> steps = {
        {Step::kPrepare, "d3", "SELECT 'd3'"},
        {Step::kQuery, "DEALLOCATE d3; SELECT 'after'", ""},
    };
    PgConn direct(direct_conninfo("app", "app", "app"));
    PgConn routed(router->conninfo("app", "app", "app"));
    const auto expected = run_steps(direct, steps);
    const auto got = run_steps(routed, steps);
    EXPECT_EQ(expected[1], "ok after [I]");
    EXPECT_EQ(got[1], "error 26000 [I]") << numbered(got);
}

// ---- 6. the per-server LRU ----

TEST(PreparedStatements, LruKeepsAtMostTheLimitOnEachServerConnection) {
    auto router = start_router(1, /*per_server=*/2);
    PgConn a(router->conninfo("app", "app", "app"));
    PgConn b(router->conninfo("app", "app", "app"));
    auto text_of = [](char client, int k) {
        return "SELECT $1::int + " + std::to_string(k * 1000) + " AS " + client + std::to_string(k);
    };
    const Oid types[1] = {kInt4};
    for (int k = 0; k < 5; ++k) {
        ASSERT_TRUE(prepare(a.raw(), "a" + std::to_string(k), text_of('a', k), 1, types).ok);
    }
    for (int k = 0; k < 3; ++k) {
        ASSERT_TRUE(prepare(b.raw(), "b" + std::to_string(k), text_of('b', k), 1, types).ok);
    }
    int max_pgr = 0;
    for (int round = 0; round < 4; ++round) {
        for (int step = 0; step < 5; ++step) {
            const int k = round % 2 == 0 ? step : 4 - step;  // vary the LRU order
            for (char client : {'a', 'b'}) {
                if (client == 'b' && k >= 3) {
                    continue;
                }
                PgConn& conn = client == 'a' ? a : b;
                const std::string name = std::string(1, client) + std::to_string(k);
                conn.exec("BEGIN");
                const ExecResult r = exec_prepared(conn.raw(), name, {std::to_string(round)});
                EXPECT_EQ(cell(r), std::to_string(round + k * 1000))
                    << name << " in round " << round << ": " << outcome(r);
                const Rows counts = conn.exec(
                    "SELECT count(*) FILTER (WHERE name LIKE 'pgr\\_%'),"
                    " count(*) FILTER (WHERE statement = '" +
                    text_of(client, k) + "') FROM pg_prepared_statements");
                conn.exec("COMMIT");
                const int pgr = std::stoi(counts.at(0).at(0).value_or("-1"));
                max_pgr = std::max(max_pgr, pgr);
                EXPECT_LE(pgr, 2) << "after " << name << " in round " << round;
                EXPECT_EQ(counts.at(0).at(1), "1")
                    << name << " is not on the server it just ran on";
            }
        }
    }
    EXPECT_EQ(max_pgr, 2);
    // Describe of a statement evicted long ago re-prepares it too.
    const Described d = describe_prepared(a.raw(), "a0");
    EXPECT_TRUE(d.result.ok) << outcome(d.result);
    EXPECT_EQ(d.n_params, 1);
}

// ---- pipelined prepares: replies pgrouter answers itself stay in order ----

TEST(PreparedStatements, PipelinedPrepareAndExecuteKeepReplyOrder) {
    auto router = start_router(1);
    PgConn a(router->conninfo("app", "app", "app"));
    // The server connection already has this text, so B's Parse of it is answered by pgrouter.
    ASSERT_TRUE(prepare(a.raw(), "known", "SELECT $1::int + 1").ok);

    PgConn b(router->conninfo("app", "app", "app"));
    PGconn* c = b.raw();
    ASSERT_EQ(PQenterPipelineMode(c), 1);
    const char* five[1] = {"5"};
    ASSERT_EQ(PQsendQueryParams(c, "SELECT 'first'", 0, nullptr, nullptr, nullptr, nullptr, 0), 1);
    ASSERT_EQ(PQsendPrepare(c, "b_known", "SELECT $1::int + 1", 0, nullptr), 1);
    ASSERT_EQ(PQsendQueryPrepared(c, "b_known", 1, five, nullptr, nullptr, 0), 1);
    ASSERT_EQ(PQsendPrepare(c, "b_new", "SELECT $1::int + 2", 0, nullptr), 1);
    ASSERT_EQ(PQsendQueryPrepared(c, "b_new", 1, five, nullptr, nullptr, 0), 1);
    ASSERT_EQ(PQpipelineSync(c), 1);
    ASSERT_EQ(PQsendPrepare(c, "b_known", "SELECT 'dup'", 0, nullptr), 1);  // 42P05
    ASSERT_EQ(PQsendQueryPrepared(c, "b_new", 1, five, nullptr, nullptr, 0), 1);
    ASSERT_EQ(PQpipelineSync(c), 1);
    ASSERT_EQ(PQsendQueryPrepared(c, "b_known", 1, five, nullptr, nullptr, 0), 1);
    ASSERT_EQ(PQpipelineSync(c), 1);

    std::vector<std::string> got;
    while (got.size() < 10) {
        bool timed_out = false;
        PgResult res = next_result(c, kReplyTimeout, &timed_out);
        ASSERT_FALSE(timed_out) << "after " << numbered(got);
        if (!res) {
            continue;  // the NULL after each query's result
        }
        const ExecStatusType status = PQresultStatus(res.get());
        if (status == PGRES_TUPLES_OK) {
            got.push_back(std::string("rows ") + PQgetvalue(res.get(), 0, 0));
        } else if (status == PGRES_FATAL_ERROR) {
            got.push_back(std::string("error ") + PQresultErrorField(res.get(), PG_DIAG_SQLSTATE));
        } else {
            got.push_back(PQresStatus(status));
        }
    }
    const std::vector<std::string> expected = {"rows first",
                                               "PGRES_COMMAND_OK",
                                               "rows 6",
                                               "PGRES_COMMAND_OK",
                                               "rows 7",
                                               "PGRES_PIPELINE_SYNC",
                                               "error 42P05",
                                               "PGRES_PIPELINE_ABORTED",
                                               "PGRES_PIPELINE_SYNC",
                                               "rows 6"};
    EXPECT_EQ(got, expected) << "got:\n" << numbered(got);
    PgResult last_null = next_result(c, kReplyTimeout);
    EXPECT_FALSE(last_null);
    PgResult last_sync = next_result(c, kReplyTimeout);
    ASSERT_TRUE(last_sync);
    EXPECT_EQ(PQresultStatus(last_sync.get()), PGRES_PIPELINE_SYNC);
    ASSERT_EQ(PQexitPipelineMode(c), 1);
    EXPECT_EQ(b.scalar("SELECT 'after pipeline'"), "after pipeline");
}

// ---- 10. unnamed statements and named portals across Syncs inside a transaction ----

TEST(PreparedStatements, NamedPortalsSurviveSyncsInsideATransaction) {
    auto router = start_router(2);
    Bystanders others(router->conninfo("trustuser", "", "app"), 3);
    auto pause = [] { std::this_thread::sleep_for(milliseconds(30)); };

    RawClient raw;
    ASSERT_TRUE(raw.connect(router->port()));
    ASSERT_TRUE(raw.startup_trust("trustuser", "app"));
    auto begin = round_trip(raw, query_msg("BEGIN; SELECT pg_backend_pid()"));
    ASSERT_EQ(types_of(begin), "CTDCZ");
    const std::string pid = first_column(begin).at(0);
    EXPECT_EQ(ready_status(begin), 'T');
    others.watch();
    pause();

    // Unnamed statement, named portal, fetched in pieces over several Syncs.
    auto part = round_trip(raw, parse_msg("", "SELECT g FROM generate_series(1, 10) g") +
                                    bind_msg("cur", "") + execute_msg("cur", 3) + sync_msg());
    EXPECT_EQ(types_of(part), "12DDDsZ");
    EXPECT_EQ(first_column(part), (std::vector<std::string>{"1", "2", "3"}));
    pause();
    // Another unnamed statement in between, with its own unnamed portal.
    auto other = round_trip(raw, parse_msg("", "SELECT pg_backend_pid()") + bind_msg("", "") +
                                     execute_msg("") + sync_msg());
    EXPECT_EQ(types_of(other), "12DCZ");
    EXPECT_EQ(first_column(other), std::vector<std::string>{pid});
    pause();
    part = round_trip(raw, execute_msg("cur", 3) + sync_msg());
    EXPECT_EQ(types_of(part), "DDDsZ");
    EXPECT_EQ(first_column(part), (std::vector<std::string>{"4", "5", "6"}));
    pause();

    // A named statement (renamed on the server) with a named portal.
    EXPECT_EQ(
        types_of(round_trip(
            raw, parse_msg("ns", "SELECT g FROM generate_series(1, $1::int) g") + sync_msg())),
        "1Z");
    part = round_trip(raw, bind_msg("p2", "ns", {"5"}) + execute_msg("p2", 2) + sync_msg());
    EXPECT_EQ(types_of(part), "2DDsZ");
    pause();
    part = round_trip(raw, execute_msg("p2", 2) + sync_msg());
    EXPECT_EQ(types_of(part), "DDsZ");
    EXPECT_EQ(first_column(part), (std::vector<std::string>{"3", "4"}));
    pause();

    // An SQL cursor fetched through the extended protocol, one Sync per FETCH.
    EXPECT_EQ(types_of(round_trip(raw, query_msg("DECLARE sqlcur CURSOR FOR SELECT g FROM "
                                                 "generate_series(101, 105) g"))),
              "CZ");
    for (const auto& expected :
         {std::vector<std::string>{"101", "102"}, std::vector<std::string>{"103", "104"}}) {
        pause();
        part = round_trip(raw, parse_msg("", "FETCH 2 FROM sqlcur") + bind_msg("", "") +
                                   execute_msg("") + sync_msg());
        EXPECT_EQ(types_of(part), "12DDCZ");
        EXPECT_EQ(first_column(part), expected);
    }
    pause();
    part = round_trip(raw, execute_msg("cur", 0) + execute_msg("p2", 0) + sync_msg());
    EXPECT_EQ(types_of(part), "DDDDCDCZ");
    EXPECT_EQ(first_column(part), (std::vector<std::string>{"7", "8", "9", "10", "5"}));
    EXPECT_EQ(ready_status(part), 'T');

    // Progress, not speed: under load the others may still be logging in.
    EXPECT_TRUE(wait_until([&] { return others.watched_done() > 0; }, milliseconds(10000)));
    others.stop();
    EXPECT_EQ(others.failures(), 0);
    EXPECT_EQ(others.watched_pids().count(std::stoi(pid)), 0u)
        << "another client ran on the server of a transaction that was still open";

    EXPECT_EQ(types_of(round_trip(raw, query_msg("COMMIT"))), "CZ");
    // The portal ended with its transaction, as in PostgreSQL.
    const auto gone = round_trip(raw, execute_msg("cur", 1) + sync_msg());
    EXPECT_EQ(types_of(gone), "EZ");
    EXPECT_EQ(first_sqlstate(gone), "34000");
}

// ---- 7. pgbench -M prepared ----

struct Command {
    std::optional<int> status;  // raw wait status; nullopt = killed after the timeout
    std::string output;
};

// Runs `args` with `env` added to the environment, stdout+stderr captured, bounded by `timeout`.
Command run_command(const std::vector<std::string>& args,
                    const std::vector<std::pair<std::string, std::string>>& env,
                    std::chrono::milliseconds timeout) {
    const std::string log = write_temp_file("command.log", "");
    const int fd = ::open(log.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    std::vector<char*> argv;
    for (const std::string& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        for (const auto& [key, value] : env) {
            ::setenv(key.c_str(), value.c_str(), 1);
        }
        ::execvp(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fd);
    Command out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid > 0) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            out.status = status;
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            break;
        }
        std::this_thread::sleep_for(milliseconds(50));
    }
    std::ifstream in(log);
    std::ostringstream text;
    text << in.rdbuf();
    out.output = text.str();
    return out;
}

std::string pgbench_path() {
    const std::string from_topology = topology().pg_bin + "/pgbench";
    return std::filesystem::exists(from_topology) ? from_topology : "pgbench";
}

TEST(PreparedStatements, PgbenchPreparedModeHasNoFailures) {
    auto router = start_router(2);
    const std::vector<std::pair<std::string, std::string>> env = {{"PGPASSWORD", "app"},
                                                                  {"PGCONNECT_TIMEOUT", "10"}};
    const Command init = run_command({pgbench_path(), "-i", "-q", "-h", topology().pghost, "-p",
                                      std::to_string(topology().primary_port), "-U", "app", "app2"},
                                     env, std::chrono::minutes(2));
    ASSERT_TRUE(init.status && WIFEXITED(*init.status) && WEXITSTATUS(*init.status) == 0)
        << "pgbench -i directly against PostgreSQL failed:\n"
        << init.output;

    BackendCountMonitor monitor(router->pid(), "usename = 'app' AND datname = 'app2'",
                                milliseconds(50));
    // One pgbench thread per client (-j 8): pgbench 15 prepares a client's statements with
    // blocking PQprepare calls, and while a thread blocks there waiting for a server connection
    // its other clients, some inside open transactions holding the only two server connections,
    // cannot go on; with fewer threads than clients that stalls until query_wait_timeout.
    const Command run =
        run_command({pgbench_path(), "-M", "prepared", "-c", "8", "-j", "8", "-t", "100", "-h",
                     "127.0.0.1", "-p", std::to_string(router->port()), "-U", "app", "app2"},
                    env, std::chrono::minutes(4));
    monitor.stop();
    ASSERT_TRUE(run.status.has_value()) << "pgbench did not finish:\n" << run.output;
    EXPECT_TRUE(WIFEXITED(*run.status) && WEXITSTATUS(*run.status) == 0)
        << "pgbench " << describe_wait_status(*run.status) << ":\n"
        << run.output;
    EXPECT_NE(run.output.find("number of transactions actually processed: 800/800"),
              std::string::npos)
        << run.output;
    EXPECT_NE(run.output.find("number of failed transactions: 0 "), std::string::npos)
        << run.output;
    EXPECT_LE(monitor.max_seen(), 2);

    // Every transaction really committed (pgbench truncated the history before the run).
    PgConn direct(direct_conninfo("app", "app", "app2"));
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM pgbench_history"), "800");
}

}  // namespace
}  // namespace pgrouter::test
