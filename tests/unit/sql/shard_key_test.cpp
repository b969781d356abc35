// tests/unit/sql/shard_key_test.cpp — find_shard_keys(): the issue's examples (WHERE key = c,
// IN lists, INSERT VALUES, UPDATE/DELETE, joins on the key), parameters, aliases, OR, casts,
// NULL, signs, quoted strings, and the cases where the key must stay unknown.
#include "pgrouter/sql/shard_key.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace pgrouter::sql {
namespace {

const std::vector<ShardedTableKey> kTables = {
    {"accounts", "id"}, {"orders", "account_id"}, {"users", "name"}};

ShardKeyResult find(const std::string& sql) {
    return find_shard_keys(sql, kTables);
}

KeyValue num(std::string text) {
    KeyValue v;
    v.kind = KeyValue::Kind::Number;
    v.text = std::move(text);
    return v;
}

KeyValue text(std::string s) {
    KeyValue v;
    v.kind = KeyValue::Kind::String;
    v.text = std::move(s);
    return v;
}

KeyValue param(int n) {
    KeyValue v;
    v.kind = KeyValue::Kind::Param;
    v.param = n;
    v.text = std::to_string(n);
    v.text.insert(0, 1, '$');
    return v;
}

KeyValue null() {
    KeyValue v;
    v.kind = KeyValue::Kind::Null;
    return v;
}

// The values of the only use of a sharded table in `sql`.
std::vector<KeyValue> only(const std::string& sql) {
    ShardKeyResult r = find(sql);
    EXPECT_FALSE(r.parse_error) << sql;
    EXPECT_EQ(r.uses.size(), 1u) << sql;
    return r.uses.empty() ? std::vector<KeyValue>{} : r.uses[0].values;
}

using V = std::vector<KeyValue>;

TEST(ShardKey, WhereKeyEqualsConstant) {
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = 42"), V{num("42")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE 42 = id"), V{num("42")});
    EXPECT_EQ(only("select balance from ACCOUNTS where ID = 7;"), V{num("7")});
    EXPECT_EQ(only("SELECT * FROM users WHERE name = 'alice'"), V{text("alice")});
    EXPECT_EQ(only("SELECT * FROM public.accounts WHERE id = 1"), V{num("1")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = 9223372036854775807"),
              V{num("9223372036854775807")});
}

TEST(ShardKey, AliasesAndQualifiedColumns) {
    EXPECT_EQ(only("SELECT * FROM accounts a WHERE a.id = 5"), V{num("5")});
    EXPECT_EQ(only("SELECT * FROM accounts AS a WHERE 5 = a.id"), V{num("5")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE accounts.id = 5"), V{num("5")});
    EXPECT_EQ(only("SELECT * FROM public.accounts WHERE public.accounts.id = 5"), V{num("5")});
    // The other table's column of the same name is not the key.
    EXPECT_EQ(only("SELECT * FROM accounts a, settings s WHERE s.id = 5"), V{});
    ShardKeyResult r = find("SELECT * FROM accounts a WHERE a.id = 3");
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_EQ(r.uses[0].table, "accounts");
    EXPECT_EQ(r.uses[0].alias, "a");
}

TEST(ShardKey, QuotedNamesKeepTheirCase) {
    EXPECT_EQ(find("SELECT * FROM \"Accounts\" WHERE id = 1").uses.size(), 0u);
    EXPECT_EQ(only("SELECT * FROM \"accounts\" WHERE \"id\" = 1"), V{num("1")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE \"ID\" = 1"), V{});
}

TEST(ShardKey, InLists) {
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IN (1, 2, 3)"),
              (V{num("1"), num("2"), num("3")}));
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IN (2, 2)"), V{num("2")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IN ($1, $2)"), (V{param(1), param(2)}));
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IN (1, other)"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id NOT IN (1, 2)"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = ANY($1)"), V{});
}

TEST(ShardKey, AndOr) {
    EXPECT_EQ(only("SELECT * FROM accounts WHERE balance > 0 AND id = 4 AND x IS NULL"),
              V{num("4")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IN (1, 2) AND id = 2"), V{num("2")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = 1 OR id = 2"), (V{num("1"), num("2")}));
    EXPECT_EQ(only("SELECT * FROM accounts WHERE (id = 1 AND x = 2) OR id IN (3, 1)"),
              (V{num("1"), num("3")}));
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = 1 OR balance > 0"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE x = 1 AND (id = 1 OR y = 2)"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE NOT id = 1"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id <> 1"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id > 1"), V{});
}

