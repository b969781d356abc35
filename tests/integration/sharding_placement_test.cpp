// tests/integration/sharding_placement_test.cpp — issue 8, where rows land: statements sent
// through pgrouter to database "sharded" (two real shard primaries, tests/support/sharding_support)
// and every row then looked for on each shard directly, never through pgrouter. Literal, text,
// $n (text and binary) and prepared keys, reads by key, hints and SET pgrouter.shard[_key],
// transactions across shards, keyless writes, unsharded and reference tables, DDL (and DDL that
// fails on one shard), a 10,000-row INSERT and 100,000-row COPY in both directions.
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/sharding_support.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

constexpr Oid kInt8 = 20;
constexpr Oid kInt4 = 23;
constexpr Oid kText = 25;

const ShardMap& map() {
    return default_shard_map();
}

std::string port_of_shard(std::size_t shard) {
    return std::to_string(shard_port(shard));
}

// A read on shard 0 may be answered by its primary or its replica.
bool answered_by_shard(const std::optional<std::string>& port, std::size_t shard) {
    return port == port_of_shard(shard) ||
           (shard == 0 && port == std::to_string(topology().shard0_replica_port));
}

// The first key from `from` upwards that belongs to `shard` (accounts' bigint key).
std::int64_t key_on(std::size_t shard, std::int64_t from = 1) {
    for (std::int64_t k = from;; ++k) {
        if (map().shard_of("accounts", std::to_string(k)) == shard) {
            return k;
        }
    }
}

