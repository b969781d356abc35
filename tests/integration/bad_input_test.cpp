// tests/integration/bad_input_test.cpp — pgrouter against hostile or broken peers, with real
// PostgreSQL 15 behind it: oversized and undersized packets, garbage, silent clients, clients that
// vanish mid-query or mid-COPY, and a server backend killed mid-query. After every case pgrouter
// must still serve the client connected beforehand and hand the next client a clean server.
#include <unistd.h>

#include <future>
#include <memory>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "support/bytes.hpp"
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

constexpr milliseconds kHealthyTimeout{15000};

// Raw tests log in as `trustuser` (pgrouter-side trust), so a StartupMessage is answered with
// AuthenticationOk directly. Pool size 1 makes every client share one server connection.
class BadInput : public ::testing::Test {
protected:
    void start(const RouterOptions& options) {
        router_ = std::make_unique<PgrouterProcess>(base_yaml(options));
        bystander_ = std::make_unique<PgConn>(trust_conninfo());
        EXPECT_EQ(bystander_->scalar("SELECT 'ready'"), "ready");
    }

    static RouterOptions pool_of_one() {
        RouterOptions options;
        options.pool_size = 1;
        options.query_wait_timeout_ms = 20000;
        return options;
    }

    std::string trust_conninfo() const { return router_->conninfo("trustuser", "", "app"); }

    // pgrouter is alive, the bystander still works, and the next client gets a clean server
    // connection: no transaction left open on any of this pgrouter's server connections.
    void expect_healthy() {
        ASSERT_TRUE(router_->running()) << "pgrouter exited";
        const ExecResult bystander = bystander_->try_exec("SELECT 'bystander ok'", kHealthyTimeout);
        EXPECT_TRUE(bystander.ok) << "client connected beforehand broke: " << bystander.sqlstate
                                  << " " << bystander.message;

        PgConn next(trust_conninfo());
        const ExecResult one = next.try_exec("SELECT 1", kHealthyTimeout);
        ASSERT_TRUE(one.ok) << one.sqlstate << " " << one.message;
        EXPECT_EQ(PQtransactionStatus(next.raw()), PQTRANS_IDLE);
        // Both clients ran on the single server connection, so it is clean if it is idle.
        PgConn admin(admin_conninfo());
        EXPECT_EQ(count_backends_of(admin, router_->pid(), "state LIKE 'idle in transaction%'"), 0);
    }

    // Logs a raw client in; the test stops when that fails.
    void raw_login(RawClient& raw) {
        ASSERT_TRUE(raw.connect(router_->port()));
        ASSERT_TRUE(raw.startup_trust("trustuser", "app"))
            << "trust login failed; first error: " << raw.first_error_sqlstate();
    }

    std::unique_ptr<PgrouterProcess> router_;
    std::unique_ptr<PgConn> bystander_;
};

// Sends `head`, gives pgrouter a moment to reject it on the length alone, then sends `rest`
// (ignoring a reset) and reads until EOF. This works whether pgrouter checks the length before
// or after reading the body.
void send_in_two_parts(RawClient& raw, std::string_view head, std::string_view rest) {
    ASSERT_TRUE(raw.send(head));
    raw.read_messages(milliseconds(1000));
    if (!raw.closed() && raw.first_error_sqlstate().empty()) {
        raw.send(rest);
    }
    raw.read_messages(milliseconds(10000));
}

TEST_F(BadInput, OversizedStartupPacketGets08P01AndClose) {
    RouterOptions options = pool_of_one();
    options.max_startup_packet_bytes = 10000;
    start(options);
    const Buf packet_bytes =
        startup({{"user", "trustuser"}, {"database", "app"}, {"options", std::string(20000, 'x')}});
    const std::string all = text(packet_bytes);
    RawClient raw;
    ASSERT_TRUE(raw.connect(router_->port()));
    send_in_two_parts(raw, std::string_view(all).substr(0, 8), std::string_view(all).substr(8));
    EXPECT_EQ(raw.first_error_sqlstate(), "08P01");
    EXPECT_TRUE(raw.closed());
    expect_healthy();
}

TEST_F(BadInput, OversizedTypedMessageGets08P01AndClose) {
    RouterOptions options = pool_of_one();
    options.max_message_bytes = 4096;
    start(options);
    RawClient raw;
    raw_login(raw);
    const std::string sql = "SELECT '" + std::string(7980, 'y') + "'";
    std::string body = cstr(sql);
    body.resize(8000, ' ');
    const std::string query = text(msg('Q', body));
    send_in_two_parts(raw, std::string_view(query).substr(0, 5), std::string_view(query).substr(5));
    EXPECT_EQ(raw.first_error_sqlstate(), "08P01");
    EXPECT_TRUE(raw.closed());
    expect_healthy();
}

TEST_F(BadInput, TypedMessageLengthBelowFourGets08P01) {
    start(pool_of_one());
    RawClient raw;
    raw_login(raw);
    ASSERT_TRUE(raw.send(msg_with_length('Q', 3, "")));
    raw.read_messages(milliseconds(10000));
    EXPECT_EQ(raw.first_error_sqlstate(), "08P01");
    EXPECT_TRUE(raw.closed());
    expect_healthy();
}

TEST_F(BadInput, StartupLengthBelowMinimumIsRejected) {
    start(pool_of_one());
    RawClient raw;
    ASSERT_TRUE(raw.connect(router_->port()));
    ASSERT_TRUE(raw.send(be32(3) + be32(196608)));
    raw.read_messages(milliseconds(10000));
    EXPECT_TRUE(raw.closed());
    const std::string state = raw.first_error_sqlstate();
    EXPECT_TRUE(state.empty() || state == "08P01") << state;
    expect_healthy();
}

