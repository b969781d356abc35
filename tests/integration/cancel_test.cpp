// tests/integration/cancel_test.cpp — CancelRequest through pgrouter against real PostgreSQL 15: a
// libpq PQcancel sent to pgrouter stops exactly that client's query; a CancelRequest with a key
// pgrouter never issued cancels nothing.
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

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;

constexpr std::uint32_t kCancelRequestCode = 80877102;

// Waits until a query containing `marker` is running on the server (asked of PostgreSQL).
bool wait_until_active(const std::string& marker) {
    PgConn admin(admin_conninfo());
    return wait_until(
        [&] {
            return admin.scalar(
                       "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                       " AND pid <> pg_backend_pid() AND query LIKE '%" +
                       marker + "%'") == "1";
        },
        milliseconds(15000));
}

class Cancel : public ::testing::Test {
protected:
    void SetUp() override { router_ = std::make_unique<PgrouterProcess>(base_yaml()); }
    std::unique_ptr<PgrouterProcess> router_;
};

TEST_F(Cancel, PqCancelStopsTheLongQueryWith57014) {
    PgConn victim(router_->conninfo("app", "app", "app"));
    PgConn bystander(router_->conninfo("app", "app", "app"));
    const std::string marker = unique_name("it_cancel");
    const std::string bystander_marker = unique_name("it_bystander");
    // libpq's cancel object holds the key pgrouter sent in BackendKeyData and pgrouter's address.
    std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(victim.raw()),
                                                              &PQfreeCancel);
    ASSERT_TRUE(cancel);

    auto slow = std::async(std::launch::async, [&] {
        return bystander.try_exec("SELECT pg_sleep(3), '" + bystander_marker + "'",
                                  milliseconds(30000));
    });
    // 30 s of sleep against a 20 s deadline: only a working cancel ends it in time.
    auto long_query = std::async(std::launch::async, [&] {
        return victim.try_exec("SELECT pg_sleep(30), '" + marker + "'", milliseconds(20000));
    });
    ASSERT_TRUE(wait_until_active(marker)) << "the long query never showed up as active";
    ASSERT_TRUE(wait_until_active(bystander_marker));

    char error[256] = {0};
    ASSERT_EQ(PQcancel(cancel.get(), error, sizeof(error)), 1) << error;

    const ExecResult cancelled = long_query.get();
    EXPECT_FALSE(cancelled.ok);
    EXPECT_EQ(cancelled.sqlstate, "57014") << cancelled.message;

    const ExecResult other = slow.get();
    EXPECT_TRUE(other.ok) << "a cancel for one client stopped another: " << other.sqlstate << " "
                          << other.message;
    EXPECT_EQ(victim.scalar("SELECT 'usable after cancel'"), "usable after cancel");
}

TEST_F(Cancel, CancelRequestWithAnUnknownKeyCancelsNothing) {
    PgConn victim(router_->conninfo("app", "app", "app"));
    const std::string marker = unique_name("it_nocancel");
    auto query = std::async(std::launch::async, [&] {
        return victim.try_exec("SELECT pg_sleep(3), '" + marker + "'", milliseconds(30000));
    });
    ASSERT_TRUE(wait_until_active(marker));

    std::mt19937 rng(static_cast<unsigned>(::getpid()));
    // A random process id and key, then the client's real (pgrouter-issued) process id with a
    // random key: neither may cancel anything.
    const std::uint32_t pgrouter_pid = static_cast<std::uint32_t>(PQbackendPID(victim.raw()));
    for (const std::uint32_t pid : {static_cast<std::uint32_t>(rng()), pgrouter_pid}) {
        RawClient raw;
        ASSERT_TRUE(raw.connect(router_->port()));
        ASSERT_TRUE(raw.send(packet(kCancelRequestCode, be32(pid) + be32(rng()))));
        raw.read_messages(milliseconds(2000));
        EXPECT_TRUE(raw.closed()) << "pgrouter should close a CancelRequest connection";
        EXPECT_TRUE(raw.received().empty()) << "a CancelRequest gets no reply";
    }

    const ExecResult result = query.get();
    EXPECT_TRUE(result.ok) << "cancelled by a bogus key: " << result.sqlstate << " "
                           << result.message;
    ASSERT_EQ(result.rows.size(), 1u);
    EXPECT_EQ(result.rows[0][1], marker);
}

}  // namespace
}  // namespace pgrouter::test
