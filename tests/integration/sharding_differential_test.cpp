// tests/integration/sharding_differential_test.cpp — issue 8, reads across shards compared with
// one server holding every row: the same rows are loaded directly into the two shards (each row
// where shard_of puts it; reference table countries on both) and, all of them, into database
// shard_reference on the main primary. A corpus of read queries then runs through pgrouter
// (database "sharded") and directly on shard_reference, over the simple and the extended
// protocol. Each query says what must happen: EQUAL (same columns, types and rows), SAME_ERROR
// (both fail with one SQLSTATE) or REFUSED (pgrouter answers 0A000).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
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

constexpr const char* kReferenceDb = "shard_reference";

enum class Expect { Equal, SameError, Refused };

struct Query {
    const char* sql;
    Expect expect;
    // EQUAL only: the ORDER BY fixes the order of every row, so rows compare as sequences;
    // otherwise as sorted multisets.
    bool ordered = false;
};

constexpr Expect E = Expect::Equal;
constexpr bool kOrdered = true;

// Text columns are ordered and compared bytewise: the topology's clusters use C.UTF-8 (or C),
// which the merger needs to order text itself (checked in SetUp).
const std::vector<Query>& corpus() {
    static const std::vector<Query> queries = {
        // ---- aggregates without GROUP BY
        {"SELECT count(*) FROM accounts", E},
        {"SELECT count(*), sum(balance), min(balance), max(balance) FROM accounts", E},
        {"SELECT avg(balance) FROM accounts", E},
        {"SELECT avg(score) AS avg_score, count(score), count(name) FROM accounts", E},
        {"SELECT sum(score), min(created), max(updated) FROM accounts", E},
        {"SELECT min(name), max(name) FROM accounts", E},
        {"SELECT max(amount), min(amount), sum(qty), count(*) FROM orders", E},
        {"SELECT count(*) FROM orders WHERE amount > 50", E},
        {"SELECT min(updated), max(created), avg(balance) FROM accounts WHERE country = 'FR'", E},
        {"SELECT sum(balance) FROM accounts WHERE user_id IN (1, 2, 3, 4, 5, 6, 7, 8)", E},
        // ---- GROUP BY, HAVING
        {"SELECT country, count(*) FROM accounts GROUP BY country", E},
        {"SELECT country, count(*), sum(balance) FROM accounts GROUP BY country "
         "ORDER BY country NULLS FIRST",
         E, kOrdered},
        {"SELECT country, avg(balance), min(score), max(score) FROM accounts GROUP BY country", E},
        {"SELECT country, count(*) FROM accounts GROUP BY country HAVING count(*) > 30", E},
        {"SELECT country, sum(balance) FROM accounts GROUP BY country HAVING sum(balance) < 0", E},
        {"SELECT flag, count(*), min(name), max(name) FROM accounts GROUP BY flag", E},
        {"SELECT flag, count(*) FROM accounts GROUP BY flag HAVING count(*) > 0 "
         "ORDER BY flag NULLS LAST",
         E, kOrdered},
        {"SELECT created, count(*) FROM accounts GROUP BY created", E},
        {"SELECT status, count(*), sum(qty), avg(amount) FROM orders GROUP BY status", E},
        {"SELECT user_id, sum(amount) FROM orders GROUP BY user_id HAVING sum(amount) > 120", E},
        {"SELECT user_id, count(*) FROM orders GROUP BY user_id HAVING count(*) >= 4 AND "
         "max(amount) < 90",
         E},
        {"SELECT owner, count(*) FROM notes GROUP BY owner", E},
        {"SELECT v, count(*) FROM empty_on_one GROUP BY v", E},
        // ---- ORDER BY, LIMIT, OFFSET
        {"SELECT user_id, name FROM accounts ORDER BY user_id LIMIT 10", E, kOrdered},
        {"SELECT user_id, name FROM accounts ORDER BY user_id DESC LIMIT 10 OFFSET 5", E, kOrdered},
        {"SELECT user_id, balance FROM accounts ORDER BY balance DESC, user_id LIMIT 20", E,
         kOrdered},
        {"SELECT name, user_id FROM accounts ORDER BY name, user_id LIMIT 15", E, kOrdered},
        {"SELECT name, user_id FROM accounts ORDER BY name DESC NULLS LAST, user_id OFFSET 240", E,
         kOrdered},
        {"SELECT order_id, amount FROM orders ORDER BY amount DESC, order_id LIMIT 7", E, kOrdered},
        {"SELECT owner, n, body FROM notes ORDER BY owner, n LIMIT 12", E, kOrdered},
        {"SELECT user_id, updated FROM accounts WHERE updated > '2024-03-01' "
         "ORDER BY updated, user_id LIMIT 10",
         E, kOrdered},
        {"SELECT user_id, score FROM accounts WHERE score IS NULL ORDER BY user_id", E, kOrdered},
        {"SELECT * FROM empty_on_one ORDER BY id LIMIT 5", E, kOrdered},
        {"SELECT user_id FROM accounts ORDER BY user_id LIMIT 5 OFFSET 1000", E, kOrdered},
        // ---- DISTINCT
        {"SELECT DISTINCT country FROM accounts", E},
        {"SELECT DISTINCT flag, country FROM accounts", E},
        {"SELECT DISTINCT country FROM accounts ORDER BY country", E, kOrdered},
        {"SELECT DISTINCT status FROM orders ORDER BY status", E, kOrdered},
        // ---- keyed reads, IN lists, NULLs, empty results
        {"SELECT * FROM accounts WHERE user_id = 42", E},
        {"SELECT * FROM accounts WHERE user_id = -7", E},
        {"SELECT * FROM accounts WHERE user_id IN (1, 2, 3, 150, -3, 9000000000000000000)", E},
        {"SELECT * FROM accounts WHERE user_id = 99999", E},
        {"SELECT count(*) FROM accounts WHERE user_id = 99999", E},
        {"SELECT sum(balance), max(name), count(*) FROM accounts WHERE false", E},
        {"SELECT * FROM accounts WHERE name IS NULL", E},
        {"SELECT user_id, balance FROM accounts WHERE balance < 0", E},
        {"SELECT * FROM orders WHERE user_id = 42 ORDER BY order_id", E, kOrdered},
        {"SELECT * FROM notes WHERE owner = 'alice'", E},
        {"SELECT * FROM notes WHERE owner IN ('bob', 'é', '')", E},
        {"SELECT count(*), sum(v) FROM empty_on_one", E},
        {"SELECT max(id), min(id) FROM empty_on_one", E},
        // ---- joins (co-located on user_id) and with the reference table
        {"SELECT a.user_id, a.name, o.order_id, o.amount FROM accounts a "
         "JOIN orders o ON o.user_id = a.user_id WHERE a.user_id = 5",
         E},
        {"SELECT a.user_id, count(o.order_id), sum(o.amount) FROM accounts a "
         "JOIN orders o ON o.user_id = a.user_id GROUP BY a.user_id",
         E},
        {"SELECT count(*) FROM accounts a JOIN orders o USING (user_id)", E},
        {"SELECT a.user_id, o.order_id FROM accounts a LEFT JOIN orders o "
         "ON o.user_id = a.user_id WHERE a.user_id IN (10, 11, 12)",
         E},
        {"SELECT c.name, count(*) FROM accounts a JOIN countries c ON c.code = a.country "
         "GROUP BY c.name",
         E},
        {"SELECT c.region, sum(a.balance) FROM accounts a JOIN countries c ON c.code = a.country "
         "GROUP BY c.region ORDER BY c.region",
         E, kOrdered},
        {"SELECT code, name, region FROM countries ORDER BY code", E, kOrdered},
        {"SELECT count(*) FROM countries", E},
        // ---- no table at all
        {"SELECT 1 + 1 AS two, 'x'::text AS x", E},
        // ---- errors: the division by zero happens only for a row on shard 1
        {"SELECT user_id, 100 / score FROM accounts", Expect::SameError},
        {"SELECT sum(100 / score) FROM accounts", Expect::SameError},
        {"SELECT no_such_column FROM accounts", Expect::SameError},
        {"SELECT * FROM no_such_table", Expect::SameError},
        // ---- what cannot be merged exactly
        {"SELECT count(DISTINCT country) FROM accounts", Expect::Refused},
        {"SELECT user_id, row_number() OVER (ORDER BY user_id) FROM accounts", Expect::Refused},
        {"SELECT country, rank() OVER (PARTITION BY country ORDER BY balance) FROM accounts",
         Expect::Refused},
        {"SELECT string_agg(name, ',') FROM accounts", Expect::Refused},
        {"SELECT array_agg(user_id) FROM accounts", Expect::Refused},
    };
    return queries;
}