TEST_F(BadInput, GarbageInsteadOfStartupIsRejectedWithoutCrashing) {
    RouterOptions options = pool_of_one();
    // A garbage "length" that happens to be small makes pgrouter wait for the rest; the login
    // timeout then ends it, so every case finishes within the read below.
    options.client_login_timeout_ms = 3000;
    start(options);
    std::mt19937 rng(4242);
    std::string random_bytes;
    for (int i = 0; i < 512; ++i) {
        random_bytes.push_back(static_cast<char>(rng() & 0xff));
    }
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"http request", "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"},
        {"random bytes", random_bytes},
        {"protocol 2.0", text(startup({{"user", "trustuser"}}, 0x00020000))},
        {"length 0xffffffff", be32(0xffffffffu) + be32(196608)},
        {"unterminated parameters", text(packet(196608, "user\0trustuser"))},
    };
    for (const auto& [name, bytes] : cases) {
        RawClient raw;
        ASSERT_TRUE(raw.connect(router_->port())) << name;
        raw.send(bytes);
        raw.read_messages(milliseconds(10000));
        EXPECT_TRUE(raw.closed() || !raw.first_error_sqlstate().empty())
            << name << ": neither an error nor a close";
        for (const RawMessage& m : raw.received()) {
            EXPECT_NE(m.type, 'Z') << name << ": garbage got a session";
        }
        ASSERT_TRUE(router_->running()) << "pgrouter died on " << name;
    }
    expect_healthy();
}

TEST_F(BadInput, SilentClientIsDisconnectedByTheLoginTimeout) {
    RouterOptions options = pool_of_one();
    options.client_login_timeout_ms = 500;
    start(options);
    RawClient silent;
    ASSERT_TRUE(silent.connect(router_->port()));
    RawClient partial;  // half a startup packet, then nothing
    ASSERT_TRUE(partial.connect(router_->port()));
    ASSERT_TRUE(partial.send(be32(40)));
    silent.read_messages(milliseconds(10000));
    partial.read_messages(milliseconds(10000));
    EXPECT_TRUE(silent.closed()) << "a client that sent nothing is still connected";
    EXPECT_TRUE(partial.closed()) << "a client with half a startup packet is still connected";
    expect_healthy();
}

TEST_F(BadInput, ClientDisconnectingMidQueryLeavesACleanServer) {
    start(pool_of_one());
    const std::string marker = unique_name("it_midquery");
    {
        RawClient raw;
        raw_login(raw);
        ASSERT_TRUE(raw.send(msg('Q', cstr("SELECT pg_sleep(5), '" + marker + "'"))));
        PgConn admin(admin_conninfo());
        ASSERT_TRUE(wait_until(
            [&] {
                return admin.scalar(
                           "SELECT count(*) FROM pg_stat_activity WHERE state = "
                           "'active' AND query LIKE '%" +
                           marker + "%' AND pid <> pg_backend_pid()") == "1";
            },
            milliseconds(10000)));
    }  // the socket closes here, mid-query
    expect_healthy();
}

TEST_F(BadInput, ClientDisconnectingMidCopyCommitsNothing) {
    start(pool_of_one());
    ScratchTable table("it_bad_copy", "x int", "trustuser", "", "app");
    {
        RawClient raw;
        raw_login(raw);
        ASSERT_TRUE(raw.send(msg('Q', cstr("COPY " + table.name() + " FROM STDIN"))));
        raw.read_messages(milliseconds(10000), 'G');
        ASSERT_FALSE(raw.received().empty());
        ASSERT_EQ(raw.received().back().type, 'G') << "no CopyInResponse";
        ASSERT_TRUE(raw.send(msg('d', "1\n2\n3\n")));
        ASSERT_TRUE(raw.send(msg('d', "4\n5\n")));
    }  // closed without CopyDone
    expect_healthy();
    PgConn direct(direct_conninfo("trustuser", "", "app"));
    EXPECT_EQ(direct.scalar("SELECT count(*) FROM " + table.name()), "0");
    PgConn admin(admin_conninfo());
    EXPECT_TRUE(wait_until(
        [&] {
            return count_backends_of(admin, router_->pid(),
                                     "state = 'active' AND query LIKE 'COPY%'") == 0;
        },
        milliseconds(10000)))
        << "a server connection is still stuck in the abandoned COPY";
}

TEST_F(BadInput, ServerKilledMidQueryGivesThePromptError) {
    start(pool_of_one());
    const std::string marker = unique_name("it_killed");
    PgConn victim(trust_conninfo());
    auto query = std::async(std::launch::async, [&] {
        return victim.try_exec("SELECT pg_sleep(30), '" + marker + "'", milliseconds(20000));
    });
    PgConn admin(admin_conninfo());
    const std::string find = "FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%" +
                             marker + "%' AND pid <> pg_backend_pid()";
    ASSERT_TRUE(wait_until([&] { return admin.scalar("SELECT count(*) " + find) == "1"; },
                           milliseconds(10000)));
    EXPECT_EQ(admin.scalar("SELECT bool_and(pg_terminate_backend(pid)) " + find), "t");

    const ExecResult result = query.get();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.sqlstate, "TIMEOUT") << "the client hung after its server died";
    expect_healthy();
}

}  // namespace
}  // namespace pgrouter::test
