// tests/support/sharding_support.hpp — what the sharding integration tests (issue 8) share: the
// sharded test database's YAML (database "sharded" on the topology's shard0/shard0r and shard1),
// where a key belongs computed in-process with the same code as `pgrouter shard-of`, direct
// connections to each shard, and libpq calls that also return the command tag. Never talks to
// pgrouter's internals: placement is always checked by asking each shard directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "pgrouter/config/config.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"

namespace pgrouter::test {

// The name clients use and the database on both shards (scripts/local_topology.sh creates it).
inline constexpr std::string_view kShardedDb = "sharded";
inline constexpr std::size_t kShardCount = 2;

struct ShardedYamlOptions {
    std::string cross_shard_writes = "error";  // sharding.cross_shard_writes: error | all
    bool shard0_replica = true;                // shard 0 lists {{shard0r}} as its replica
};

// base_yaml(router) plus database "sharded": xxh3, 1024 slots, sharded tables
//   accounts {key: user_id, type: bigint}, orders {key: user_id, type: bigint},
//   notes {key: owner, type: text}, empty_on_one {key: id, type: bigint},
// reference_tables [countries], cross_shard_writes from `options`; shards "0-511" on {{shard0}}
// (replica {{shard0r}}) and "512-1023" on {{shard1}}.
std::string sharded_yaml(const RouterOptions& router = {}, const ShardedYamlOptions& options = {});

// sharded_yaml() started by PgrouterProcess, with a short shutdown timeout.
std::unique_ptr<PgrouterProcess> start_sharded_router(RouterOptions router = {},
                                                      const ShardedYamlOptions& options = {});

// Where keys belong, from the config itself (parse_config + sharding::shard_of: what pgrouter
// and `pgrouter shard-of` use). Throws std::runtime_error on a key or table shard_of refuses.
class ShardMap {
public:
    explicit ShardMap(const std::string& yaml, std::string_view database = kShardedDb);

    // The index of the shard (0 or 1) that owns `key_text` of `table` (a sharded table).
    std::size_t shard_of(std::string_view table, std::string_view key_text) const;
    std::uint32_t slot_of(std::string_view table, std::string_view key_text) const;
    std::size_t shard_count() const { return database_.shards.size(); }
    const config::DatabaseConfig& database() const { return database_; }

private:
    config::DatabaseConfig database_;
};

// The map of sharded_yaml() with default options.
const ShardMap& default_shard_map();

// What `pgrouter shard-of --config <config_path> --database sharded --table T --key K` printed
// (one line without the newline), or "error: ..." with its output when it failed.
std::string shard_of_cli(const std::string& config_path, std::string_view table,
                         std::string_view key);

// The port of shard `shard`'s primary (topology().shard_ports).
std::uint16_t shard_port(std::size_t shard);

// As app/app, directly to shard `shard`'s primary (no pgrouter).
std::string shard_conninfo(std::size_t shard, std::string_view db = kShardedDb);

// Runs `sql` (simple protocol, may hold several statements) as the superuser on every shard
// primary in database "sharded"; records a failure naming the shard and throws TestAbort when
// one fails.
void exec_on_every_shard(const std::string& sql);

// The first value of the first row of `sql` run as the superuser on shard `shard`, or records a
// failure and throws TestAbort.
std::string scalar_on_shard(std::size_t shard, const std::string& sql);

// True when a table (or index: any relation) of that name exists in shard `shard`'s public schema.
bool relation_exists_on_shard(std::size_t shard, std::string_view name);

// Waits until shard0's replica (shard0r) has replayed everything shard0 has written, so rows
// made directly on shard0 can be read through pgrouter whichever of the two answers. Records a
// failure and throws TestAbort after `timeout`.
void wait_shard_replica_caught_up(std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The result of one command with its CommandComplete tag ("INSERT 0 10000", "COPY 100000").
struct TaggedResult {
    ExecResult result;
    std::string tag;  // PQcmdStatus of the last result
    // Column names and type OIDs of the last row result (for comparing results).
    std::vector<std::string> column_names;
    std::vector<Oid> column_types;
};

// Reads every result of what was just sent (`sent` = the PQsend* call succeeded).
TaggedResult collect_tagged(PGconn* conn, bool sent,
                            std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Simple protocol.
TaggedResult exec_tagged(PGconn* conn, const std::string& sql);

// Extended protocol, unnamed statement, parameters in text format (formats all 0) unless
// `binary` holds a format per parameter (then `values` hold the raw bytes).
TaggedResult exec_params_tagged(PGconn* conn, const std::string& sql,
                                const std::vector<std::string>& values = {},
                                const std::vector<Oid>& types = {},
                                const std::vector<int>& formats = {});

// COPY ... FROM STDIN with `data` sent in chunks of about 64 kB, then the final result.
TaggedResult copy_in(PGconn* conn, const std::string& copy_sql, std::string_view data);

}  // namespace pgrouter::test