// ---- the data set (deterministic; every value made from the row's index)

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char ch : s) {
        out += ch;
        if (ch == '\'') {
            out += '\'';
        }
    }
    return out + "'";
}

std::string money(long cents, int scale) {
    const bool negative = cents < 0;
    const long magnitude = negative ? -cents : cents;
    long divisor = 1;
    for (int i = 0; i < scale; ++i) {
        divisor *= 10;
    }
    std::string frac = std::to_string(magnitude % divisor);
    while (frac.size() < static_cast<std::size_t>(scale)) {
        frac = "0" + frac;
    }
    return std::string(negative ? "-" : "") + std::to_string(magnitude / divisor) + "." + frac;
}

struct DataRow {
    std::string table;
    std::string key;     // shard key as text (empty for the reference table)
    std::string values;  // "(...)" for INSERT ... VALUES
};

std::vector<std::int64_t> user_ids() {
    std::vector<std::int64_t> ids;
    for (std::int64_t i = 1; i <= 240; ++i) {
        ids.push_back(i);
    }
    for (std::int64_t i = -1; i >= -20; --i) {
        ids.push_back(i);
    }
    ids.push_back(9000000000000000000LL);
    return ids;
}

std::vector<DataRow> data_set() {
    const ShardMap& map = default_shard_map();
    std::vector<DataRow> rows;
    const std::vector<std::string> names = {"alice", "Bob",  "émile", "Zed",    "zoë",
                                            "carol", "Dave", "eve",   "o'hara", "Åsa"};
    const std::vector<std::string> countries = {"FR", "JP", "US", "DE", "BR", "", "XX"};
    const std::vector<std::int64_t> ids = user_ids();
    bool zero_score_placed = false;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const std::int64_t id = ids[i];
        const std::string key = std::to_string(id);
        const long n = static_cast<long>(i) + 1;
        const std::string name = n % 11 == 0
                                     ? "NULL"
                                     : quote(names[static_cast<std::size_t>(n) % names.size()] +
                                             " " + std::to_string((n * 7919) % 1000));
        const std::string& country = countries[static_cast<std::size_t>(n) % countries.size()];
        const std::string balance = n % 13 == 0 ? "NULL" : money((n * 7919) % 200000 - 100000, 2);
        std::string score = n % 17 == 0 ? "NULL" : std::to_string((n * 31) % 97 + 1);
        // Exactly one zero, on shard 1: "100 / score" fails there only.
        if (!zero_score_placed && score != "NULL" && map.shard_of("accounts", key) == 1) {
            score = "0";
            zero_score_placed = true;
        }
        const std::string flag = n % 3 == 0 ? "NULL" : (n % 2 == 0 ? "true" : "false");
        rows.push_back({"accounts", key,
                        "(" + key + ", " + name + ", " +
                            (country.empty() ? "NULL" : quote(country)) + ", " + balance + ", " +
                            score + ", DATE '2024-01-01' + " + std::to_string((n * 13) % 120) +
                            ", TIMESTAMP '2024-01-01 00:00:00' + interval '1 second' * " +
                            std::to_string((n * 3571) % 10000000) + ", " + flag + ")"});
    }
    const std::vector<std::string> statuses = {"new", "paid", "shipped", "NULL"};
    for (long j = 1; j <= 900; ++j) {
        const std::int64_t user =
            j % 50 == 0 ? 100000 + j : ids[static_cast<std::size_t>(j * 37) % ids.size()];
        const std::string& status = statuses[static_cast<std::size_t>(j) % statuses.size()];
        rows.push_back({"orders", std::to_string(user),
                        "(" + std::to_string(j) + ", " + std::to_string(user) + ", " +
                            money((j * 7907) % 100000, 3) + ", " + std::to_string(j % 9) + ", " +
                            (status == "NULL" ? status : quote(status)) + ")"});
    }
    const std::vector<std::string> owners = {"alice", "bob",   "carol", "dave", "erin", "frank",
                                             "grace", "heidi", "ivan",  "judy", "",     "é"};
    for (const std::string& owner : owners) {
        for (int n = 1; n <= 8; ++n) {
            rows.push_back(
                {"notes", owner,
                 "(" + quote(owner) + ", " +
                     (n == 3 ? "NULL" : quote("note " + std::to_string(n) + " of " + owner)) +
                     ", " + std::to_string(n) + ")"});
        }
    }
    for (const std::string c : {"('FR', 'France', 'Europe')", "('JP', 'Japan', 'Asia')",
                                "('US', 'United States', 'America')", "('DE', 'Germany', 'Europe')",
                                "('BR', 'Brazil', 'America')", "('IT', 'Italy', 'Europe')"}) {
        rows.push_back({"countries", "", c});
    }
    // Every row of empty_on_one hashes to shard 0: shard 1 has the table but no row.
    int placed = 0;
    for (std::int64_t id = 1; placed < 40; ++id) {
        if (map.shard_of("empty_on_one", std::to_string(id)) == 0) {
            rows.push_back({"empty_on_one", std::to_string(id),
                            "(" + std::to_string(id) + ", " + std::to_string(id % 5) + ")"});
            ++placed;
        }
    }
    return rows;
}