std::string be64(std::int64_t v) {
    std::string out(8, '\0');
    for (int i = 7; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
    return out;
}

std::string be32(std::int32_t v) {
    std::string out(4, '\0');
    for (int i = 3; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
    return out;
}

// key (as text) -> the shards it was found on, read directly from every shard.
std::map<std::string, std::vector<std::size_t>> found_keys(const std::string& table,
                                                           const std::string& key_column) {
    std::map<std::string, std::vector<std::size_t>> out;
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        PgConn conn(superuser_conninfo(shard_port(shard), kShardedDb));
        for (const Row& row : conn.exec("SELECT " + key_column + "::text FROM " + table)) {
            out[row[0].value_or("<NULL>")].push_back(shard);
        }
    }
    return out;
}

// Every key in `expected` is on exactly the shard shard_of names, once; nothing else is there.
void expect_placed(const std::string& table, const std::string& key_column,
                   const std::vector<std::string>& expected) {
    const auto found = found_keys(table, key_column);
    std::set<std::string> wanted(expected.begin(), expected.end());
    std::size_t wrong = 0;
    for (const std::string& key : wanted) {
        const std::size_t shard = map().shard_of(table, key);
        auto it = found.find(key);
        if (it == found.end()) {
            ADD_FAILURE() << table << " key '" << key << "' is on no shard (expected shard "
                          << shard << ")";
        } else if (it->second != std::vector<std::size_t>{shard}) {
            if (++wrong <= 10) {
                ADD_FAILURE() << table << " key '" << key << "' is on shard(s) "
                              << ::testing::PrintToString(it->second) << ", expected only shard "
                              << shard;
            }
        }
    }
    for (const auto& [key, shards] : found) {
        EXPECT_TRUE(wanted.count(key) == 1) << table << ": unexpected key '" << key
                                            << "' on shard(s) " << ::testing::PrintToString(shards);
    }
    EXPECT_EQ(wrong, 0u) << table << ": " << wrong << " keys on the wrong shard";
}

std::size_t count_on(std::size_t shard, const std::string& sql) {
    return std::stoul(scalar_on_shard(shard, sql));
}

void expect_refused(const TaggedResult& r, const std::string& what) {
    EXPECT_FALSE(r.result.ok) << what << ": answered (tag " << r.tag << ") instead of 0A000";
    EXPECT_EQ(r.result.sqlstate, "0A000") << what << ": " << r.result.message;
}

void expect_ok(const TaggedResult& r, const std::string& what) {
    EXPECT_TRUE(r.result.ok) << what << ": SQLSTATE " << r.result.sqlstate << ": "
                             << r.result.message;
}

class ShardingPlacement : public ::testing::Test {
protected:
    void SetUp() override {
        exec_on_every_shard(
            "SET client_min_messages = warning;"
            "DROP TABLE IF EXISTS accounts, orders, notes, countries, empty_on_one, plain_items,"
            "  ddl_made, ddl_conflict CASCADE;"
            "CREATE TABLE accounts (user_id bigint PRIMARY KEY, name text, balance numeric);"
            "CREATE TABLE orders (order_id bigint, user_id bigint, amount numeric);"
            "CREATE TABLE notes (owner text, body text);"
            "CREATE TABLE countries (code text PRIMARY KEY, name text);"
            "CREATE TABLE plain_items (id bigint, label text);"
            "GRANT ALL ON accounts, orders, notes, countries, plain_items TO PUBLIC;");
        wait_shard_replica_caught_up();
        router_ = start_sharded_router();
        conn_ = std::make_unique<PgConn>(router_->conninfo("app", "app", kShardedDb));
    }
    void TearDown() override {
        conn_.reset();
        router_.reset();
    }
    PGconn* c() { return conn_->raw(); }

    std::unique_ptr<PgrouterProcess> router_;
    std::unique_ptr<PgConn> conn_;
};

// Needs no routing: the in-process map, `pgrouter shard-of` and README's golden vectors agree.
TEST(ShardingMap, InProcessMapAgreesWithTheCliAndTheReadme) {
    EXPECT_EQ(map().slot_of("accounts", "42"), 968u);
    EXPECT_EQ(map().shard_of("accounts", "42"), 1u);
    EXPECT_EQ(map().slot_of("accounts", "-1"), 19u);
    EXPECT_EQ(map().slot_of("notes", "alice"), 688u);
    const std::string config = write_temp_file("sharded.yaml", substitute(sharded_yaml(), 1));
    for (const auto& [table, key] :
         std::vector<std::pair<std::string, std::string>>{{"accounts", "42"},
                                                          {"accounts", "-1"},
                                                          {"accounts", "7"},
                                                          {"orders", "123456"},
                                                          {"notes", "alice"},
                                                          {"notes", "bob"},
                                                          {"empty_on_one", "3"}}) {
        const std::size_t shard = map().shard_of(table, key);
        EXPECT_EQ(shard_of_cli(config, table, key),
                  "slot=" + std::to_string(map().slot_of(table, key)) + " shard=" +
                      std::to_string(shard) + " primary=127.0.0.1:" + port_of_shard(shard))
            << table << " " << key;
    }
}

TEST_F(ShardingPlacement, InsertWithLiteralBigintKeysLandsOnTheKeysShard) {
    std::vector<std::string> keys;
    for (const std::string k : {"0", "1", "2", "3", "42", "-1", "-42", "9223372036854775807",
                                "-9223372036854775808", "1000", "1001", "1002", "77777"}) {
        keys.push_back(k);
        const TaggedResult r = exec_tagged(
            c(), "INSERT INTO accounts (user_id, name) VALUES (" + k + ", 'n" + k + "')");
        expect_ok(r, "insert " + k);
        EXPECT_EQ(r.tag, "INSERT 0 1");
    }
    // Also the key written as a quoted literal and with the columns in another order.
    expect_ok(exec_tagged(c(), "INSERT INTO accounts (name, user_id) VALUES ('q', '555')"), "q");
    keys.push_back("555");
    expect_placed("accounts", "user_id", keys);
}

TEST_F(ShardingPlacement, InsertWithTextKeysLandsOnTheKeysShard) {
    const std::vector<std::string> owners = {"alice",    "bob", "carol", "",     "é",
                                             "o''brien", "Zoë", "42",    "a b c"};
    std::vector<std::string> stored;
    for (const std::string& o : owners) {
        expect_ok(exec_tagged(c(), "INSERT INTO notes (owner, body) VALUES ('" + o + "', 'x')"),
                  "insert note " + o);
        std::string unescaped = o;
        if (auto at = unescaped.find("''"); at != std::string::npos) {
            unescaped.erase(at, 1);
        }
        stored.push_back(unescaped);
    }
    expect_placed("notes", "owner", stored);
}

TEST_F(ShardingPlacement, ParametersInTextAndBinaryFormatPickTheShard) {
    std::vector<std::string> keys;
    // Text format, type left to the server and given as int8.
    for (std::int64_t k = 100; k < 110; ++k) {
        const std::string key = std::to_string(k);
        expect_ok(exec_params_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES ($1, $2)",
                                     {key, "text"}),
                  "text param " + key);
        keys.push_back(key);
    }
    for (std::int64_t k = 110; k < 120; ++k) {
        const std::string key = std::to_string(k);
        expect_ok(exec_params_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES ($1, $2)",
                                     {key, "typed"}, {kInt8, kText}),
                  "typed text param " + key);
        keys.push_back(key);
    }
    // Binary int8 and int4 (the key is the same number whatever the width).
    for (std::int64_t k : {120LL, -5LL, 9223372036854775807LL, 42LL}) {
        expect_ok(exec_params_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES ($1, $2)",
                                     {be64(k), "bin8"}, {kInt8, kText}, {1, 0}),
                  "binary int8 " + std::to_string(k));
        keys.push_back(std::to_string(k));
    }
    for (std::int32_t k : {130, -7, 2147483647}) {
        expect_ok(exec_params_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES ($1, $2)",
                                     {be32(k), "bin4"}, {kInt4, kText}, {1, 0}),
                  "binary int4 " + std::to_string(k));
        keys.push_back(std::to_string(k));
    }
    expect_placed("accounts", "user_id", keys);
    // Text keys: text and binary format (text's binary form is its bytes).
    std::vector<std::string> owners;
    for (const std::string o : {"p-alice", "p-bob", "p-carol", "p-dave"}) {
        expect_ok(exec_params_tagged(c(), "INSERT INTO notes (owner, body) VALUES ($1, 'x')", {o}),
                  "text owner " + o);
        owners.push_back(o);
    }
    for (const std::string o : {"b-alice", "b-bob", "b-carol", "b-dave"}) {
        expect_ok(exec_params_tagged(c(), "INSERT INTO notes (owner, body) VALUES ($1, 'x')", {o},
                                     {kText}, {1}),
                  "binary owner " + o);
        owners.push_back(o);
    }
    expect_placed("notes", "owner", owners);
}

