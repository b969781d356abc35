// literal_shape(): texts that differ only in integer and plain string literals share a key; any
// other difference (a cast, a sign, a decimal, an E'' string, a comment) gives another key.
#include <gtest/gtest.h>

#include "pgrouter/sql/shard_plan.hpp"

namespace pgrouter::sql {
namespace {

TEST(LiteralShape, IntegersAndStringsAreTakenOut) {
    const LiteralShape a =
        literal_shape("SELECT * FROM accounts WHERE user_id = 42 AND name = 'x'");
    const LiteralShape b =
        literal_shape("SELECT * FROM accounts WHERE user_id = 7 AND name = 'it''s'");
    EXPECT_EQ(a.key, b.key);
    ASSERT_EQ(b.literals.size(), 2u);
    EXPECT_FALSE(b.literals[0].string);
    EXPECT_EQ(b.literals[0].raw, "7");
    EXPECT_TRUE(b.literals[1].string);
    EXPECT_EQ(literal_value(b.literals[1]), "it's");
}

TEST(LiteralShape, EverythingElseStaysInTheKey) {
    const std::string base = literal_shape("SELECT 1 FROM t WHERE k = 5").key;
    for (const char* other : {"SELECT 1 FROM t WHERE k = -5", "SELECT 1 FROM t WHERE k = 5.0",
                              "SELECT 1 FROM t WHERE k = '5'", "SELECT 1 FROM t WHERE k = E'5'",
                              "SELECT 1 FROM t WHERE k = 5::int8", "SELECT 1 FROM t WHERE k = $1",
                              "SELECT 1 FROM t WHERE k  = 5", "SELECT 1 FROM t /* c */ WHERE k = 5",
                              "SELECT 1 FROM t2 WHERE k = 5", "SELECT 1 FROM t WHERE k = 5e1"}) {
        EXPECT_NE(literal_shape(other).key, base) << other;
    }
}

TEST(LiteralShape, QuotedTextIsNeverCut) {
    // Digits inside identifiers, quoted names, dollar quotes and comments are not literals.
    const LiteralShape s = literal_shape(
        "SELECT t1.\"c2\", $$ 3 $$, $tag$ 'x' $tag$ FROM t1 -- 4\n WHERE a = 5 /* 6 */");
    ASSERT_EQ(s.literals.size(), 1u);
    EXPECT_EQ(s.literals[0].raw, "5");
    // Continued strings and unterminated ones stay whole.
    EXPECT_TRUE(literal_shape("SELECT 'a'\n'b'").literals.empty());
    EXPECT_TRUE(literal_shape("SELECT 'open").literals.empty());
}

}  // namespace
}  // namespace pgrouter::sql