const char* kSchema =
    "SET client_min_messages = warning;"
    "DROP TABLE IF EXISTS accounts, orders, notes, countries, empty_on_one, plain_items, ddl_made,"
    "  ddl_conflict CASCADE;"
    "CREATE TABLE accounts (user_id bigint PRIMARY KEY, name text, country text,"
    "  balance numeric(12,2), score integer, created date, updated timestamp, flag boolean);"
    "CREATE TABLE orders (order_id bigint, user_id bigint, amount numeric(10,3), qty integer,"
    "  status text);"
    "CREATE TABLE notes (owner text, body text, n integer);"
    "CREATE TABLE countries (code text PRIMARY KEY, name text, region text);"
    "CREATE TABLE empty_on_one (id bigint, v integer);"
    "GRANT ALL ON accounts, orders, notes, countries, empty_on_one TO PUBLIC;";

// INSERT statements for the rows `pick` accepts, 200 rows per statement.
std::string inserts(const std::vector<DataRow>& rows,
                    const std::function<bool(const DataRow&)>& pick) {
    std::string sql;
    for (const std::string table : {"accounts", "orders", "notes", "countries", "empty_on_one"}) {
        int in_statement = 0;
        for (const DataRow& row : rows) {
            if (row.table != table || !pick(row)) {
                continue;
            }
            sql += in_statement == 0 ? "INSERT INTO " + row.table + " VALUES " : ", ";
            sql += row.values;
            if (++in_statement == 200) {
                sql += ";\n";
                in_statement = 0;
            }
        }
        if (in_statement > 0) {
            sql += ";\n";
        }
    }
    return sql;
}

