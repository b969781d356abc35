// Unit tests for the prober's pure helpers: who it logs in as, how often it probes.
#include "pgrouter/probe/prober.hpp"

#include <gtest/gtest.h>

namespace pgrouter::probe {
namespace {

using std::chrono::milliseconds;

config::UserConfig user(std::string name, config::AuthMethod auth, std::string server_password) {
    config::UserConfig out;
    out.name = std::move(name);
    out.auth = auth;
    out.server_password = std::move(server_password);
    return out;
}

TEST(ProbeUser, FirstUserWithAServerPasswordOrTrust) {
    config::Config config;
    EXPECT_EQ(probe_user(config), nullptr);
    config.users = {user("verifier_only", config::AuthMethod::ScramSha256, ""),
                    user("app", config::AuthMethod::ScramSha256, "secret"),
                    user("trusted", config::AuthMethod::Trust, "")};
    ASSERT_NE(probe_user(config), nullptr);
    EXPECT_EQ(probe_user(config)->name, "app");
    config.users.erase(config.users.begin() + 1);
    EXPECT_EQ(probe_user(config)->name, "trusted");
    config.users.pop_back();
    EXPECT_EQ(probe_user(config), nullptr);
}

TEST(ProbeInterval, SmallestOverDatabases) {
    config::Config config;
    config.routing.health_check_interval = milliseconds(700);
    EXPECT_EQ(probe_interval(config), milliseconds(700));
    config::DatabaseConfig a;
    a.routing.health_check_interval = milliseconds(300);
    config::DatabaseConfig b;
    b.routing.health_check_interval = milliseconds(200);
    config.databases = {a, b};
    EXPECT_EQ(probe_interval(config), milliseconds(200));
}

}  // namespace
}  // namespace pgrouter::probe