TEST_F(ShardingPlacement, NamedPreparedStatementsPickTheShardPerExecution) {
    PGresult* prepared = PQprepare(
        c(), "ins_account", "INSERT INTO accounts (user_id, name) VALUES ($1, $2)", 2, nullptr);
    ASSERT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQresultErrorMessage(prepared);
    PQclear(prepared);
    std::vector<std::string> keys;
    for (int k = 200; k < 240; ++k) {
        const std::string key = std::to_string(k);
        const char* values[2] = {key.c_str(), "prepared"};
        PGresult* r = PQexecPrepared(c(), "ins_account", 2, values, nullptr, nullptr, 0);
        EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << key << ": " << PQresultErrorMessage(r);
        PQclear(r);
        keys.push_back(key);
    }
    expect_placed("accounts", "user_id", keys);
    // A prepared read by key finds each row.
    prepared =
        PQprepare(c(), "get_account", "SELECT name FROM accounts WHERE user_id = $1", 1, nullptr);
    ASSERT_EQ(PQresultStatus(prepared), PGRES_COMMAND_OK) << PQresultErrorMessage(prepared);
    PQclear(prepared);
    for (const std::string& key : keys) {
        const char* values[1] = {key.c_str()};
        PGresult* r = PQexecPrepared(c(), "get_account", 1, values, nullptr, nullptr, 0);
        ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << key << ": " << PQresultErrorMessage(r);
        EXPECT_EQ(PQntuples(r), 1) << key;
        PQclear(r);
    }
}

