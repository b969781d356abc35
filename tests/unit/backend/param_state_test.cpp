// Unit tests for backend::ParamState and sync_script — which SETs make a server match a client.
#include "pgrouter/backend/param_state.hpp"

#include <gtest/gtest.h>

namespace pgrouter::backend {
namespace {

sql::SettingChange set(std::string name, std::string replay) {
    return {sql::SettingAction::Set, std::move(name), std::move(replay)};
}
sql::SettingChange reset(std::string name) {
    return {sql::SettingAction::Reset, std::move(name), {}};
}
sql::SettingChange reset_all() {
    return {sql::SettingAction::ResetAll, {}, {}};
}

TEST(ParamSync, EqualStatesNeedNothing) {
    ParamState a;
    ParamState b;
    a.set_reported("TimeZone", "UTC");
    b.set_reported("TimeZone", "UTC");
    EXPECT_EQ(sync_script(a, b), "");
}

TEST(ParamSync, ReportedDifferencesAreSetWithQuotedValues) {
    ParamState client;
    ParamState server;
    client.set_reported("TimeZone", "Asia/Tokyo");
    server.set_reported("TimeZone", "UTC");
    client.set_reported("application_name", "it's mine");
    server.set_reported("application_name", "");
    client.set_reported("server_version", "15.0");  // not synced: never SET
    server.set_reported("server_version", "14.0");
    EXPECT_EQ(sync_script(client, server),
              "SET application_name TO 'it''s mine';SET TimeZone TO 'Asia/Tokyo';");
}

TEST(ParamSync, ReportedNamesMatchCaseInsensitively) {
    ParamState client;
    ParamState server;
    client.set_reported("timezone", "UTC");
    server.set_reported("TimeZone", "UTC");
    EXPECT_EQ(sync_script(client, server), "");
}

TEST(ParamSync, ReplayedSettingsAreReplayedOrReset) {
    ParamState client;
    ParamState server;
    std::vector<sql::SettingChange> c = {set("search_path", "SET search_path TO a, public")};
    client.apply(c);
    std::vector<sql::SettingChange> s = {set("work_mem", "SET work_mem = '8MB'")};
    server.apply(s);
    EXPECT_EQ(sync_script(client, server), "RESET work_mem;SET search_path TO a, public;");
    server.copy_replayed_from(client);
    EXPECT_EQ(sync_script(client, server), "");
}

TEST(ParamSync, ReportedNamesAreNotReplayed) {
    ParamState client;
    std::vector<sql::SettingChange> c = {set("timezone", "SET TIME ZONE 'UTC'")};
    client.apply(c);
    EXPECT_TRUE(client.replayed().empty());
}

TEST(ParamSync, ResetAndResetAllForgetSettings) {
    ParamState client;
    std::vector<sql::SettingChange> c = {set("search_path", "SET search_path TO a"),
                                         set("work_mem", "SET work_mem TO '4MB'"),
                                         reset("search_path")};
    client.apply(c);
    ASSERT_EQ(client.replayed().size(), 1u);
    EXPECT_EQ(client.replayed()[0].first, "work_mem");
    std::vector<sql::SettingChange> all = {reset_all()};
    client.apply(all);
    EXPECT_TRUE(client.replayed().empty());
}

TEST(ParamSync, LaterSetOverridesEarlier) {
    ParamState client;
    std::vector<sql::SettingChange> c = {set("search_path", "SET search_path TO a"),
                                         set("search_path", "SET search_path TO b")};
    client.apply(c);
    ASSERT_EQ(client.replayed().size(), 1u);
    EXPECT_EQ(client.replayed()[0].second, "SET search_path TO b");
}

TEST(ParamSync, QuoteLiteralDoublesQuotes) {
    EXPECT_EQ(quote_literal("a'b''c"), "'a''b''''c'");
    EXPECT_EQ(quote_literal(""), "''");
}

}  // namespace
}  // namespace pgrouter::backend

namespace pgrouter::backend {
namespace {

TEST(ParamSync, SessionCharacteristicsResetThroughTheirParameters) {
    ParamState client;
    ParamState server;
    std::vector<sql::SettingChange> s = {{sql::SettingAction::Set, "session characteristics",
                                          "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"}};
    server.apply(s);
    std::string script = sync_script(client, server);
    EXPECT_EQ(script.find("RESET session characteristics"), std::string::npos);
    EXPECT_NE(script.find("RESET default_transaction_read_only;"), std::string::npos);
}

}  // namespace
}  // namespace pgrouter::backend

namespace pgrouter::backend {
namespace {

TEST(ParamSync, ResetAllKeepsRoleButDiscardAllEntriesDropIt) {
    ParamState client;
    std::vector<sql::SettingChange> c = {
        {sql::SettingAction::Set, "role", "SET ROLE other"},
        {sql::SettingAction::Set, "search_path", "SET search_path TO a"},
        {sql::SettingAction::ResetAll, "", ""}};
    client.apply(c);
    ASSERT_EQ(client.replayed().size(), 1u);
    EXPECT_EQ(client.replayed()[0].first, "role");
    std::vector<sql::SettingChange> discard = {
        {sql::SettingAction::ResetAll, "", ""},
        {sql::SettingAction::Reset, "session_authorization", ""},
        {sql::SettingAction::Reset, "role", ""}};
    client.apply(discard);
    EXPECT_TRUE(client.replayed().empty());
}

}  // namespace
}  // namespace pgrouter::backend