TEST(ShardKey, ParametersCastsSigns) {
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = $1"), V{param(1)});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE x = $1 AND id = $2"), V{param(2)});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = $3::bigint"), V{param(3)});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = '42'::bigint"), V{text("42")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = CAST('42' AS int8)"), V{text("42")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = bigint '42'"), V{text("42")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id::text = '42'"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = -1"), V{num("-1")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = - 17"), V{num("-17")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = +17"), V{num("17")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = -9223372036854775808"),
              V{num("-9223372036854775808")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = -(5::bigint)"), V{num("-5")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = 4.0"), V{num("4.0")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = 1 + 1"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = true"), V{});
}

TEST(ShardKey, StringsAndNull) {
    EXPECT_EQ(only("SELECT * FROM users WHERE name = 'it''s'"), V{text("it's")});
    EXPECT_EQ(only("SELECT * FROM users WHERE name = E'a\\'b'"), V{text("a'b")});
    EXPECT_EQ(only("SELECT * FROM users WHERE name = $$dollar 'x'$$"), V{text("dollar 'x'")});
    EXPECT_EQ(only("SELECT * FROM users WHERE name = ''"), V{text("")});
    EXPECT_EQ(only("SELECT * FROM users WHERE name = 'é'"), V{text("é")});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = NULL"), V{null()});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IS NULL"), V{});
    EXPECT_EQ(only("SELECT * FROM users WHERE name = 'x' || 'y'"), V{});
}

TEST(ShardKey, UnknownKeys) {
    EXPECT_EQ(only("SELECT * FROM accounts"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE balance = 1"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = balance"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = now()"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id = (SELECT 1)"), V{});
    EXPECT_EQ(only("SELECT * FROM accounts WHERE id IN (SELECT 1)"), V{});
    EXPECT_EQ(only("SELECT count(*) FROM (SELECT * FROM accounts WHERE id = 1) s WHERE id = 1"),
              V{});
}

TEST(ShardKey, Insert) {
    ShardKeyResult r = find("INSERT INTO accounts (id, balance) VALUES (42, 0)");
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_EQ(r.uses[0].values, V{num("42")});
    EXPECT_TRUE(r.uses[0].per_row);
    EXPECT_EQ(only("INSERT INTO accounts (balance, id) VALUES (0, 1), (5, 2), (6, 1)"),
              (V{num("1"), num("2"), num("1")}));
    EXPECT_EQ(only("INSERT INTO accounts (balance, id) VALUES ($1, $2), ($3, $4)"),
              (V{param(2), param(4)}));
    EXPECT_EQ(only("INSERT INTO users (name) VALUES ('o''brien') RETURNING *"), V{text("o'brien")});
    EXPECT_EQ(only("INSERT INTO accounts (id) VALUES (NULL)"), V{null()});
    EXPECT_EQ(only("INSERT INTO accounts (id) VALUES ('7'::bigint)"), V{text("7")});
    EXPECT_EQ(only("INSERT INTO accounts (id) VALUES (-3)"), V{num("-3")});
    EXPECT_EQ(only("INSERT INTO accounts AS a (id) VALUES (3) ON CONFLICT (id) DO NOTHING"),
              V{num("3")});
    // Unknown: no column list, key column not listed, DEFAULT, an expression, INSERT ... SELECT.
    EXPECT_EQ(only("INSERT INTO accounts VALUES (1, 2)"), V{});
    EXPECT_EQ(only("INSERT INTO accounts (balance) VALUES (1)"), V{});
    EXPECT_EQ(only("INSERT INTO accounts (id) VALUES (1), (DEFAULT)"), V{});
    EXPECT_EQ(only("INSERT INTO accounts (id) VALUES (1), (nextval('s'))"), V{});
    EXPECT_EQ(only("INSERT INTO accounts DEFAULT VALUES"), V{});
    EXPECT_EQ(only("INSERT INTO accounts (id) SELECT 1"), V{});
    r = find("INSERT INTO accounts (id) SELECT account_id FROM orders WHERE account_id = 1");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].table, "accounts");
    EXPECT_EQ(r.uses[0].values, V{});
    EXPECT_EQ(r.uses[1].table, "orders");
    EXPECT_EQ(r.uses[1].values, V{});  // not the top-level query's own table
}

TEST(ShardKey, InsertOnConflictUpdatingTheKey) {
    ShardKeyResult r =
        find("INSERT INTO accounts (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2");
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_TRUE(r.uses[0].sets_key);
    r = find("INSERT INTO accounts (id, b) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET b = 3");
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_FALSE(r.uses[0].sets_key);
}