TEST_F(ShardingPlacement, ReadByKeyReturnsTheRowFromItsShard) {
    // Rows written directly on their shards: the read must go to the right one to find them.
    for (std::int64_t k = 300; k < 320; ++k) {
        const std::size_t shard = map().shard_of("accounts", std::to_string(k));
        PgConn direct(superuser_conninfo(shard_port(shard), kShardedDb));
        direct.exec("INSERT INTO accounts (user_id, name) VALUES (" + std::to_string(k) +
                    ", 'direct" + std::to_string(k) + "')");
    }
    wait_shard_replica_caught_up();
    for (std::int64_t k = 300; k < 320; ++k) {
        const std::string key = std::to_string(k);
        const TaggedResult simple = exec_tagged(
            c(), "SELECT name, inet_server_port() FROM accounts WHERE user_id = " + key);
        expect_ok(simple, "simple read " + key);
        ASSERT_EQ(simple.result.rows.size(), 1u) << key << ": " << format_rows(simple.result.rows);
        EXPECT_EQ(simple.result.rows[0][0], "direct" + key);
        EXPECT_TRUE(answered_by_shard(simple.result.rows[0][1], map().shard_of("accounts", key)))
            << key << " answered by port " << simple.result.rows[0][1].value_or("NULL");
        const TaggedResult extended =
            exec_params_tagged(c(), "SELECT name FROM accounts WHERE user_id = $1", {key});
        expect_ok(extended, "extended read " + key);
        ASSERT_EQ(extended.result.rows.size(), 1u) << key;
        EXPECT_EQ(extended.result.rows[0][0], "direct" + key);
    }
}

TEST_F(ShardingPlacement, HintAndSetPickTheShardOfAKeylessStatement) {
    // Distinct row counts per shard, so a count tells which shard answered.
    const std::int64_t on0 = key_on(0), on1 = key_on(1);
    PgConn s0(superuser_conninfo(shard_port(0), kShardedDb));
    PgConn s1(superuser_conninfo(shard_port(1), kShardedDb));
    s0.exec("INSERT INTO accounts (user_id) VALUES (" + std::to_string(on0) + ")");
    s1.exec("INSERT INTO accounts (user_id) VALUES (" + std::to_string(on1) + "), (" +
            std::to_string(key_on(1, on1 + 1)) + ")");
    const std::string count_for_shard[2] = {"1", "2"};
    wait_shard_replica_caught_up();

    for (std::int64_t key : {on0, on1, std::int64_t{42}}) {
        const std::size_t shard = map().shard_of("accounts", std::to_string(key));
        const TaggedResult hinted =
            exec_tagged(c(), "/* pgrouter: shard_key=" + std::to_string(key) +
                                 " */ SELECT count(*) FROM accounts");
        expect_ok(hinted, "hint shard_key=" + std::to_string(key));
        ASSERT_EQ(hinted.result.rows.size(), 1u);
        EXPECT_EQ(hinted.result.rows[0][0], count_for_shard[shard]) << "hint key " << key;

        expect_ok(exec_tagged(c(), "SET pgrouter.shard_key = '" + std::to_string(key) + "'"),
                  "SET pgrouter.shard_key");
        const TaggedResult set = exec_tagged(c(), "SELECT count(*) FROM accounts");
        expect_ok(set, "after SET pgrouter.shard_key");
        ASSERT_EQ(set.result.rows.size(), 1u);
        EXPECT_EQ(set.result.rows[0][0], count_for_shard[shard]) << "SET shard_key " << key;
        expect_ok(exec_tagged(c(), "RESET pgrouter.shard_key"), "RESET pgrouter.shard_key");
    }
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        expect_ok(exec_tagged(c(), "SET pgrouter.shard = " + std::to_string(shard)),
                  "SET pgrouter.shard");
        const TaggedResult count = exec_tagged(c(), "SELECT count(*) FROM accounts");
        expect_ok(count, "count after SET pgrouter.shard");
        ASSERT_EQ(count.result.rows.size(), 1u);
        EXPECT_EQ(count.result.rows[0][0], count_for_shard[shard]) << "SET pgrouter.shard";
        // A statement with no table at all goes there too.
        const TaggedResult port = exec_tagged(c(), "SELECT inet_server_port()");
        expect_ok(port, "port after SET pgrouter.shard");
        ASSERT_EQ(port.result.rows.size(), 1u);
        EXPECT_TRUE(answered_by_shard(port.result.rows[0][0], shard))
            << "SET pgrouter.shard = " << shard << ": answered by port "
            << port.result.rows[0][0].value_or("NULL");
    }
    expect_ok(exec_tagged(c(), "RESET pgrouter.shard"), "RESET pgrouter.shard");
    // Back to scattering: the count of every shard.
    const TaggedResult all = exec_tagged(c(), "SELECT count(*) FROM accounts");
    expect_ok(all, "count after RESET");
    ASSERT_EQ(all.result.rows.size(), 1u);
    EXPECT_EQ(all.result.rows[0][0], "3");
}

