// tests/unit/sql/classify_robustness_test.cpp — classify() and may_affect_session() on hostile
// input: random bytes, random statement mixes, trees deep enough to overflow a thread's stack,
// small-stack threads and concurrent callers.
#include <pthread.h>

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::sql {
namespace {

std::string repeat(std::string_view piece, std::size_t n) {
    std::string out;
    out.reserve(piece.size() * n);
    for (std::size_t i = 0; i < n; ++i) {
        out += piece;
    }
    return out;
}

TEST(ClassifyRobustness, RandomBytesNeverCrash) {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> length(0, 300);
    for (int i = 0; i < 3000; ++i) {
        std::string text(static_cast<std::size_t>(length(rng)), '\0');
        for (char& c : text) {
            c = static_cast<char>(byte(rng));
        }
        Classification result = classify(text);
        bool affects = may_affect_session(text);
        if (!result.parse_error && result.effects != kNoEffect) {
            EXPECT_TRUE(affects) << text;
        }
    }
}

// Token soup close enough to SQL that some of it parses, with every lexical trap the pre-filter
// knows about; whenever classify() finds an effect, the pre-filter must have said true.
TEST(ClassifyRobustness, RandomTokenSoupKeepsPreFilterConservative) {
    const std::vector<std::string_view> tokens = {"SELECT",
                                                  "SET",
                                                  "RESET",
                                                  "ALL",
                                                  "LOCAL",
                                                  "SESSION",
                                                  "search_path",
                                                  "=",
                                                  "TO",
                                                  "'a'",
                                                  "'a;b'",
                                                  "'\\'",
                                                  "E'\\''",
                                                  "$$;$$",
                                                  "$q$ ; $q$",
                                                  "\"x\"",
                                                  "\"into\"",
                                                  ",",
                                                  ";",
                                                  ";",
                                                  "(",
                                                  ")",
                                                  "1",
                                                  "$1",
                                                  "x",
                                                  "t",
                                                  "FROM",
                                                  "INTO",
                                                  "TEMP",
                                                  "pg_temp.t",
                                                  "TABLE",
                                                  "CREATE",
                                                  "WITH",
                                                  "AS",
                                                  "pg_advisory_lock(1)",
                                                  "\"pg_advisory_lock\"(2)",
                                                  "DISCARD",
                                                  "LISTEN",
                                                  "UNLISTEN",
                                                  "*",
                                                  "PREPARE",
                                                  "p",
                                                  "EXECUTE",
                                                  "DECLARE",
                                                  "c",
                                                  "CURSOR",
                                                  "HOLD",
                                                  "FOR",
                                                  "UPDATE",
                                                  "INSERT",
                                                  "VALUES",
                                                  "DELETE",
                                                  "BEGIN",
                                                  "COMMIT",
                                                  "/* ; */",
                                                  "/* /* */ */",
                                                  "--;\n",
                                                  "-- SET x\n",
                                                  "\n",
                                                  "ROLE",
                                                  "TIME",
                                                  "ZONE",
                                                  "U&\"x\"",
                                                  "WHERE",
                                                  "ON",
                                                  "COMMIT",
                                                  "DROP",
                                                  "VIEW",
                                                  "SEQUENCE",
                                                  "TEMPORARY",
                                                  "DEFAULT",
                                                  "SHOW"};
    std::mt19937 rng(777);
    std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
    std::uniform_int_distribution<int> length(1, 14);
    int parsed_with_effect = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string text;
        for (int n = length(rng); n > 0; --n) {
            text += tokens[pick(rng)];
            text += ' ';
        }
        Classification result = classify(text);
        if (!result.parse_error && (result.effects != kNoEffect || !result.settings.empty())) {
            ++parsed_with_effect;
            EXPECT_TRUE(may_affect_session(text)) << text;
        }
    }
    EXPECT_GT(parsed_with_effect, 10);  // the soup really exercises the property
}

// The same property at statement level: effectful statements hidden behind every lexical trap.
TEST(ClassifyRobustness, RandomStatementMixKeepsPreFilterConservative) {
    const std::vector<std::string_view> pieces = {"SELECT 'a;b'",
                                                  "SELECT \"x;\"",
                                                  "SELECT $$;$$",
                                                  "SELECT E'\\';'",
                                                  "SELECT 1 /* ; */",
                                                  "SELECT 1 -- ;\n",
                                                  "UPDATE t SET a = 1",
                                                  "WITH x AS (SELECT 1) SELECT 1",
                                                  "SELECT \"into\" FROM temp_t",
                                                  "/* ; SELECT */",
                                                  "-- ; SELECT\n",
                                                  "SET a.b = 1",
                                                  "LISTEN x",
                                                  "SELECT pg_advisory_lock(1)",
                                                  "SELECT 1 INTO TEMP t",
                                                  "CREATE TEMP TABLE t()",
                                                  "DISCARD ALL",
                                                  "RESET ALL",
                                                  "SET ROLE r",
                                                  "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
                                                  "PREPARE p AS SELECT 1",
                                                  "SELECT U&\"\\0070g_advisory_lock\"(1)",
                                                  "INSERT INTO t VALUES (1)"};
    const std::vector<std::string_view> separators = {";", "; ", ";\n", " ; /* ; */ ", ";--;\n"};
    std::mt19937 rng(4242);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::uniform_int_distribution<std::size_t> pick_sep(0, separators.size() - 1);
    std::uniform_int_distribution<int> length(1, 4);
    int parsed_with_effect = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text;
        for (int n = length(rng); n > 0; --n) {
            text += pieces[pick(rng)];
            text += separators[pick_sep(rng)];
        }
        Classification result = classify(text);
        if (!result.parse_error && (result.effects != kNoEffect || !result.settings.empty())) {
            ++parsed_with_effect;
            EXPECT_TRUE(may_affect_session(text)) << text;
        }
    }
    EXPECT_GT(parsed_with_effect, 1000);
}

