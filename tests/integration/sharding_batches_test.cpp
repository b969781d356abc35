// tests/integration/sharding_batches_test.cpp — issue 8, statements whose parts run on several
// shards at once and must be all-or-nothing: a pipelined batch of keyed INSERTs over both shards
// (one implicit transaction, as asyncpg's and psycopg's executemany send it), a COPY with a bad
// row, and the user-defined aggregate a read over every shard cannot merge. Rows are counted on
// each shard directly.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/sharding_support.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

std::size_t count_on(std::size_t shard, const std::string& sql) {
    return std::stoul(scalar_on_shard(shard, sql));
}

std::size_t total_rows(const std::string& table) {
    return count_on(0, "SELECT count(*) FROM " + table) +
           count_on(1, "SELECT count(*) FROM " + table);
}

// Keys 1..n: with two shards some fall on each (checked).
std::vector<std::string> keys(int n) {
    std::vector<std::string> out;
    for (int i = 1; i <= n; ++i) {
        out.push_back(std::to_string(i));
    }
    return out;
}

class ShardingBatches : public ::testing::Test {
protected:
    void SetUp() override {
        exec_on_every_shard(
            "SET client_min_messages = warning;"
            "DROP TABLE IF EXISTS accounts CASCADE;"
            "DROP AGGREGATE IF EXISTS my_total(bigint);"
            "CREATE TABLE accounts (user_id bigint PRIMARY KEY, name text, balance numeric);"
            "GRANT ALL ON accounts TO PUBLIC;");
        router_ = start_sharded_router();
        conn_ = std::make_unique<PgConn>(router_->conninfo("app", "app", kShardedDb));
    }
    PGconn* c() { return conn_->raw(); }

    // One pipeline: an INSERT per key, one Sync. Returns the results' statuses in order.
    std::vector<ExecStatusType> insert_pipelined(const std::vector<std::string>& ids) {
        EXPECT_EQ(PQenterPipelineMode(c()), 1);
        for (const std::string& id : ids) {
            const char* values[] = {id.c_str()};
            EXPECT_EQ(
                PQsendQueryParams(c(), "INSERT INTO accounts (user_id, name) VALUES ($1, 'x')", 1,
                                  nullptr, values, nullptr, nullptr, 0),
                1);
        }
        EXPECT_EQ(PQpipelineSync(c()), 1);
        std::vector<ExecStatusType> statuses;
        for (;;) {
            PGresult* r = PQgetResult(c());
            if (r == nullptr) {
                continue;  // the end of one query's results
            }
            const ExecStatusType status = PQresultStatus(r);
            PQclear(r);
            if (status == PGRES_PIPELINE_SYNC) {
                break;
            }
            statuses.push_back(status);
        }
        EXPECT_EQ(PQexitPipelineMode(c()), 1);
        return statuses;
    }

    std::unique_ptr<PgrouterProcess> router_;
    std::unique_ptr<PgConn> conn_;
};

TEST_F(ShardingBatches, PipelinedKeyedInsertsOverBothShardsAreOneUnit) {
    const std::vector<std::string> ids = keys(10);
    std::size_t on_zero = 0;
    for (const std::string& id : ids) {
        on_zero += default_shard_map().shard_of("accounts", id) == 0;
    }
    ASSERT_GT(on_zero, 0u);
    ASSERT_LT(on_zero, ids.size());  // both shards take part
    const auto statuses = insert_pipelined(ids);
    ASSERT_EQ(statuses.size(), ids.size());
    for (ExecStatusType status : statuses) {
        EXPECT_EQ(status, PGRES_COMMAND_OK);
    }
    EXPECT_EQ(count_on(0, "SELECT count(*) FROM accounts"), on_zero);
    EXPECT_EQ(count_on(1, "SELECT count(*) FROM accounts"), ids.size() - on_zero);

    // A duplicate in the middle: PostgreSQL would roll the whole batch back; so do both shards.
    std::vector<std::string> again{"101", "102", "103", ids[3], "104", "105"};
    const auto failed = insert_pipelined(again);
    // As from one server: the duplicate's error, then the rest of the pipeline aborted.
    ASSERT_EQ(failed.size(), again.size());
    EXPECT_EQ(failed[0], PGRES_COMMAND_OK);
    EXPECT_EQ(failed[3], PGRES_FATAL_ERROR);
    EXPECT_EQ(failed[4], PGRES_PIPELINE_ABORTED);
    EXPECT_EQ(failed[5], PGRES_PIPELINE_ABORTED);
    EXPECT_EQ(total_rows("accounts"), ids.size()) << "part of a failed batch was kept";
    // The connection goes on.
    const TaggedResult after = exec_tagged(c(), "SELECT count(*) FROM accounts");
    ASSERT_TRUE(after.result.ok) << after.result.message;
    EXPECT_EQ(after.result.rows.at(0).at(0), std::to_string(ids.size()));
}