TEST_F(ShardingPlacement, TransactionTouchingTwoShardsIsRefusedAndNotSplit) {
    const std::string k0 = std::to_string(key_on(0)), k1 = std::to_string(key_on(1));
    expect_ok(exec_tagged(c(), "BEGIN"), "BEGIN");
    expect_ok(exec_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES (" + k0 + ", 'tx')"),
              "first shard's insert");
    expect_refused(
        exec_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES (" + k1 + ", 'tx')"),
        "second shard's insert in the same transaction");
    // Nothing is visible on either shard while the client has not ended the transaction.
    EXPECT_EQ(count_on(0, "SELECT count(*) FROM accounts"), 0u);
    EXPECT_EQ(count_on(1, "SELECT count(*) FROM accounts"), 0u);
    const TaggedResult rollback = exec_tagged(c(), "ROLLBACK");
    expect_ok(rollback, "ROLLBACK");
    EXPECT_EQ(count_on(0, "SELECT count(*) FROM accounts"), 0u);
    EXPECT_EQ(count_on(1, "SELECT count(*) FROM accounts"), 0u);
    // The session is usable afterwards.
    expect_ok(exec_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES (" + k1 + ", 'after')"),
              "insert after the refused transaction");
    expect_placed("accounts", "user_id", {k1});
}

TEST_F(ShardingPlacement, KeylessWriteOnAShardedTableIsRefused) {
    const std::string k0 = std::to_string(key_on(0)), k1 = std::to_string(key_on(1));
    expect_ok(exec_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES (" + k0 + ", 'a')"),
              "insert k0");
    expect_ok(exec_tagged(c(), "INSERT INTO accounts (user_id, name) VALUES (" + k1 + ", 'a')"),
              "insert k1");
    expect_refused(exec_tagged(c(), "UPDATE accounts SET name = 'changed'"), "keyless UPDATE");
    expect_refused(exec_params_tagged(c(), "UPDATE accounts SET name = 'changed'"),
                   "keyless UPDATE (extended)");
    expect_refused(exec_tagged(c(), "DELETE FROM accounts WHERE name = 'a'"), "keyless DELETE");
    EXPECT_EQ(count_on(0, "SELECT count(*) FROM accounts WHERE name = 'a'"), 1u);
    EXPECT_EQ(count_on(1, "SELECT count(*) FROM accounts WHERE name = 'a'"), 1u);
    // With the key it is allowed, and changes only that row.
    const TaggedResult keyed =
        exec_tagged(c(), "UPDATE accounts SET name = 'changed' WHERE user_id = " + k1);
    expect_ok(keyed, "keyed UPDATE");
    EXPECT_EQ(keyed.tag, "UPDATE 1");
    EXPECT_EQ(count_on(1, "SELECT count(*) FROM accounts WHERE name = 'changed'"), 1u);
    EXPECT_EQ(count_on(0, "SELECT count(*) FROM accounts WHERE name = 'changed'"), 0u);
}

TEST_F(ShardingPlacement, TableNotInTheConfigLivesOnTheFirstShard) {
    expect_ok(exec_tagged(c(), "INSERT INTO plain_items VALUES (1, 'one'), (2, 'two')"), "insert");
    EXPECT_EQ(count_on(0, "SELECT count(*) FROM plain_items"), 2u);
    EXPECT_EQ(count_on(1, "SELECT count(*) FROM plain_items"), 0u);
    const TaggedResult read = exec_tagged(c(), "SELECT label FROM plain_items ORDER BY id");
    expect_ok(read, "read");
    EXPECT_EQ(format_rows(read.result.rows), "one\ntwo\n");
}