// Statements joined at random: the settings of the whole are the settings of the parts in order,
// which only holds if every replay text is cut at the right place.
TEST(ClassifyRobustness, SettingsOfAJoinedStringAreThoseOfItsParts) {
    const std::vector<std::string> parts = {"SET search_path = a, b",
                                            "SELECT 1",
                                            "RESET work_mem",
                                            "SET TIME ZONE 'UTC'",
                                            "SET application_name = 'x;y'",
                                            "SET LOCAL a.b = 1",
                                            "SET ROLE r",
                                            "RESET ALL",
                                            "SET a.c = $$z;$$",
                                            "UPDATE t SET a = 1",
                                            "SET SESSION AUTHORIZATION u",
                                            "SELECT 'SET x = 1'"};
    const std::vector<std::string> separators = {";", "; ", " ;\n", ";/* c; */", "; -- c;\n"};
    std::mt19937 rng(99);
    std::uniform_int_distribution<std::size_t> pick_part(0, parts.size() - 1);
    std::uniform_int_distribution<std::size_t> pick_sep(0, separators.size() - 1);
    for (int i = 0; i < 300; ++i) {
        std::string text;
        std::vector<SettingChange> expected;
        std::size_t statements = 0;
        for (int n = 1 + i % 5; n > 0; --n) {
            const std::string& part = parts[pick_part(rng)];
            text += part;
            text += separators[pick_sep(rng)];
            Classification alone = classify(part);
            ASSERT_FALSE(alone.parse_error) << part;
            expected.insert(expected.end(), alone.settings.begin(), alone.settings.end());
            ++statements;
        }
        Classification joined = classify(text);
        ASSERT_FALSE(joined.parse_error) << text;
        EXPECT_EQ(joined.statements.size(), statements) << text;
        EXPECT_EQ(joined.settings, expected) << text;
    }
}

// libpg_query's output and the protobuf unpack recurse once per level (about 2 KB each), so this
// would overflow an 8 MB stack if classify() ran it in place.
TEST(ClassifyRobustness, DeepTreeIsParsedOnAHelperThread) {
    std::string sql = "SET a.b = 1; SELECT " + repeat("1+", 6000) + "1";
    Classification result = classify(sql);
    ASSERT_FALSE(result.parse_error);
    ASSERT_EQ(result.statements.size(), 2u);
    EXPECT_EQ(result.statements[1].kind, StatementKind::Select);
    ASSERT_EQ(result.settings.size(), 1u);
    EXPECT_EQ(result.settings[0].replay, "SET a.b = 1");
}

TEST(ClassifyRobustness, PrefixOperatorChainWithinParserLimitsIsParsed) {
    Classification result = classify("SELECT " + repeat("+", 9000) + "a");
    ASSERT_FALSE(result.parse_error);
    EXPECT_EQ(result.statements.at(0).kind, StatementKind::Select);
}

TEST(ClassifyRobustness, AbsurdlyDeepTreeIsOverLimitNotACrash) {
    Classification result = classify("SET a.b = 1; SELECT " + repeat("1+", 200000) + "1");
    EXPECT_TRUE(result.parse_error);
    EXPECT_TRUE(result.over_limit);
    EXPECT_TRUE(result.statements.empty());
}

TEST(ClassifyRobustness, WideButShallowTextIsParsedInPlace) {
    // A long IN list costs almost nothing in depth, so it must not be refused.
    std::string sql = "SELECT * FROM t WHERE id IN (1" + repeat(", 1", 200000) + ")";
    Classification result = classify(sql);
    ASSERT_FALSE(result.parse_error);
    EXPECT_TRUE(result.statements.at(0).read_only);
}

struct SmallStackRun {
    std::string sql;
    Classification result;
};

TEST(ClassifyRobustness, SmallStackThreadIsProtected) {
    // 512 KB of stack, and a text that needs about 4 MB when parsed in place.
    SmallStackRun run{"SELECT " + repeat("1+", 2000) + "1", {}};
    pthread_attr_t attr;
    ASSERT_EQ(pthread_attr_init(&attr), 0);
    ASSERT_EQ(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
    pthread_t thread;
    auto body = [](void* arg) -> void* {
        auto* r = static_cast<SmallStackRun*>(arg);
        r->result = classify(r->sql);
        return nullptr;
    };
    ASSERT_EQ(pthread_create(&thread, &attr, body, &run), 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
    ASSERT_FALSE(run.result.parse_error);
    EXPECT_EQ(run.result.statements.at(0).kind, StatementKind::Select);
}

TEST(ClassifyRobustness, ConcurrentCallersGetTheSameAnswers) {
    const std::vector<std::string> texts = {"SET search_path = a", "SELECT pg_advisory_lock(1)",
                                            "SELEC 1", "DISCARD ALL", "LISTEN x; SELECT 1"};
    std::vector<Classification> expected;
    for (const auto& text : texts) {
        expected.push_back(classify(text));
    }
    std::vector<std::thread> threads;
    std::vector<int> mismatches(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                std::size_t k = static_cast<std::size_t>(i + t) % texts.size();
                Classification got = classify(texts[k]);
                if (got.parse_error != expected[k].parse_error ||
                    got.statements != expected[k].statements ||
                    got.settings != expected[k].settings || got.effects != expected[k].effects) {
                    ++mismatches[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace pgrouter::sql