void load_reference_database(const std::string& sql) {
    const std::uint16_t primary = topology().primary_port;
    {
        PgConn admin(superuser_conninfo(primary, "postgres"));
        if (admin.scalar("SELECT count(*) FROM pg_database WHERE datname = '" +
                         std::string(kReferenceDb) + "'") == "0") {
            const ExecResult made =
                admin.try_exec("CREATE DATABASE " + std::string(kReferenceDb) + " OWNER app");
            // 42P04: another process made it a moment ago.
            if (!made.ok && made.sqlstate != "42P04") {
                ADD_FAILURE() << "CREATE DATABASE " << kReferenceDb << ": " << made.message;
                throw TestAbort(made.message);
            }
        }
    }
    PgConn reference(superuser_conninfo(primary, kReferenceDb));
    reference.exec(kSchema);
    reference.exec(sql);
}

// ---- comparing answers

struct Answer {
    TaggedResult r;
    bool ok() const { return r.result.ok; }
};

std::string canonical(const Row& row) {
    std::string out;
    for (const auto& v : row) {
        out += v ? *v : std::string("\x01NULL");
        out += '\x1f';
    }
    return out;
}

std::string show(const Answer& a) {
    if (!a.ok()) {
        return "ERROR " + a.r.result.sqlstate + ": " + a.r.result.message;
    }
    std::string cols;
    for (std::size_t i = 0; i < a.r.column_names.size(); ++i) {
        cols +=
            (i == 0 ? "" : ", ") + a.r.column_names[i] + ":" + std::to_string(a.r.column_types[i]);
    }
    std::string rows = format_rows(a.r.result.rows);
    if (rows.size() > 600) {
        rows = rows.substr(0, 600) + "...";
    }
    return "[" + cols + "] " + std::to_string(a.r.result.rows.size()) + " rows:\n" + rows;
}

