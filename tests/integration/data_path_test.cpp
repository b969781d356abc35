// tests/integration/data_path_test.cpp — the data path through pgrouter against real PostgreSQL 15:
// a client gets exactly the ParameterStatus messages PostgreSQL would send it, messages up to 1 GB
// are streamed to the server rather than buffered, a Parse of a statement pgrouter already knows
// needs no server, and an idle client costs little memory (pgrouter's own, from /proc/<pid>).
#include <sys/resource.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "support/bulk_send.hpp"
#include "support/bytes.hpp"
#include "support/extended_query.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/process_memory.hpp"
#include "support/raw_client.hpp"
#include "support/server_activity.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kHealthyTimeout{15000};

// In a sanitizer build (scripts/test.sh's build-asan: shadow memory, redzones, a quarantine of
// freed blocks) pgrouter's memory figures say nothing about its own use: those checks are skipped.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
constexpr const char* kSelectOneReply = "T, D 1, C SELECT 1, Z I";

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (const std::string& part : parts) {
        out += (out.empty() ? "" : std::string(separator)) + part;
    }
    return out;
}

// ---- raw sessions ----

// Logs a raw client in as `trustuser` (trust in pgrouter and in PostgreSQL alike) to database app
// with `application_name`. True when the login ended in ReadyForQuery without an error.
bool login(RawClient& raw, std::uint16_t port, std::string_view application_name) {
    if (!raw.connect(port) || !raw.send(startup({{"user", "trustuser"},
                                                 {"database", "app"},
                                                 {"application_name", application_name}}))) {
        return false;
    }
    const std::vector<RawMessage> messages = raw.read_messages(kProtocolTimeout, 'Z');
    return !messages.empty() && messages.back().type == 'Z' && first_sqlstate(messages).empty();
}

// One message as a comparable word: "S application_name=x", "C SET", "Z I", "E 42601", "D 1"
// (first column), or the type letter alone.
std::string word(const RawMessage& m) {
    const std::string& b = m.body;
    switch (m.type) {
        case 'S': {
            const std::size_t nul = b.find('\0');
            const std::string name = b.substr(0, nul);
            const std::string value =
                nul == std::string::npos ? "" : b.substr(nul + 1, b.find('\0', nul + 1) - nul - 1);
            return "S " + name + "=" + value;
        }
        case 'C':
            return "C " + b.substr(0, b.find('\0'));
        case 'Z':
            return "Z " + b;
        case 'E':
            return "E " + error_field(m, 'C');
        case 'D':
            return "D " + first_column({m}).at(0);
        default:
            return std::string(1, m.type);
    }
}

std::string transcript(const std::vector<RawMessage>& messages) {
    std::vector<std::string> words;
    for (const RawMessage& m : messages) {
        words.push_back(word(m));
    }
    return join(words, ", ");
}

int count_type(const std::vector<RawMessage>& messages, char type) {
    int n = 0;
    for (const RawMessage& m : messages) {
        n += m.type == type ? 1 : 0;
    }
    return n;
}

// ---- 1. ParameterStatus exactly as PostgreSQL sends it ----

