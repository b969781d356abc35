// tests/unit/sql/read_scan_test.cpp — scan_read(), the parser-free fast path: hand-written reads
// and tricky writes, then a differential run against classify() over a corpus of tricky classes,
// its mutations, token soup and random bytes. The property: PlainRead is never said of a text
// that classify() does not find to be exactly one read calling only accepted built-ins.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/sql/classify.hpp"
#include "pgrouter/sql/read_scan.hpp"

namespace pgrouter::sql {
namespace {

// Reads the fast path must recognise (the hot path's texts).
const std::vector<std::string> kPlainReads = {
    "SELECT abalance FROM pgbench_accounts WHERE aid = 48213;",
    "SELECT abalance FROM pgbench_accounts WHERE aid = 48213",
    "select 1",
    "SELECT",
    "  \n\tSELECT 1 ;  ; ",
    "/* pgrouter: replica */ SELECT 1",
    "-- comment\nSELECT 1 -- ; delete from t",
    "/* outer /* nested ; delete from t */ still comment */ SELECT 1",
    "select 1 /* ; delete from t */",
    "SELECT * FROM t WHERE name = 'insert into x'",
    "SELECT * FROM t WHERE name = 'it''s; DELETE FROM t; --'",
    "SELECT E'\\' ; delete from t; --'",
    "SELECT e'a\\'b', E'\\\\'",
    "SELECT $$ ; DELETE FROM t; $$, $tag$ $$ ; update t $tag$",
    "SELECT \"into\", \"for\", \"select;delete\" FROM \"Update\"",
    "SELECT count(*), sum(a), max(b) FROM t GROUP BY c ORDER BY (d) LIMIT 10 OFFSET 5",
    "SELECT a FROM t WHERE b IN (1, 2) AND EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
    "SELECT CAST(a AS numeric(10, 2)), a::varchar(5), coalesce(a, b), nullif(a, 0) FROM t",
    "SELECT count(*) FILTER (WHERE a > 0) OVER (PARTITION BY (b) ORDER BY c) FROM t",
    "SELECT x FROM t WHERE y = ANY (ARRAY[1, 2]) AND z = ANY (SELECT 1)",
    "SELECT now(), lower(name), length(name) FROM t",
    "SELECT 'ünïcödé', café FROM t WHERE ✓ = 1",
    "SELECT $1::int, $2",
    "SELECT 1.5e3, .5, 1e-3, x'1F', b'101', n'abc'",
    "SELECT * FROM a JOIN b USING (id) WHERE (a.x, b.y) = (1, 2)",
    "SELECT extract(year FROM d), substring(s FROM 2), position('a' IN s), trim(both 'x' FROM s)",
    "SELECT t.* FROM t, LATERAL (SELECT 1) s",
    "SELECT 1 UNION (SELECT 2) EXCEPT (SELECT 3)",
    "SELECT current_timestamp(3), localtimestamp",
    "SELECT substring(s, 2, 3), substring(s FROM 2)",
};

// The tricky classes: none may ever be PlainRead.
const std::vector<std::string> kNotPlainReads = {
    "",
    "   ",
    "-- only a comment",
    ";",
    "INSERT INTO t VALUES (1)",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
    "WITH x AS (SELECT 1) SELECT * FROM x",
    "SELECT * FROM t FOR UPDATE",
    "SELECT * FROM t FOR NO KEY UPDATE",
    "SELECT * FROM t FOR SHARE",
    "SELECT * FROM t FOR KEY SHARE",
    "select * from t for update skip locked",
    "SELECT * FROM t /* x */ FOR/* y */UPDATE",
    "SELECT nextval('s')",
    "SELECT NEXTVAL ('s')",
    "SELECT nextval/* c */('s')",
    "SELECT pg_catalog.nextval('s')",
    "SELECT pg_catalog.count(1)",
    "SELECT \"nextval\"('s')",
    "SELECT U&\"\\006Eextval\"('s')",
    "SELECT U&'\\0041'",
    "SELECT setval('s', 1)",
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_notify('c', 'x')",
    "SELECT my_volatile_fn()",
    "SELECT 1 INTO t",
    "SELECT * INTO TEMP t FROM s",
    "SELECT 1into t",
    "SELECT 1; DELETE FROM t",
    "SELECT 1; SELECT 2",
    "SELECT 1 /* ; */ ; DELETE FROM t",
    "SELECT 'a\\' ; DELETE FROM t; --'",
    "SELECT 'a' 'b\\'",
    "SELECT E'a'\n'\\' ; DELETE FROM t; --'",
    "SELECT $$ unterminated",
    "SELECT 'unterminated",
    "SELECT \"unterminated",
    "SELECT 1 /* unterminated",
    "SELECT $ 1",
    "(SELECT 1)",
    "selectx 1",
    "VALUES (1)",
    "TABLE t",
    "SHOW x",
    "EXPLAIN SELECT 1",
    "SELECT * FROM t AS x(a, b)",
    "SELECT int4(1)",
    "SELECT by(1)",
    "SELECT over(1)",
    "SELECT a FROM t LEFT JOIN (SELECT 1) s ON true",
    "SELECT a OPERATOR(pg_catalog.+) b",
    std::string("SELECT 1\0; DELETE FROM t", 24),
    std::string("SELECT 1\0", 9),
};

TEST(ScanRead, RecognisesPlainReads) {
    for (const std::string& sql : kPlainReads) {
        EXPECT_EQ(scan_read(sql), ReadScan::PlainRead) << sql;
    }
}

TEST(ScanRead, HandsEverythingTrickyToTheParser) {
    for (const std::string& sql : kNotPlainReads) {
        EXPECT_EQ(scan_read(sql), ReadScan::Unsure) << sql;
    }
}

TEST(ScanRead, BuiltinCallsCanBeSwitchedOff) {
    EXPECT_EQ(scan_read("SELECT substring(a, 2) FROM t"), ReadScan::PlainRead);
    EXPECT_EQ(scan_read("SELECT substring(a, 2) FROM t", false), ReadScan::Unsure);
    EXPECT_EQ(scan_read("SELECT extract(year FROM d), trim(a) FROM t", false), ReadScan::PlainRead);
    EXPECT_EQ(scan_read("SELECT count(*) FROM t"), ReadScan::PlainRead);
    EXPECT_EQ(scan_read("SELECT count(*) FROM t", false), ReadScan::Unsure);
    EXPECT_EQ(scan_read("SELECT a FROM t WHERE b IN (1) AND coalesce(c, 0) = 0", false),
              ReadScan::PlainRead);
}

TEST(ScanRead, BuiltinsAreNotPrimaryOnly) {
    for (std::string_view name : scan_read_builtins()) {
        EXPECT_FALSE(is_primary_only_function(name)) << name;
        EXPECT_EQ(scan_read("SELECT " + std::string(name) + "(x) FROM t"), ReadScan::PlainRead)
            << name;
    }
}

// Names of the calls the parser makes, always qualified with pg_catalog so that no user function
// can stand in, for keyword syntax in the text (EXTRACT, TRIM, AT TIME ZONE, ...). SUBSTRING is
// not one of them: SUBSTRING(a, b) is an unqualified call.
bool from_keyword_syntax(std::string_view name) {
    for (std::string_view n : {"extract", "position", "btrim", "ltrim", "rtrim", "normalize",
                               "is_normalized", "timezone", "like_escape", "similar_to_escape",
                               "overlaps", "overlay", "pg_collation_for"}) {
        if (n == name) {
            return true;
        }
    }
    return false;
}

// The property every PlainRead must satisfy: the parser finds exactly one read that calls only
// accepted built-ins, or a syntax error (PostgreSQL parses the whole text of a Query before it
// runs any of it, so a text with a syntax error runs nothing, on any server). Returns whether the
// text was a PlainRead that parsed, so the random tests can check that they test something.
bool expect_agrees(const std::string& sql, bool allow_builtin_calls = true) {
    if (scan_read(sql, allow_builtin_calls) != ReadScan::PlainRead) {
        return false;
    }
    Classification result = classify(sql);
    EXPECT_FALSE(result.over_limit) << sql;
    if (result.parse_error) {
        return false;
    }
    if (result.statements.size() != 1) {
        ADD_FAILURE() << sql << " has " << result.statements.size() << " statements";
        return false;
    }
    const Statement& statement = result.statements[0];
    EXPECT_EQ(statement.kind, StatementKind::Select) << sql;
    EXPECT_TRUE(statement.read) << sql << " : " << to_string(statement.not_read);
    const auto builtins = scan_read_builtins();
    for (const std::string& name : statement.functions) {
        const bool listed = allow_builtin_calls &&
                            std::find(builtins.begin(), builtins.end(), name) != builtins.end();
        EXPECT_TRUE(listed || from_keyword_syntax(name)) << sql << " calls " << name;
    }
    return true;
}

TEST(ScanReadDifferential, CorpusAgreesWithTheParser) {
    for (const auto* corpus : {&kPlainReads, &kNotPlainReads}) {
        for (const std::string& sql : *corpus) {
            expect_agrees(sql);
            expect_agrees(sql, false);
        }
    }
}

// Every corpus text cut at every position, and with single bytes replaced or inserted: a cut
// string or comment must not make the scan lose track of where the text really is.
TEST(ScanReadDifferential, MutatedCorpusAgreesWithTheParser) {
    std::mt19937 rng(7);
    const std::string alphabet = "';\"$/*-\\\n eE(). xU&fo1";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (const auto* corpus : {&kPlainReads, &kNotPlainReads}) {
        for (const std::string& sql : *corpus) {
            for (std::size_t cut = 0; cut <= sql.size(); ++cut) {
                expect_agrees(sql.substr(0, cut));
                std::string replaced = sql;
                if (cut < sql.size()) {
                    replaced[cut] = alphabet[pick(rng)];
                    expect_agrees(replaced);
                }
                std::string inserted = sql;
                inserted.insert(cut, 1, alphabet[pick(rng)]);
                expect_agrees(inserted);
            }
        }
    }
}

// SELECT followed by tokens from every tricky class, in random order; plenty of these are
// PlainRead and parse, so the check bites.
TEST(ScanReadDifferential, RandomTokenSoupAgreesWithTheParser) {
    const std::vector<std::string_view> tokens = {
        "a",
        "t",
        "x",
        "1",
        "2.5",
        ",",
        ",",
        "(",
        ")",
        "(",
        ")",
        "=",
        "+",
        "::",
        "int",
        "*",
        ".",
        "FROM",
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "IN",
        "EXISTS",
        "SELECT",
        "UNION",
        "ALL",
        "ORDER",
        "BY",
        "GROUP",
        "LIMIT",
        "AS",
        "JOIN",
        "ON",
        "CASE",
        "WHEN",
        "THEN",
        "END",
        "count(*)",
        "lower(a)",
        "now()",
        "coalesce(a, 1)",
        "nextval('s')",
        "f(1)",
        "s.f(1)",
        "\"q\"(1)",
        "FOR",
        "UPDATE",
        "SHARE",
        "NO KEY UPDATE",
        "KEY SHARE",
        "INTO",
        "WITH",
        "DELETE",
        "INSERT",
        ";",
        "; DELETE FROM t",
        "'s'",
        "'it''s'",
        "'a;b'",
        "'\\'",
        "E'\\''",
        "e'\\\\'",
        "$$ ; $$",
        "$q$ ' $q$",
        "$1",
        "\"id\"",
        "\"a\"\"b\"",
        "/* c */",
        "/* /* n */ */",
        "-- c\n",
        "--\r",
        "U&'x'",
        "x'1F'",
        "OVER (ORDER BY a)",
        "FILTER (WHERE a)",
        "ARRAY[1]",
        "ANY (ARRAY[1])",
        "CAST(a AS numeric(1))",
        "ü",
        "\t",
        "\n",
        "LATERAL",
        "(SELECT 1)",
        "pg_catalog.count(1)",
        "setval('s', 1)",
    };
    std::mt19937 rng(4242);
    std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
    std::uniform_int_distribution<int> length(0, 10);
    std::size_t plain = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string sql = i % 7 == 0 ? "" : "SELECT ";
        for (int n = length(rng); n > 0; --n) {
            sql += tokens[pick(rng)];
            sql += rng() % 3 == 0 ? "" : " ";
        }
        plain += expect_agrees(sql) ? 1 : 0;
        if (i % 4 == 0) {
            expect_agrees(sql, false);
        }
    }
    EXPECT_GT(plain, 500u) << "the soup should give the property something to check";
}

TEST(ScanReadDifferential, RandomBytesAgreeWithTheParser) {
    std::mt19937 rng(99);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> length(0, 60);
    for (int i = 0; i < 5000; ++i) {
        std::string sql = "SELECT ";
        for (int n = length(rng); n > 0; --n) {
            sql += static_cast<char>(byte(rng));
        }
        expect_agrees(sql);
    }
}

}  // namespace
}  // namespace pgrouter::sql