// Empty when `got` (pgrouter) is what `query` expects given `want` (one server); else why not.
std::string mismatch(const Query& query, const Answer& want, const Answer& got) {
    switch (query.expect) {
        case Expect::Refused:
            if (got.ok() || got.r.result.sqlstate != "0A000") {
                return "expected SQLSTATE 0A000 from pgrouter, got " + show(got);
            }
            return "";
        case Expect::SameError:
            if (want.ok()) {
                return "the corpus is wrong: the reference server answered " + show(want);
            }
            if (got.ok() || got.r.result.sqlstate != want.r.result.sqlstate) {
                return "expected an error with SQLSTATE " + want.r.result.sqlstate + ", got " +
                       show(got);
            }
            return "";
        case Expect::Equal:
            break;
    }
    if (!want.ok()) {
        return "the corpus is wrong: the reference server failed: " + show(want);
    }
    if (!got.ok()) {
        return "pgrouter failed: " + show(got);
    }
    if (got.r.column_names != want.r.column_names || got.r.column_types != want.r.column_types) {
        return "columns differ:\n  pgrouter:  " + show(got) + "\n  reference: " + show(want);
    }
    std::vector<std::string> a, b;
    for (const Row& row : got.r.result.rows) {
        a.push_back(canonical(row));
    }
    for (const Row& row : want.r.result.rows) {
        b.push_back(canonical(row));
    }
    if (!query.ordered) {
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
    }
    if (a != b) {
        return std::string(query.ordered ? "rows (in order) differ" : "rows differ") +
               ":\n  pgrouter:  " + show(got) + "\n  reference: " + show(want);
    }
    return "";
}

class ShardingDifferential : public ::testing::Test {
protected:
    void SetUp() override {
        for (std::size_t shard = 0; shard < kShardCount; ++shard) {
            const std::string collation = scalar_on_shard(shard, "SHOW lc_collate");
            ASSERT_TRUE(collation == "C" || collation == "POSIX" || collation == "C.UTF-8" ||
                        collation == "C.utf8")
                << "shard " << shard << " has collation " << collation
                << ": the corpus orders text and expects bytewise order (initdb --locale=C.UTF-8)";
        }
        const std::vector<DataRow> rows = data_set();
        const ShardMap& map = default_shard_map();
        exec_on_every_shard(kSchema);
        for (std::size_t shard = 0; shard < kShardCount; ++shard) {
            PgConn direct(superuser_conninfo(shard_port(shard), kShardedDb));
            direct.exec(inserts(rows, [&](const DataRow& row) {
                return row.table == "countries" || map.shard_of(row.table, row.key) == shard;
            }));
        }
        load_reference_database(inserts(rows, [](const DataRow&) { return true; }));
        wait_shard_replica_caught_up();
    }

    // Runs the whole corpus through pgrouter and on the reference database with `run`.
    void run_corpus(const std::function<TaggedResult(PGconn*, const std::string&)>& run,
                    const std::string& protocol) {
        const std::unique_ptr<PgrouterProcess> router = start_sharded_router();
        PgConn through(router->conninfo("app", "app", kShardedDb));
        PgConn reference(direct_conninfo_port(topology().primary_port, "app", "app", kReferenceDb));
        int equal = 0, refused = 0, same_error = 0, failed = 0;
        for (const Query& query : corpus()) {
            const Answer want{run(reference.raw(), query.sql)};
            const Answer got{run(through.raw(), query.sql)};
            const std::string why = mismatch(query, want, got);
            if (!why.empty()) {
                ++failed;
                ADD_FAILURE() << protocol << ": " << query.sql << "\n  " << why;
                // A broken connection would fail every later query for the same reason.
                if (!through.ok() || PQstatus(through.raw()) != CONNECTION_OK) {
                    ADD_FAILURE() << protocol << ": the connection through pgrouter is gone";
                    return;
                }
                continue;
            }
            switch (query.expect) {
                case Expect::Equal:
                    ++equal;
                    break;
                case Expect::Refused:
                    ++refused;
                    break;
                case Expect::SameError:
                    ++same_error;
                    break;
            }
        }
        std::printf("%s: %d EQUAL, %d SAME_ERROR, %d REFUSED answered as expected; %d not\n",
                    protocol.c_str(), equal, same_error, refused, failed);
        EXPECT_GE(equal, 40) << protocol << ": fewer than 40 queries answered like one server";
    }
};