TEST(ParameterStatus, NoneAfterLoginWhileServerConnectionsChangeHands) {
    constexpr int kClients = 40;
    constexpr int kRounds = 30;
    RouterOptions options;
    options.pool_size = 2;
    options.query_wait_timeout_ms = 60000;
    options.log_connections = false;
    PgrouterProcess router(base_yaml(options));
    std::vector<std::unique_ptr<RawClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(std::make_unique<RawClient>());
        ASSERT_TRUE(login(*clients.back(), router.port(), "it_ps_" + std::to_string(i)))
            << "client " << i << " could not log in";
    }
    int parameter_status = 0;
    std::set<int> clients_told;         // clients that got at least one ParameterStatus
    std::vector<std::string> reported;  // the first few replies holding a ParameterStatus
    std::vector<std::string> wrong;     // the first few not T, D, C, Z 'I' (ParameterStatus aside)
    std::set<std::string> backends;
    for (int round = 0; round < kRounds; ++round) {
        // All 40 queries are in flight at once and queue for the two server connections, so a
        // client mostly lands on a server connection that another client (another
        // application_name) used last.
        for (auto& client : clients) {
            ASSERT_TRUE(client->send(query_msg("SELECT pg_backend_pid()")));
        }
        for (int i = 0; i < kClients; ++i) {
            const std::vector<RawMessage> reply = round_trip(*clients[i], "");  // read only
            const std::string where =
                "client " + std::to_string(i) + " round " + std::to_string(round) + ": ";
            const int n = count_type(reply, 'S');
            parameter_status += n;
            if (n > 0) {
                clients_told.insert(i);
                if (reported.size() < 5) {
                    reported.push_back(where + transcript(reply));
                }
            }
            std::string types = types_of(reply);
            std::erase(types, 'S');
            if (types != "TDCZ" || ready_status(reply) != 'I') {
                if (wrong.size() < 5) {
                    wrong.push_back(where + transcript(reply));
                }
                continue;
            }
            backends.insert(first_column(reply).at(0));
        }
    }
    EXPECT_EQ(parameter_status, 0)
        << clients_told.size() << " of " << kClients
        << " clients got ParameterStatus after login, e.g.\n  " << join(reported, "\n  ");
    EXPECT_TRUE(wrong.empty()) << "replies other than T, D, C, Z:\n  " << join(wrong, "\n  ");
    EXPECT_GE(backends.size(), 1u);
    EXPECT_LE(backends.size(), 2u) << "40 clients over pool.size 2 used more server backends";
}

struct Step {
    std::string label;
    std::string bytes;
};

Step simple(const std::string& sql) {
    return {sql, query_msg(sql)};
}

// Parse/Bind/Execute/Sync of `sql` as the unnamed statement and portal.
Step extended(const std::string& sql) {
    return {"extended " + sql,
            parse_msg("", sql) + bind_msg("", "") + execute_msg("") + sync_msg()};
}

struct ScriptTranscript {
    std::vector<std::string> steps;   // the watched client's reply to each step
    std::vector<std::string> others;  // replies of the other clients that were not kSelectOneReply
};

// Runs `steps` as one watched client on `port` while two other clients (other application_names)
// each run SELECT 1 before every step; through pgrouter with pool.size 1 the server connection
// changes hands between all of them every time.
ScriptTranscript run_watched_script(std::uint16_t port, const std::vector<Step>& steps) {
    ScriptTranscript out;
    RawClient watched;
    std::array<RawClient, 2> others;
    if (!login(watched, port, "it_ps_watched")) {
        ADD_FAILURE() << "watched client could not log in on port " << port;
        return out;
    }
    for (std::size_t i = 0; i < others.size(); ++i) {
        if (!login(others[i], port, "it_ps_other_" + std::to_string(i))) {
            ADD_FAILURE() << "other client " << i << " could not log in on port " << port;
            return out;
        }
    }
    for (const Step& step : steps) {
        for (RawClient& other : others) {
            const std::string words = transcript(round_trip(other, query_msg("SELECT 1")));
            if (words != kSelectOneReply) {
                out.others.push_back("before '" + step.label + "': " + words);
            }
        }
        out.steps.push_back(transcript(round_trip(watched, step.bytes)));
    }
    return out;
}

// The watched client's replies through pgrouter equal PostgreSQL's own, step by step.
void expect_same_as_direct(const std::vector<Step>& steps) {
    RouterOptions options;
    options.pool_size = 1;
    options.query_wait_timeout_ms = 20000;
    PgrouterProcess router(base_yaml(options));
    const ScriptTranscript direct = run_watched_script(topology().primary_port, steps);
    const ScriptTranscript routed = run_watched_script(router.port(), steps);
    ASSERT_EQ(direct.steps.size(), steps.size());
    ASSERT_EQ(routed.steps.size(), steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
        EXPECT_EQ(routed.steps[i], direct.steps[i]) << "step " << i << ": " << steps[i].label;
    }
    EXPECT_TRUE(direct.others.empty()) << join(direct.others, "\n");
    EXPECT_TRUE(routed.others.empty())
        << "other clients through pgrouter got:\n  " << join(routed.others, "\n  ");
    // The script really makes PostgreSQL report something, or the comparison proves little.
    EXPECT_NE(join(direct.steps, "\n").find("S application_name=it_ps_"), std::string::npos);
}