TEST(ShardKey, UpdateAndDelete) {
    EXPECT_EQ(only("UPDATE accounts SET balance = balance + 1 WHERE id = 42"), V{num("42")});
    EXPECT_EQ(only("UPDATE accounts a SET balance = 0 WHERE a.id = $1 RETURNING id"), V{param(1)});
    EXPECT_EQ(only("UPDATE accounts SET balance = 0"), V{});
    EXPECT_EQ(only("DELETE FROM accounts WHERE id IN (1, 2)"), (V{num("1"), num("2")}));
    EXPECT_EQ(only("DELETE FROM users WHERE name = 'bob' AND age > 3"), V{text("bob")});
    EXPECT_EQ(only("DELETE FROM accounts"), V{});
    EXPECT_EQ(only("DELETE FROM accounts WHERE CURRENT OF c"), V{});
    ShardKeyResult r = find("UPDATE accounts SET id = 7 WHERE id = 6");
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_TRUE(r.uses[0].sets_key);
    EXPECT_EQ(r.uses[0].values, V{num("6")});
    r = find("UPDATE accounts SET balance = 1 WHERE id = 6");
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_FALSE(r.uses[0].sets_key);
}

TEST(ShardKey, UpdateFromAndDeleteUsing) {
    ShardKeyResult r = find(
        "UPDATE accounts a SET balance = 0 FROM orders o WHERE o.account_id = a.id AND a.id = 3");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].table, "accounts");
    EXPECT_EQ(r.uses[0].values, V{num("3")});
    EXPECT_EQ(r.uses[1].table, "orders");
    EXPECT_EQ(r.uses[1].values, V{num("3")});
    r = find("DELETE FROM orders o USING accounts a WHERE o.account_id = a.id AND a.id = $1");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{param(1)});
    EXPECT_EQ(r.uses[1].values, V{param(1)});
}

TEST(ShardKey, JoinsOnTheKey) {
    ShardKeyResult r =
        find("SELECT * FROM accounts a JOIN orders o ON o.account_id = a.id WHERE a.id = 42");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].table, "accounts");
    EXPECT_EQ(r.uses[0].values, V{num("42")});
    EXPECT_EQ(r.uses[1].table, "orders");
    EXPECT_EQ(r.uses[1].alias, "o");
    EXPECT_EQ(r.uses[1].values, V{num("42")});

    r = find(
        "SELECT * FROM accounts, orders WHERE orders.account_id = 9 AND "
        "accounts.id = orders.account_id");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{num("9")});
    EXPECT_EQ(r.uses[1].values, V{num("9")});

    r = find("SELECT * FROM accounts a LEFT JOIN orders o ON o.account_id = a.id WHERE a.id = 1");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[1].values, V{num("1")});

    // A chain of three.
    r = find(
        "SELECT * FROM accounts a JOIN orders o ON o.account_id = a.id "
        "JOIN users u ON u.name = o.account_id::text WHERE a.id = 1");
    ASSERT_EQ(r.uses.size(), 3u);
    EXPECT_EQ(r.uses[1].values, V{num("1")});
    EXPECT_EQ(r.uses[2].values, V{});  // joined on an expression, not the key

    // Self-join on the key.
    r = find("SELECT * FROM accounts a JOIN accounts b ON a.id = b.id WHERE b.id = 5");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].alias, "a");
    EXPECT_EQ(r.uses[0].values, V{num("5")});
    EXPECT_EQ(r.uses[1].values, V{num("5")});

    // USING on the key (same column name on both sides).
    const std::vector<ShardedTableKey> same = {{"a", "k"}, {"b", "k"}};
    r = find_shard_keys("SELECT * FROM a JOIN b USING (k) WHERE a.k = 'x'", same);
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[1].values, V{text("x")});
}

TEST(ShardKey, JoinsThatDoNotPin) {
    // Not joined on the key.
    ShardKeyResult r =
        find("SELECT * FROM accounts a JOIN orders o ON o.id = a.id WHERE a.id = 42");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{num("42")});
    EXPECT_EQ(r.uses[1].values, V{});
    // Neither side pinned.
    r = find("SELECT * FROM accounts a JOIN orders o ON o.account_id = a.id");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{});
    EXPECT_EQ(r.uses[1].values, V{});
    // A constant in the ON of an outer join does not filter the preserved side.
    r = find("SELECT * FROM accounts a LEFT JOIN orders o ON o.account_id = a.id AND a.id = 1");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{});
    EXPECT_EQ(r.uses[1].values, V{});
    // ... but an inner join's ON does.
    r = find("SELECT * FROM accounts a JOIN orders o ON o.account_id = a.id AND a.id = 1");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{num("1")});
    EXPECT_EQ(r.uses[1].values, V{num("1")});
    // Unqualified key column that two tables share is ambiguous.
    r = find("SELECT * FROM accounts a JOIN accounts b ON true WHERE id = 1");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{});
}