// Static: a corpus where everything is refused (or erroneous) cannot pass.
TEST(ShardingCorpus, HasAtLeastFortyEqualQueriesAndCoversEveryExpectation) {
    int equal = 0, refused = 0, same_error = 0, ordered = 0;
    for (const Query& q : corpus()) {
        equal += q.expect == Expect::Equal ? 1 : 0;
        refused += q.expect == Expect::Refused ? 1 : 0;
        same_error += q.expect == Expect::SameError ? 1 : 0;
        ordered += q.ordered ? 1 : 0;
    }
    EXPECT_GE(corpus().size(), 50u);
    EXPECT_GE(equal, 40);
    EXPECT_GE(refused, 3);
    EXPECT_GE(same_error, 1);
    EXPECT_GE(ordered, 10);
}

// Needs no routing: the load put every row where shard_of says, empty_on_one is empty on shard
// 1, the zero that makes "100 / score" fail is on shard 1 only, and the reference database holds
// the union.
TEST_F(ShardingDifferential, DataSetIsPlacedAsShardOfSays) {
    const std::vector<DataRow> rows = data_set();
    for (const std::string table : {"accounts", "orders", "notes", "empty_on_one"}) {
        std::size_t total = 0;
        std::size_t expected[kShardCount] = {0, 0};
        for (const DataRow& row : rows) {
            if (row.table == table) {
                ++expected[default_shard_map().shard_of(table, row.key)];
                ++total;
            }
        }
        for (std::size_t shard = 0; shard < kShardCount; ++shard) {
            EXPECT_EQ(scalar_on_shard(shard, "SELECT count(*) FROM " + table),
                      std::to_string(expected[shard]))
                << table << " on shard " << shard;
        }
        PgConn reference(superuser_conninfo(topology().primary_port, kReferenceDb));
        EXPECT_EQ(reference.scalar("SELECT count(*) FROM " + table), std::to_string(total))
            << table;
    }
    EXPECT_EQ(scalar_on_shard(1, "SELECT count(*) FROM empty_on_one"), "0");
    EXPECT_EQ(scalar_on_shard(0, "SELECT count(*) FROM accounts WHERE score = 0"), "0");
    EXPECT_EQ(scalar_on_shard(1, "SELECT count(*) FROM accounts WHERE score = 0"), "1");
    EXPECT_EQ(scalar_on_shard(0, "SELECT count(*) FROM countries"), "6");
    EXPECT_EQ(scalar_on_shard(1, "SELECT count(*) FROM countries"), "6");
}

// Needs no routing: on one server every EQUAL and REFUSED query runs and every SAME_ERROR one
// fails, so the corpus itself is sound.
TEST_F(ShardingDifferential, CorpusRunsAsDeclaredOnOneServer) {
    PgConn reference(direct_conninfo_port(topology().primary_port, "app", "app", kReferenceDb));
    for (const Query& query : corpus()) {
        const TaggedResult r = exec_tagged(reference.raw(), query.sql);
        if (query.expect == Expect::SameError) {
            EXPECT_FALSE(r.result.ok) << query.sql;
        } else {
            EXPECT_TRUE(r.result.ok)
                << query.sql << ": " << r.result.sqlstate << " " << r.result.message;
        }
    }
}

TEST_F(ShardingDifferential, SimpleProtocolAnswersLikeOneServer) {
    run_corpus([](PGconn* c, const std::string& sql) { return exec_tagged(c, sql); }, "simple");
}

TEST_F(ShardingDifferential, ExtendedProtocolAnswersLikeOneServer) {
    run_corpus([](PGconn* c, const std::string& sql) { return exec_params_tagged(c, sql); },
               "extended");
}

}  // namespace
}  // namespace pgrouter::test