// A TimeZone the server does not default to.
std::string other_time_zone() {
    PgConn direct(direct_conninfo("trustuser", "", "app"));
    return direct.scalar("SHOW TimeZone") == "Asia/Tokyo" ? "Europe/Paris" : "Asia/Tokyo";
}

constexpr const char* kShowSettings =
    "SELECT current_setting('application_name') || ' ' || current_setting('TimeZone')";

TEST(ParameterStatus, SimpleQuerySetsAreReportedExactlyAsByPostgreSQL) {
    expect_same_as_direct({
        simple("SET application_name = 'it_ps_x'"),
        simple("SET TimeZone = '" + other_time_zone() + "'"),
        simple("SET application_name = 'it_ps_x'"),  // same value: PostgreSQL reports nothing
        simple("SELECT 1"),
        simple(kShowSettings),
    });
}

TEST(ParameterStatus, ExtendedBatchSetsAreReportedExactlyAsByPostgreSQL) {
    const std::string batch_of_two =
        parse_msg("", "SET application_name TO 'it_ps_z'") + bind_msg("", "") + execute_msg("") +
        parse_msg("", "SELECT 1") + bind_msg("", "") + execute_msg("") + sync_msg();
    expect_same_as_direct({
        extended("SET application_name TO 'it_ps_y'"),
        extended("SET application_name TO 'it_ps_y'"),
        extended("SET TimeZone TO '" + other_time_zone() + "'"),
        simple("SELECT 1"),
        {"SET application_name then SELECT 1 in one batch", batch_of_two},
        extended(kShowSettings),
    });
}

// ---- 2. large messages are streamed ----

constexpr std::size_t kLargeBytes = 200000000;         // 200 MB
constexpr std::int64_t kStreamedBoundKib = 32 * 1024;  // 32 MiB
constexpr std::uint32_t kAboveOneGiB = (std::uint32_t{1} << 30) + 1;
constexpr milliseconds kLargeTimeout{180000};
constexpr Oid kByteaOid = 17;

// pgrouter with its default limits.max_message_bytes and pool.size 2, and a bystander that holds
// an open transaction on one server connection for the whole test.
class LargeMessages : public ::testing::Test {
protected:
    void SetUp() override {
        RouterOptions options;
        options.pool_size = 2;
        router_ = std::make_unique<PgrouterProcess>(
            without_setting(base_yaml(options), "max_message_bytes"));
        bystander_ = std::make_unique<PgConn>(conninfo());
        bystander_->exec("BEGIN");
        bystander_pid_ = bystander_->backend_pid();
    }

    std::string conninfo() const { return router_->conninfo("app", "app", "app"); }

    void expect_bystander_undisturbed() {
        ASSERT_TRUE(router_->running()) << "pgrouter exited";
        const ExecResult pid = bystander_->try_exec("SELECT pg_backend_pid()", kHealthyTimeout);
        EXPECT_EQ(cell(pid), std::to_string(bystander_pid_)) << "the bystander's transaction broke";
        EXPECT_EQ(tx_status(bystander_->raw()), 'T');
        EXPECT_TRUE(bystander_->try_exec("COMMIT", kHealthyTimeout).ok);
    }

    // pgrouter's peak resident memory while `what` went through rose far less than its size.
    void expect_streamed(const PeakRssProbe& probe, std::string_view what) {
        if (kSanitizerBuild) {
            return;
        }
        ASSERT_TRUE(probe.usable()) << "cannot reset or read /proc/" << router_->pid() << " memory";
        const std::optional<std::int64_t> growth = probe.growth_kib();
        ASSERT_TRUE(growth.has_value());
        EXPECT_LT(*growth, kStreamedBoundKib)
            << what << " raised pgrouter's peak RSS by " << *growth / 1024 << " MiB (from "
            << probe.start_kib() / 1024 << " MiB): the message was buffered, not streamed";
    }

    std::unique_ptr<PgrouterProcess> router_;
    std::unique_ptr<PgConn> bystander_;
    int bystander_pid_ = 0;
};