TEST_F(ShardingPlacement, ReferenceTableWritesReachEveryShardAndReadsWork) {
    const TaggedResult insert =
        exec_tagged(c(), "INSERT INTO countries VALUES ('FR', 'France'), ('JP', 'Japan')");
    expect_ok(insert, "insert into reference table");
    expect_ok(exec_tagged(c(), "UPDATE countries SET name = 'Nippon' WHERE code = 'JP'"), "update");
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        EXPECT_EQ(scalar_on_shard(shard,
                                  "SELECT string_agg(code || '=' || name, ',' ORDER BY code) "
                                  "FROM countries"),
                  "FR=France,JP=Nippon")
            << "shard " << shard;
    }
    const TaggedResult read = exec_tagged(c(), "SELECT code, name FROM countries ORDER BY code");
    expect_ok(read, "read reference table");
    EXPECT_EQ(format_rows(read.result.rows), "FR|France\nJP|Nippon\n");
}

TEST_F(ShardingPlacement, DdlReachesEveryShard) {
    expect_ok(exec_tagged(c(), "CREATE TABLE ddl_made (id bigint, v text)"), "CREATE TABLE");
    expect_ok(exec_tagged(c(), "CREATE INDEX ddl_made_v ON ddl_made (v)"), "CREATE INDEX");
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        EXPECT_TRUE(relation_exists_on_shard(shard, "ddl_made")) << "shard " << shard;
        EXPECT_TRUE(relation_exists_on_shard(shard, "ddl_made_v")) << "shard " << shard;
    }
}

TEST_F(ShardingPlacement, DdlFailingOnOneShardIsAnErrorNamingItAndChangesNoShard) {
    {
        PgConn s1(superuser_conninfo(shard_port(1), kShardedDb));
        s1.exec("CREATE TABLE ddl_conflict (id bigint)");
    }
    const TaggedResult r = exec_tagged(c(), "CREATE TABLE ddl_conflict (id bigint, other text)");
    EXPECT_FALSE(r.result.ok) << "CREATE TABLE succeeded although shard 1 already has the table";
    EXPECT_EQ(r.result.sqlstate, "42P07") << r.result.message;
    const std::string address = "127.0.0.1:" + port_of_shard(1);
    EXPECT_TRUE(r.result.message.find("shard 1") != std::string::npos ||
                r.result.message.find(address) != std::string::npos)
        << "the error does not name shard 1 (or " << address << "): " << r.result.message;
    EXPECT_FALSE(relation_exists_on_shard(0, "ddl_conflict"))
        << "shard 0 kept the table although the DDL failed on shard 1";
    // Shard 1's own table is untouched (still one column).
    EXPECT_EQ(scalar_on_shard(1,
                              "SELECT count(*) FROM information_schema.columns WHERE "
                              "table_name = 'ddl_conflict'"),
              "1");
    // The session goes on.
    expect_ok(exec_tagged(c(), "SELECT 1"), "SELECT after the failed DDL");
}

TEST_F(ShardingPlacement, TenThousandRowInsertIsSplitByKey) {
    std::string sql = "INSERT INTO accounts (user_id, name, balance) VALUES ";
    std::vector<std::string> keys;
    std::size_t expected[kShardCount] = {0, 0};
    for (int i = 1; i <= 10000; ++i) {
        const std::string key = std::to_string(i * 7 - 3000);
        keys.push_back(key);
        ++expected[map().shard_of("accounts", key)];
        sql += (i == 1 ? "(" : ", (") + key + ", 'u" + key + "', " + std::to_string(i) + ".5)";
    }
    const TaggedResult r = exec_tagged(c(), sql);
    expect_ok(r, "10,000-row INSERT");
    EXPECT_EQ(r.tag, "INSERT 0 10000");
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        EXPECT_EQ(count_on(shard, "SELECT count(*) FROM accounts"), expected[shard])
            << "shard " << shard;
    }
    expect_placed("accounts", "user_id", keys);
    // The values came with their rows.
    EXPECT_EQ(std::stoul(scalar_on_shard(0,
                                         "SELECT count(*) FROM accounts WHERE name <> "
                                         "'u' || user_id")) +
                  std::stoul(scalar_on_shard(1,
                                             "SELECT count(*) FROM accounts WHERE name <> "
                                             "'u' || user_id")),
              0u);
}

