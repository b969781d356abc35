// tests/unit/sql/hints_test.cpp — parse_hints(): pgrouter routing hints in leading comments, and
// only there.
#include "pgrouter/sql/hints.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace pgrouter::sql {
namespace {

TEST(Hints, Target) {
    EXPECT_EQ(parse_hints("/* pgrouter: primary */ SELECT 1").target, TargetHint::Primary);
    EXPECT_EQ(parse_hints("/* pgrouter: replica */ SELECT 1").target, TargetHint::Replica);
    EXPECT_EQ(parse_hints("/*pgrouter:replica*/SELECT 1").target, TargetHint::Replica);
    EXPECT_EQ(parse_hints("  /* PGROUTER : Replica */\nSELECT 1").target, TargetHint::Replica);
    EXPECT_EQ(parse_hints("-- pgrouter: replica\nSELECT 1").target, TargetHint::Replica);
    EXPECT_EQ(parse_hints("SELECT 1").target, TargetHint::None);
    EXPECT_FALSE(parse_hints("SELECT 1").any());
    // Both named: the primary wins, in either order.
    EXPECT_EQ(parse_hints("/* pgrouter: replica primary */ SELECT 1").target, TargetHint::Primary);
    EXPECT_EQ(parse_hints("/* pgrouter: primary */ /* pgrouter: replica */ x").target,
              TargetHint::Primary);
}

TEST(Hints, KeyValues) {
    const std::string sql =
        "/* pgrouter: replica, max_lag_ms=100 */ /* pgrouter: key=user:1234,shard_key = 42 "
        "shard=1 */ SELECT 1";
    Hints hints = parse_hints(sql);
    EXPECT_EQ(hints.target, TargetHint::Replica);
    EXPECT_EQ(hints.max_lag_ms, 100u);
    EXPECT_EQ(hints.key, "user:1234");
    EXPECT_EQ(hints.shard_key, "42");
    EXPECT_EQ(hints.shard, 1u);
    EXPECT_EQ(hints.unknown_count, 0u);
    EXPECT_TRUE(hints.any());
    // Views point into the text itself.
    EXPECT_GE(hints.key.data(), sql.data());
    EXPECT_LE(hints.key.data() + hints.key.size(), sql.data() + sql.size());

    EXPECT_EQ(parse_hints("/* pgrouter: key='a b, c' */ x").key, "a b, c");
    EXPECT_EQ(parse_hints("/* pgrouter: key=\"x\" */ x").key, "x");
    EXPECT_EQ(parse_hints("/* pgrouter: max_lag_ms=0 */ x").max_lag_ms, 0u);
    EXPECT_EQ(parse_hints("/* pgrouter: max_lag_ms=1 */ /* pgrouter: max_lag_ms=2 */ x").max_lag_ms,
              2u);
    EXPECT_EQ(parse_hints("/* pgrouter: key=ü:1 */ x").key, "ü:1");
}

TEST(Hints, UnknownWordsAndBadValuesAreReportedAndIgnored) {
    Hints hints = parse_hints(
        "/* pgrouter: replcia, max_lag_ms=soon, shard=99999999999, key=, replica, foo=bar */ x");
    EXPECT_EQ(hints.target, TargetHint::Replica);
    EXPECT_FALSE(hints.max_lag_ms.has_value());
    EXPECT_FALSE(hints.shard.has_value());
    EXPECT_TRUE(hints.key.empty());
    EXPECT_EQ(hints.unknown_count, 5u);
    EXPECT_EQ(hints.first_unknown, "replcia");
    EXPECT_EQ(parse_hints("/* pgrouter: max_lag_ms=-1 */ x").first_unknown, "max_lag_ms=-1");
    EXPECT_EQ(parse_hints("/* pgrouter: */ x").unknown_count, 0u);
}

TEST(Hints, OnlyLeadingPgrouterCommentsCount) {
    for (const char* sql : {
             "SELECT 1 /* pgrouter: replica */",
             "SELECT '/* pgrouter: replica */'",
             "SELECT $$ /* pgrouter: replica */ $$",
             "; /* pgrouter: replica */ SELECT 1",
             "/* pgrouter replica */ SELECT 1",        // no colon
             "/* app: pgrouter: replica */ SELECT 1",  // not the comment's first word
             "/* pgrouterx: replica */ SELECT 1",
             "/* pgrouter: replica SELECT 1",  // unterminated: a syntax error, no hints
             "-- x\n-- pgrouter",
             "",
             "/",
         }) {
        Hints hints = parse_hints(sql);
        EXPECT_FALSE(hints.any()) << sql;
    }
    // Other comments before it are skipped; block comments nest.
    EXPECT_EQ(parse_hints("/* app=x */ -- y\n/* pgrouter: replica */ SELECT 1").target,
              TargetHint::Replica);
    EXPECT_EQ(parse_hints("/* a /* b */ c */ /* pgrouter: primary */ SELECT 1").target,
              TargetHint::Primary);
    // A nested comment inside a hint comment is read as words, not as an end.
    Hints nested = parse_hints("/* pgrouter: replica /* x */ max_lag_ms=5 */ SELECT 1");
    EXPECT_EQ(nested.target, TargetHint::Replica);
    EXPECT_EQ(nested.max_lag_ms, 5u);
    // Stops at a NUL byte, as PostgreSQL reads a Query.
    EXPECT_FALSE(parse_hints(std::string("\0/* pgrouter: replica */", 24)).any());
}

TEST(Hints, RandomBytesNeverCrash) {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> byte(0, 255);
    const std::string prefixes[] = {"", "/* pgrouter:", "-- pgrouter:", "/* pgrouter: key='"};
    for (int i = 0; i < 5000; ++i) {
        std::string sql = prefixes[i % 4];
        for (int n = static_cast<int>(rng() % 40); n > 0; --n) {
            sql += static_cast<char>(byte(rng));
        }
        Hints hints = parse_hints(sql);
        if (!hints.key.empty()) {
            EXPECT_GE(hints.key.data(), sql.data());
            EXPECT_LE(hints.key.data() + hints.key.size(), sql.data() + sql.size());
        }
    }
}

}  // namespace
}  // namespace pgrouter::sql