TEST_F(LargeMessages, BinaryByteaParameterOf200MBIsStreamed) {
    PgConn conn(conninfo());
    const std::string value(kLargeBytes, 'b');
    const PeakRssProbe probe(router_->pid());
    const ExecResult r = send_large(conn.raw(), kLargeTimeout, [&](PGconn* c) {
        const char* values[] = {value.data()};
        const int lengths[] = {static_cast<int>(value.size())};
        const int formats[] = {1};
        return PQsendQueryParams(c, "SELECT length($1::bytea)", 1, &kByteaOid, values, lengths,
                                 formats, 0);
    });
    EXPECT_EQ(cell(r), std::to_string(kLargeBytes));
    expect_streamed(probe, "a 200 MB Bind");
    expect_bystander_undisturbed();
}

TEST_F(LargeMessages, SimpleQueryOf200MBIsStreamed) {
    PgConn conn(conninfo());
    const std::string sql = "SELECT length('" + std::string(kLargeBytes, 'x') + "')";
    const PeakRssProbe probe(router_->pid());
    const ExecResult r = send_large(conn.raw(), kLargeTimeout,
                                    [&](PGconn* c) { return PQsendQuery(c, sql.c_str()); });
    EXPECT_EQ(cell(r), std::to_string(kLargeBytes));
    expect_streamed(probe, "a 200 MB Query");
    expect_bystander_undisturbed();
}

TEST_F(LargeMessages, CopyFromStdinOf200MBIsStreamed) {
    constexpr int kChunks = 4;          // CopyData messages of 50 MB
    constexpr int kLinesPerChunk = 50;  // of 1 MB each, newline included
    constexpr std::size_t kLine = kLargeBytes / kChunks / kLinesPerChunk;
    ScratchTable table("it_bigcopy", "line text NOT NULL");
    std::string chunk;
    for (int i = 0; i < kLinesPerChunk; ++i) {
        chunk += std::string(kLine - 1, 'c') + "\n";
    }
    PgConn conn(conninfo());
    const PeakRssProbe probe(router_->pid());
    const ExecResult r = copy_in(conn.raw(), "COPY " + table.name() + " (line) FROM STDIN", chunk,
                                 kChunks, kLargeTimeout);
    EXPECT_TRUE(r.ok) << outcome(r);
    expect_streamed(probe, "a 200 MB COPY FROM STDIN");
    PgConn direct(direct_conninfo("app", "app", "app"));
    EXPECT_EQ(direct.scalar("SELECT count(*) || ' ' || sum(length(line)) FROM " + table.name()),
              std::to_string(kChunks * kLinesPerChunk) + " " +
                  std::to_string(kChunks * kLinesPerChunk * (kLine - 1)));
    expect_bystander_undisturbed();
}

TEST_F(LargeMessages, DeclaredLengthAboveOneGiBGets08P01AndClose) {
    RawClient raw;
    ASSERT_TRUE(login(raw, router_->port(), "it_huge"));
    // Only the header and a few bytes: PostgreSQL rejects on the length alone, and so must
    // pgrouter, without waiting for a gigabyte that never comes.
    ASSERT_TRUE(raw.send(msg_with_length('Q', kAboveOneGiB, "SELECT 1")));
    raw.read_messages(milliseconds(10000));
    EXPECT_EQ(raw.first_error_sqlstate(), "08P01");
    for (const RawMessage& m : raw.received()) {
        if (m.type == 'E') {
            EXPECT_EQ(error_field(m, 'S'), "FATAL");
        }
    }
    EXPECT_TRUE(raw.closed()) << "the connection stayed open";
    expect_bystander_undisturbed();
}

// ---- 3. messages answered without a server ----