TEST_F(ShardingBatches, CopyWithABadKeyChangesNoShard) {
    std::string data;
    for (int i = 1; i <= 1000; ++i) {
        data += std::to_string(i) + "\tname\t1\n";
    }
    data += "not-a-number\tname\t1\n";
    const TaggedResult r = copy_in(c(), "COPY accounts FROM STDIN", data);
    EXPECT_FALSE(r.result.ok);
    EXPECT_EQ(r.result.sqlstate, "22P02") << r.result.message;
    EXPECT_EQ(total_rows("accounts"), 0u) << "a failed COPY left rows behind";
    const TaggedResult good = copy_in(c(), "COPY accounts FROM STDIN", "7\tseven\t7\n");
    EXPECT_TRUE(good.result.ok) << good.result.message;
    EXPECT_EQ(good.tag, "COPY 1");
}

TEST_F(ShardingBatches, UserAggregateOverEveryShardIsRefusedAndWorksWithAKey) {
    const TaggedResult created = exec_tagged(
        c(), "CREATE AGGREGATE my_total(bigint) (sfunc = int8pl, stype = bigint, initcond = '0')");
    ASSERT_TRUE(created.result.ok) << created.result.message;
    EXPECT_EQ(exec_tagged(c(),
                          "INSERT INTO accounts (user_id, name) VALUES (1, 'a'), (2, 'b'), "
                          "(3, 'c'), (4, 'd')")
                  .tag,
              "INSERT 0 4");
    const TaggedResult scatter = exec_tagged(c(), "SELECT my_total(user_id) FROM accounts");
    EXPECT_FALSE(scatter.result.ok) << "a user aggregate was merged as rows";
    EXPECT_EQ(scatter.result.sqlstate, "0A000") << scatter.result.message;
    const TaggedResult keyed =
        exec_tagged(c(), "SELECT my_total(user_id) FROM accounts WHERE user_id = 3");
    ASSERT_TRUE(keyed.result.ok) << keyed.result.message;
    EXPECT_EQ(keyed.result.rows.at(0).at(0), "3");
    // Built-in aggregates still merge.
    const TaggedResult sum = exec_tagged(c(), "SELECT sum(user_id), count(*) FROM accounts");
    ASSERT_TRUE(sum.result.ok) << sum.result.message;
    EXPECT_EQ(sum.result.rows.at(0).at(0), "10");
    EXPECT_EQ(sum.result.rows.at(0).at(1), "4");
}

TEST_F(ShardingBatches, PinnedSessionStaysOnItsShardAndRefusesTheOthers) {
    // LISTEN pins the client to its server connection (on_session_state: pin), here on shard 0.
    std::string on_zero = "1", on_one = "1";
    for (int k = 1; k < 100; ++k) {
        (default_shard_map().shard_of("accounts", std::to_string(k)) == 0 ? on_zero : on_one) =
            std::to_string(k);
    }
    ASSERT_TRUE(exec_tagged(c(), "SELECT * FROM accounts WHERE user_id = " + on_zero).result.ok);
    ASSERT_TRUE(exec_tagged(c(), "LISTEN sharding_test").result.ok);
    const TaggedResult same = exec_tagged(c(), "SELECT * FROM accounts WHERE user_id = " + on_zero);
    EXPECT_TRUE(same.result.ok) << same.result.message;
    // Never a hang: the other shard is refused.
    const TaggedResult other = exec_tagged(c(), "SELECT * FROM accounts WHERE user_id = " + on_one);
    EXPECT_FALSE(other.result.ok);
    EXPECT_EQ(other.result.sqlstate, "0A000") << other.result.message;
}

}  // namespace
}  // namespace pgrouter::test