TEST_F(ShardingPlacement, HundredThousandRowCopyIsSplitAndCopyOutGathersEverything) {
    std::string text, csv;
    std::vector<std::string> text_keys, csv_keys;
    for (int i = 0; i < 100000; ++i) {
        const std::string key = std::to_string(1000000 + i);
        text_keys.push_back(key);
        text += key + "\tname " + key + "\t" + std::to_string(i % 1000) + ".25\n";
        const std::string ckey = std::to_string(-1 - i);
        csv_keys.push_back(ckey);
        csv += ckey + ",\"csv, " + ckey + "\",\n";  // a comma in a quoted field, NULL balance
    }
    const TaggedResult t = copy_in(c(), "COPY accounts (user_id, name, balance) FROM STDIN", text);
    expect_ok(t, "COPY text");
    EXPECT_EQ(t.tag, "COPY 100000");
    expect_placed("accounts", "user_id", text_keys);

    expect_ok(exec_tagged(c(), "SELECT 1"), "between the copies");
    const TaggedResult v =
        copy_in(c(), "COPY accounts (user_id, name, balance) FROM STDIN (FORMAT csv)", csv);
    expect_ok(v, "COPY csv");
    EXPECT_EQ(v.tag, "COPY 100000");
    std::vector<std::string> all = text_keys;
    all.insert(all.end(), csv_keys.begin(), csv_keys.end());
    expect_placed("accounts", "user_id", all);
    EXPECT_EQ(
        count_on(0, "SELECT count(*) FROM accounts WHERE balance IS NULL AND name LIKE 'csv, %'") +
            count_on(1,
                     "SELECT count(*) FROM accounts WHERE balance IS NULL AND name LIKE "
                     "'csv, %'"),
        100000u);

    // COPY TO STDOUT through pgrouter: every row of both shards, each once.
    ASSERT_EQ(PQsendQuery(c(), "COPY accounts (user_id, name, balance) TO STDOUT"), 1);
    PgResult started = next_result(c(), std::chrono::seconds(30));
    ASSERT_TRUE(started);
    ASSERT_EQ(PQresultStatus(started.get()), PGRES_COPY_OUT) << PQresultErrorMessage(started.get());
    started.reset();
    const CopyOutData out = read_copy_out(c(), std::chrono::seconds(120));
    ASSERT_TRUE(out.complete) << out.error;
    std::multiset<std::string> got;
    for (std::size_t at = 0; at < out.data.size();) {
        const std::size_t end = out.data.find('\n', at);
        got.insert(out.data.substr(at, end - at));
        at = end == std::string::npos ? out.data.size() : end + 1;
    }
    std::multiset<std::string> want;
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        PgConn direct(superuser_conninfo(shard_port(shard), kShardedDb));
        ASSERT_EQ(PQsendQuery(direct.raw(), "COPY accounts (user_id, name, balance) TO STDOUT"), 1);
        PgResult s = next_result(direct.raw(), std::chrono::seconds(30));
        ASSERT_TRUE(s && PQresultStatus(s.get()) == PGRES_COPY_OUT);
        s.reset();
        const CopyOutData d = read_copy_out(direct.raw(), std::chrono::seconds(120));
        ASSERT_TRUE(d.complete) << d.error;
        for (std::size_t at = 0; at < d.data.size();) {
            const std::size_t end = d.data.find('\n', at);
            want.insert(d.data.substr(at, end - at));
            at = end == std::string::npos ? d.data.size() : end + 1;
        }
    }
    EXPECT_EQ(got.size(), 200000u);
    EXPECT_TRUE(got == want) << "COPY TO STDOUT through pgrouter differs from the shards' rows ("
                             << got.size() << " vs " << want.size() << " lines)";
}

}  // namespace
}  // namespace pgrouter::test