TEST(AnsweredWithoutServer, ParseOfAKnownStatementNeedsNoServerConnection) {
    RouterOptions options;
    options.pool_size = 1;
    options.query_wait_timeout_ms = 3000;
    PgrouterProcess router(base_yaml(options));
    const std::string marker = unique_name("it_known");
    const std::string sql = "SELECT $1::int * 7, '" + marker + "'::text";
    PgConn a(router.conninfo("app", "app", "app"));
    PgConn b(router.conninfo("app", "app", "app"));
    const ExecResult prepared_a = prepare(a.raw(), "a_stmt", sql);
    ASSERT_TRUE(prepared_a.ok) << outcome(prepared_a);
    ASSERT_EQ(cell(exec_prepared(a.raw(), "a_stmt", {"6"})), "42");

    a.exec("BEGIN");
    const int a_pid = a.backend_pid();  // A now holds the only server connection
    const auto start = Clock::now();
    const ExecResult prepared_b = prepare(b.raw(), "b_stmt", sql);
    const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    EXPECT_TRUE(prepared_b.ok) << outcome(prepared_b) << " after " << took.count() << " ms";
    EXPECT_LT(took, milliseconds(1500))
        << "Parse+Sync of a statement pgrouter already saw succeed waited for a server";
    EXPECT_EQ(tx_status(b.raw()), 'I');

    EXPECT_EQ(a.backend_pid(), a_pid) << "A's transaction moved to another server";
    EXPECT_EQ(tx_status(a.raw()), 'T');
    a.exec("COMMIT");
    const ExecResult run_b = exec_prepared(b.raw(), "b_stmt", {"6"});
    EXPECT_EQ(cell(run_b), "42");
    EXPECT_EQ(cell(run_b, 0, 1), marker);
    EXPECT_EQ(cell(exec_prepared(a.raw(), "a_stmt", {"2"})), "14");
}

constexpr int kBenchRows = 1000;

// A table of kBenchRows rows (id, v) for pgbench scripts: this test's own, because pgbench -i
// would replace the pgbench_* tables that other tests use in parallel.
std::unique_ptr<ScratchTable> bench_table() {
    auto table = std::make_unique<ScratchTable>("it_bench", "id int PRIMARY KEY, v int NOT NULL");
    PgConn direct(direct_conninfo("app", "app", "app"));
    direct.exec("INSERT INTO " + table->name() + " SELECT g, g * 2 FROM generate_series(1, " +
                std::to_string(kBenchRows) + ") g");
    return table;
}

// pgbench -M prepared -j 1 -c 8 -t 50 running `statements` (after `\set id random(...)`) through
// pgrouter with pool.size 2 and the default query_wait_timeout: every transaction must succeed.
// With one thread for eight clients, pgbench 15's blocking PQprepare() stops the thread while one
// client's Parse waits, so a Parse that needs a server connection stalls the thread's other
// clients, and when they hold every server connection, all wait for query_wait_timeout.
void expect_pgbench_prepared_one_thread(const std::string& statements) {
    const std::string script = write_temp_file(
        "script.sql", "\\set id random(1, " + std::to_string(kBenchRows) + ")\n" + statements);
    RouterOptions options;
    options.pool_size = 2;
    PgrouterProcess router(base_yaml(options));
    BackendCountMonitor monitor(router.pid(), "usename = 'app' AND datname = 'app'",
                                milliseconds(50));
    const CommandResult run =
        run_program({topology().pg_bin + "/pgbench", "-n", "-M", "prepared", "-j", "1", "-c", "8",
                     "-t", "50", "-f", script, router.conninfo("app", "app", "app")},
                    std::chrono::minutes(3));
    monitor.stop();
    ASSERT_TRUE(run.status.has_value()) << "pgbench did not finish:\n" << run.output;
    EXPECT_TRUE(WIFEXITED(*run.status) && WEXITSTATUS(*run.status) == 0)
        << "pgbench " << describe_wait_status(*run.status) << ":\n"
        << run.output;
    // pgbench prints its summary (and the output above) even for an aborted run.
    EXPECT_NE(run.output.find("number of transactions actually processed: 400/400"),
              std::string::npos);
    EXPECT_NE(run.output.find("number of failed transactions: 0 "), std::string::npos);
    EXPECT_LE(monitor.max_seen(), 2);
}

TEST(AnsweredWithoutServer, PgbenchPreparedSelectOnlyOneThreadHasNoFailures) {
    const auto table = bench_table();
    // pgbench -S's script, on this test's table.
    expect_pgbench_prepared_one_thread("SELECT v FROM " + table->name() + " WHERE id = :id;\n");
}

