// Unit tests for session::understand and route_request: what a client message is and asks for,
// from protocol bytes, with no server and no socket (libpg_query is the real one).
#include "pgrouter/session/understand.hpp"

#include <gtest/gtest.h>

#include <deque>

#include "pgrouter/sql/classify.hpp"
#include "support/bytes.hpp"

namespace pgrouter::session {
namespace {

using test::be16;
using test::be32;
using test::Buf;
using test::cstr;
using test::msg;

wire::Frame frame_of(const Buf& bytes) {
    return wire::Frame{static_cast<char>(bytes.at(0)), bytes};
}

class Understand : public ::testing::Test {
protected:
    // The request's views point into the bytes: the fixture keeps them for the test's length.
    Request understand_bytes(Buf bytes, bool partial = false, bool transaction = true) {
        const Buf& kept = kept_.emplace_back(std::move(bytes));
        return understand(frame_of(kept), partial, statements_, transaction, cache_);
    }
    void prepare(std::string_view name, std::string_view text) {
        Request parse = understand_bytes(msg('P', cstr(name) + cstr(text) + be16(0)));
        statements_.add(name, make_statement(parse));
    }

    std::deque<Buf> kept_;
    ClientStatements statements_;
    sql::StatementCache cache_{64};
};

TEST_F(Understand, PlainSelectIsNotParsed) {
    Request r =
        understand_bytes(msg('Q', cstr("SELECT abalance FROM pgbench_accounts WHERE aid = 1")));
    EXPECT_TRUE(r.valid);
    EXPECT_EQ(r.type, 'Q');
    EXPECT_EQ(r.text, "SELECT abalance FROM pgbench_accounts WHERE aid = 1");
    EXPECT_EQ(r.classification, nullptr);  // the keyword pre-filter let it through
    EXPECT_NE(route_request(r).cause, routing::WriteCause::SessionState);
    EXPECT_NE(route_request(r).cause, routing::WriteCause::Unparsed);
}

TEST_F(Understand, SessionStateIsClassifiedOnce) {
    const Buf listen = msg('Q', cstr("LISTEN jobs"));
    Request first = understand_bytes(listen);
    Request second = understand_bytes(listen);
    ASSERT_NE(first.classification, nullptr);
    EXPECT_EQ(first.classification, second.classification);  // from the statement cache
    EXPECT_TRUE(first.classification->effects & sql::kListen);
    EXPECT_EQ(route_request(first).cause, routing::WriteCause::SessionState);
}

TEST_F(Understand, SetIsClassifiedButDoesNotPin) {
    Request r = understand_bytes(msg('Q', cstr("SET search_path TO app")));
    ASSERT_NE(r.classification, nullptr);
    EXPECT_EQ(r.classification->settings.size(), 1u);
    EXPECT_NE(route_request(r).cause, routing::WriteCause::SessionState);
}

TEST_F(Understand, ParseCarriesNameTextAndParameterTypes) {
    Request r = understand_bytes(msg('P', cstr("s1") + cstr("SELECT $1") + be16(1) + be32(23)));
    EXPECT_TRUE(r.valid);
    EXPECT_EQ(r.name, "s1");
    EXPECT_EQ(r.text, "SELECT $1");
    EXPECT_EQ(r.param_count, 1);
    ASSERT_EQ(r.param_types.size(), 4u);
    auto statement = make_statement(r);
    EXPECT_EQ(statement->query, "SELECT $1");
    EXPECT_EQ(statement->server_name.rfind("pgr_", 0), 0u);
    // The same text with another parameter type is another server statement.
    Request other = understand_bytes(msg('P', cstr("s2") + cstr("SELECT $1") + be16(1) + be32(25)));
    EXPECT_NE(make_statement(other)->server_name, statement->server_name);
}

TEST_F(Understand, BindNamesTheClientsStatementInTransactionModeOnly) {
    prepare("s1", "SELECT 1");
    const Buf bind = msg('B', cstr("") + cstr("s1") + be16(0) + be16(0) + be16(0));
    Request r = understand_bytes(bind);
    ASSERT_NE(r.prepared, nullptr);
    EXPECT_EQ(r.prepared->query, "SELECT 1");
    EXPECT_EQ(r.name, "s1");
    EXPECT_EQ(r.bind_rest_offset, 1u + 3u);  // portal "" and "s1" with their NULs
    EXPECT_EQ(understand_bytes(bind, false, false).prepared, nullptr);  // session mode
    // A name the client never prepared is left to the server (26000, as directly).
    Request unknown =
        understand_bytes(msg('B', cstr("") + cstr("nope") + be16(0) + be16(0) + be16(0)));
    EXPECT_TRUE(unknown.valid);
    EXPECT_EQ(unknown.prepared, nullptr);
}

TEST_F(Understand, HeadOfAStreamedBindNeedsOnlyItsNames) {
    prepare("big", "SELECT length($1)");
    // Only the start of a large Bind is here: its length field announces far more.
    Buf head = test::msg_with_length('B', 4 + 1 + 4 + 2 + 2 + 4 + 100000,
                                     cstr("") + cstr("big") + be16(0) + be16(1) + be32(100000));
    Request r = understand_bytes(head, true);
    EXPECT_TRUE(r.valid);
    EXPECT_TRUE(r.partial);
    ASSERT_NE(r.prepared, nullptr);
    EXPECT_EQ(route_request(r).cause, routing::WriteCause::Unparsed);
}

TEST_F(Understand, HeadOfAStreamedQueryIsNotParsed) {
    Buf head = test::msg_with_length('Q', 4 + 2000000, "LISTEN x; SELECT '");
    Request r = understand_bytes(head, true);
    EXPECT_TRUE(r.valid);
    EXPECT_EQ(r.classification, nullptr);
    EXPECT_EQ(route_request(r).cause,
              routing::WriteCause::Unparsed);  // treated as unreadable: the session pins
}

TEST_F(Understand, DescribeAndCloseOfAStatementFindIt) {
    prepare("s1", "SELECT 1");
    Request describe = understand_bytes(msg('D', std::string("S") + cstr("s1")));
    EXPECT_EQ(describe.target, 'S');
    EXPECT_NE(describe.prepared, nullptr);
    Request portal = understand_bytes(msg('D', std::string("P") + cstr("")));
    EXPECT_EQ(portal.target, 'P');
    EXPECT_EQ(portal.prepared, nullptr);
    Request close = understand_bytes(msg('C', std::string("S") + cstr("s1")));
    EXPECT_EQ(close.target, 'S');
    EXPECT_EQ(close.name, "s1");
}

TEST_F(Understand, MalformedAndUnknownMessagesAreInvalid) {
    EXPECT_FALSE(understand_bytes(msg('Q', "no terminator")).valid);
    EXPECT_FALSE(understand_bytes(msg('P', cstr("s"))).valid);
    EXPECT_FALSE(understand_bytes(msg('B', "x")).valid);
    EXPECT_FALSE(understand_bytes(msg('D', std::string("X") + cstr("s"))).valid);
    EXPECT_FALSE(understand_bytes(msg('Z', "I")).valid);  // a backend message type
    EXPECT_TRUE(understand_bytes(msg('S', "")).valid);
    EXPECT_TRUE(understand_bytes(msg('d', "row\n")).valid);
}

}  // namespace
}  // namespace pgrouter::session