TEST(ShardKey, TablesAnywhere) {
    ShardKeyResult r = find(
        "WITH x AS (SELECT * FROM orders) SELECT * FROM accounts WHERE id = 1 "
        "AND EXISTS (SELECT 1 FROM users WHERE name = 'a')");
    ASSERT_EQ(r.uses.size(), 3u);
    EXPECT_EQ(r.uses[0].table, "orders");
    EXPECT_EQ(r.uses[0].values, V{});
    EXPECT_EQ(r.uses[1].table, "accounts");
    EXPECT_EQ(r.uses[1].values, V{num("1")});
    EXPECT_EQ(r.uses[2].table, "users");
    EXPECT_EQ(r.uses[2].values, V{});
    r = find("SELECT * FROM accounts WHERE id = 1 UNION SELECT * FROM accounts WHERE id = 2");
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[0].values, V{});
    EXPECT_EQ(find("TRUNCATE accounts").uses.size(), 1u);
    EXPECT_EQ(find("SELECT 1").uses.size(), 0u);
    EXPECT_EQ(find("SELECT * FROM settings WHERE id = 1").uses.size(), 0u);
    EXPECT_EQ(only("EXPLAIN SELECT * FROM accounts WHERE id = 8"), V{num("8")});
}

TEST(ShardKey, ErrorsAsValues) {
    ShardKeyResult r = find("SELEC * FROM accounts WHERE id = 1");
    EXPECT_TRUE(r.parse_error);
    EXPECT_TRUE(r.uses.empty());
    EXPECT_TRUE(find("SELECT * FROM accounts WHERE id = 'unterminated").parse_error);
    EXPECT_FALSE(find("").parse_error);
    EXPECT_TRUE(find("").uses.empty());
    r = find("SELECT * FROM accounts WHERE id = 1; DELETE FROM orders WHERE account_id = 2");
    EXPECT_TRUE(r.multi_statement);
    ASSERT_EQ(r.uses.size(), 2u);
    EXPECT_EQ(r.uses[1].values, V{num("2")});
    EXPECT_FALSE(find("SELECT * FROM accounts WHERE id = 1;").multi_statement);
}

TEST(ShardKey, DeepTextsDoNotCrash) {
    std::string sql = "SELECT * FROM accounts WHERE id = 1";
    for (int i = 0; i < 500; ++i) {
        sql += " AND (x = 1 OR (y = 2";
    }
    for (int i = 0; i < 500; ++i) {
        sql += "))";
    }
    ShardKeyResult r = find(sql);
    EXPECT_FALSE(r.parse_error);
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_EQ(r.uses[0].values, V{num("1")});
    std::string joins = "SELECT * FROM accounts a";
    for (int i = 0; i < 200; ++i) {
        joins += " JOIN t" + std::to_string(i) + " ON true";
    }
    joins += " WHERE a.id = 1";
    r = find(joins);
    ASSERT_EQ(r.uses.size(), 1u);
    EXPECT_EQ(r.uses[0].values, V{});  // too deep a join tree: gave up, unknown
}

// Mutations and random bytes: never a crash, and a result that did not parse holds no uses.
TEST(ShardKey, MutatedTextsNeverCrash) {
    const std::vector<std::string> seeds = {
        "SELECT * FROM accounts a JOIN orders o ON o.account_id = a.id WHERE a.id IN (1, $2)",
        "INSERT INTO accounts (id, b) VALUES (1, 'x'), (-2, E'\\'') ON CONFLICT DO NOTHING",
        "UPDATE accounts SET id = 1 FROM orders WHERE orders.account_id = accounts.id AND "
        "accounts.id = '7'::bigint OR accounts.id = NULL",
        "DELETE FROM users USING accounts WHERE name = $$a$$ AND id = +3"};
    std::mt19937 rng(8);
    for (const std::string& seed : seeds) {
        for (int round = 0; round < 300; ++round) {
            std::string sql = seed;
            const int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !sql.empty(); ++e) {
                std::size_t at = rng() % sql.size();
                switch (rng() % 3) {
                    case 0:
                        sql.erase(at, 1 + rng() % 8);
                        break;
                    case 1:
                        sql.insert(at, 1, static_cast<char>(rng() % 256));
                        break;
                    default:
                        sql.insert(at, seed.substr(rng() % seed.size(), rng() % 12));
                        break;
                }
            }
            ShardKeyResult r = find(sql);
            if (r.parse_error) {
                EXPECT_TRUE(r.uses.empty()) << sql;
            }
            for (const ShardKeyUse& use : r.uses) {
                EXPECT_FALSE(use.per_row && use.values.empty()) << sql;
            }
        }
    }
}

}  // namespace
}  // namespace pgrouter::sql