TEST(AnsweredWithoutServer, PgbenchPreparedTransactionsOneThreadHaveNoFailures) {
    const auto table = bench_table();
    // Clients inside BEGIN ... END hold a server connection while the thread prepares the next
    // client's BEGIN, which pgrouter has seen succeed already.
    expect_pgbench_prepared_one_thread("BEGIN;\nSELECT v FROM " + table->name() +
                                       " WHERE id = :id;\nSELECT v + 1 FROM " + table->name() +
                                       " WHERE id = :id;\nEND;\n");
}

// ---- 4. the memory an idle client costs ----

// pgrouter with clients that stay connected and idle; the figures are VmRSS growth per client.
class IdleMemory : public ::testing::Test {
protected:
    static constexpr int kClients = 1000;
    static constexpr double kBoundBytes = 4096;  // the target is 2 KiB

    void SetUp() override {
        if (kSanitizerBuild) {
            GTEST_SKIP() << "memory figures of a sanitizer build mean nothing";
        }
        raise_nofile_limit();
        rlimit files{};
        ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
        // This process holds one socket per client and pgrouter inherits the same limit.
        ASSERT_GE(files.rlim_cur, static_cast<rlim_t>(3 * kClients))
            << "RLIMIT_NOFILE hard limit too low for " << 2 * kClients << " clients (ulimit -Hn)";
        RouterOptions options;
        options.max_client_conn = 4 * kClients;
        options.log_connections = false;
        router_ = std::make_unique<PgrouterProcess>(base_yaml(options));
        // Warm-up: the first clients and queries allocate what later ones reuse (per-thread
        // caches, the pool and its server connection); the figures start after them.
        open_clients(100, true);
    }

    // Opens `count` more raw trust clients that stay connected; with `query` each first runs
    // SELECT 1. Returns pgrouter's VmRSS growth per client, in bytes.
    double open_clients(int count, bool query) {
        const std::int64_t before = proc_status_kib(router_->pid(), "VmRSS").value_or(-1);
        int failed = 0;
        for (int i = 0; i < count; ++i) {
            auto raw = std::make_unique<RawClient>();
            bool ok = raw->connect(router_->port()) && raw->startup_trust("trustuser", "app");
            if (ok && query) {
                ok = transcript(round_trip(*raw, query_msg("SELECT 1"))) == kSelectOneReply;
            }
            failed += ok ? 0 : 1;
            clients_.push_back(std::move(raw));
        }
        EXPECT_EQ(failed, 0) << "clients that could not log in or query";
        std::this_thread::sleep_for(milliseconds(500));  // let pgrouter's threads settle
        const std::int64_t after = proc_status_kib(router_->pid(), "VmRSS").value_or(-1);
        EXPECT_GT(before, 0);
        EXPECT_GT(after, 0);
        return static_cast<double>(after - before) * 1024.0 / count;
    }

    // The oldest and the newest idle clients still get exactly PostgreSQL's answer.
    void expect_clients_answer() {
        ASSERT_TRUE(router_->running()) << "pgrouter exited";
        for (RawClient* raw : {clients_.front().get(), clients_.back().get()}) {
            EXPECT_EQ(transcript(round_trip(*raw, query_msg("SELECT 1"))), kSelectOneReply);
        }
    }

    std::unique_ptr<PgrouterProcess> router_;
    std::vector<std::unique_ptr<RawClient>> clients_;
};

TEST_F(IdleMemory, LoggedInIdleClientCostsUnderFourKiB) {
    const double per_client = open_clients(kClients, false);
    std::printf("%d idle logged-in clients: %ld bytes of pgrouter RSS each\n", kClients,
                std::lround(per_client));
    EXPECT_LT(per_client, kBoundBytes) << kClients << " idle logged-in clients cost "
                                       << std::lround(per_client) << " bytes of pgrouter RSS each";
    expect_clients_answer();
}

TEST_F(IdleMemory, ClientIdleAfterAQueryCostsUnderFourKiB) {
    open_clients(kClients, false);
    const double per_client = open_clients(kClients, true);
    std::printf("%d clients idle after one SELECT 1: %ld bytes of pgrouter RSS each\n", kClients,
                std::lround(per_client));
    EXPECT_LT(per_client, kBoundBytes) << kClients << " clients idle after one SELECT 1 cost "
                                       << std::lround(per_client) << " bytes of pgrouter RSS each";
    expect_clients_answer();
}

}  // namespace
}  // namespace pgrouter::test
