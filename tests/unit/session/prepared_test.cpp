// Unit tests for session::ClientStatements and the statement digest.
#include "pgrouter/session/prepared.hpp"

#include <gtest/gtest.h>

#include "pgrouter/sql/digest.hpp"

namespace pgrouter::session {
namespace {

std::shared_ptr<const PreparedStatement> statement(std::string server_name) {
    auto s = std::make_shared<PreparedStatement>();
    s->server_name = std::move(server_name);
    return s;
}

TEST(ClientStatements, NamesArePerClientAndUnique) {
    ClientStatements client;
    EXPECT_TRUE(client.add("s1", statement("pgr_a")));
    EXPECT_FALSE(client.add("s1", statement("pgr_b")));  // 42P05 on a direct connection
    ASSERT_NE(client.find("s1"), nullptr);
    EXPECT_EQ(client.find("s1")->server_name, "pgr_a");
    EXPECT_EQ(client.find("s2"), nullptr);
    client.remove("s1");
    EXPECT_EQ(client.find("s1"), nullptr);
    EXPECT_TRUE(client.add("s1", statement("pgr_b")));
}

TEST(StatementDigest, DependsOnTextAndParameterTypes) {
    const std::uint8_t int4[] = {0, 0, 0, 23};
    const std::uint8_t text[] = {0, 0, 0, 25};
    auto a = sql::statement_digest("select $1", int4);
    EXPECT_EQ(a, sql::statement_digest("select $1", int4));
    EXPECT_NE(a, sql::statement_digest("select $1", text));
    EXPECT_NE(a, sql::statement_digest("select $2", int4));
    EXPECT_NE(sql::statement_digest("ab", {}),
              sql::statement_digest("a", std::span(reinterpret_cast<const std::uint8_t*>("b"), 1)));
    std::string name = sql::server_statement_name(0x0123456789abcdefULL);
    EXPECT_EQ(name, "pgr_0123456789abcdef");
}

}  // namespace
}  // namespace pgrouter::session
