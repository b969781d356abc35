// tests/support/sharding_support.cpp — the sharded test database's YAML, the in-process shard map
// and direct shard access for tests/integration/sharding_*_test.cpp. Must stay in step with the
// `sharding:`/`shards:` keys of include/pgrouter/config/config.hpp; never starts PostgreSQL.
#include "support/sharding_support.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "pgrouter/config/load.hpp"
#include "pgrouter/sharding/shard_of.hpp"
#include "support/extended_query.hpp"
#include "support/test_util.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

std::string sharded_database_yaml(const ShardedYamlOptions& o) {
    std::string y;
    y += "  " + std::string(kShardedDb) + ":\n";
    y += "    dbname: " + std::string(kShardedDb) + "\n";
    y += "    sharding:\n";
    y += "      function: xxh3\n";
    y += "      slots: 1024\n";
    y += "      tables:\n";
    y += "        accounts: {key: user_id, type: bigint}\n";
    y += "        orders: {key: user_id, type: bigint}\n";
    y += "        notes: {key: owner, type: text}\n";
    y += "        empty_on_one: {key: id, type: bigint}\n";
    y += "      reference_tables: [countries]\n";
    y += "      cross_shard_writes: " + o.cross_shard_writes + "\n";
    y += "    shards:\n";
    y += "      - {slots: \"0-511\", primary: \"{{shard0}}\"";
    if (o.shard0_replica) {
        y += ", replicas: [\"{{shard0r}}\"]";
    }
    y += "}\n";
    y += "      - {slots: \"512-1023\", primary: \"{{shard1}}\"}\n";
    return y;
}

[[noreturn]] void abort_with(const std::string& message) {
    ADD_FAILURE() << message;
    throw TestAbort(message);
}

}  // namespace

std::string sharded_yaml(const RouterOptions& router, const ShardedYamlOptions& options) {
    std::string yaml = base_yaml(router);
    // base_yaml's `databases:` block ends where `limits:` starts.
    const std::string marker = "\nlimits:\n";
    const std::size_t at = yaml.find(marker);
    if (at == std::string::npos) {
        throw std::logic_error(
            "base_yaml has no limits: block to insert the sharded database before");
    }
    yaml.insert(at + 1, sharded_database_yaml(options));
    return yaml;
}

std::unique_ptr<PgrouterProcess> start_sharded_router(RouterOptions router,
                                                      const ShardedYamlOptions& options) {
    // A session a bug left hanging must not hold the shutdown up for long.
    router.shutdown_timeout_ms = 3000;
    return std::make_unique<PgrouterProcess>(sharded_yaml(router, options));
}

ShardMap::ShardMap(const std::string& yaml, std::string_view database) {
    // Any listen port will do: the config is only read, never served.
    const config::LoadResult loaded = config::parse_config(substitute(yaml, 1));
    if (!loaded.ok()) {
        std::string errors;
        for (const config::ConfigError& e : loaded.errors) {
            errors += "\n  " + config::format_error(e, "sharded.yaml");
        }
        throw std::runtime_error("the sharded test YAML does not load:" + errors);
    }
    const config::DatabaseConfig* found = loaded.config->find_database(database);
    if (found == nullptr || found->shards.empty()) {
        throw std::runtime_error("no sharded database " + std::string(database) + " in the YAML");
    }
    database_ = *found;
}

std::size_t ShardMap::shard_of(std::string_view table, std::string_view key_text) const {
    const sharding::ShardOfResult r = sharding::shard_of(database_, table, key_text);
    if (!r.ok()) {
        throw std::runtime_error("shard_of(" + std::string(table) + ", '" + std::string(key_text) +
                                 "'): " + r.message);
    }
    return r.value.shard;
}

std::uint32_t ShardMap::slot_of(std::string_view table, std::string_view key_text) const {
    const sharding::ShardOfResult r = sharding::shard_of(database_, table, key_text);
    if (!r.ok()) {
        throw std::runtime_error("shard_of(" + std::string(table) + ", '" + std::string(key_text) +
                                 "'): " + r.message);
    }
    return r.value.slot;
}

const ShardMap& default_shard_map() {
    static const ShardMap map(sharded_yaml());
    return map;
}

std::string shard_of_cli(const std::string& config_path, std::string_view table,
                         std::string_view key) {
    const CommandResult r =
        run_pgrouter({"shard-of", "--config", config_path, "--database", std::string(kShardedDb),
                      "--table", std::string(table), "--key", std::string(key)});
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) {
        out.pop_back();
    }
    if (!r.status || !WIFEXITED(*r.status) || WEXITSTATUS(*r.status) != 0) {
        return "error: " + (r.status ? describe_wait_status(*r.status) : "timed out") + ": " + out;
    }
    return out;
}

std::uint16_t shard_port(std::size_t shard) {
    const Topology& t = topology();
    if (shard >= t.shard_ports.size()) {
        throw std::out_of_range("no shard " + std::to_string(shard) + " in the topology");
    }
    return t.shard_ports[shard];
}

std::string shard_conninfo(std::size_t shard, std::string_view db) {
    return direct_conninfo_port(shard_port(shard), "app", "app", db);
}

void exec_on_every_shard(const std::string& sql) {
    for (std::size_t shard = 0; shard < kShardCount; ++shard) {
        PgConn conn(superuser_conninfo(shard_port(shard), kShardedDb));
        const ExecResult r = conn.try_exec(sql);
        if (!r.ok) {
            abort_with("on shard " + std::to_string(shard) + ": " + sql.substr(0, 300) +
                       "\n  SQLSTATE " + r.sqlstate + ": " + r.message);
        }
    }
}

std::string scalar_on_shard(std::size_t shard, const std::string& sql) {
    PgConn conn(superuser_conninfo(shard_port(shard), kShardedDb));
    const ExecResult r = conn.try_exec(sql);
    if (!r.ok || r.rows.empty() || r.rows[0].empty() || !r.rows[0][0]) {
        abort_with("on shard " + std::to_string(shard) + ": " + sql.substr(0, 300) + "\n  " +
                   (r.ok ? "no value: " + format_rows(r.rows)
                         : "SQLSTATE " + r.sqlstate + ": " + r.message));
    }
    return *r.rows[0][0];
}

bool relation_exists_on_shard(std::size_t shard, std::string_view name) {
    return scalar_on_shard(shard,
                           "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON "
                           "n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                           "c.relname = '" +
                               std::string(name) + "'") != "0";
}

void wait_shard_replica_caught_up(std::chrono::milliseconds timeout) {
    const std::string lsn = scalar_on_shard(0, "SELECT pg_current_wal_lsn()");
    const std::string replica = superuser_conninfo(topology().shard0_replica_port, "postgres");
    std::string last;
    const bool caught_up = wait_until(
        [&] {
            PGconn* conn = PQconnectdb(replica.c_str());
            bool ok = false;
            if (PQstatus(conn) == CONNECTION_OK) {
                PGresult* r = PQexec(
                    conn, ("SELECT pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn").c_str());
                ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                     std::string(PQgetvalue(r, 0, 0)) == "t";
                last = PQresultErrorMessage(r);
                PQclear(r);
            } else {
                last = PQerrorMessage(conn);
            }
            PQfinish(conn);
            return ok;
        },
        timeout, std::chrono::milliseconds(20));
    if (!caught_up) {
        abort_with("shard0r has not replayed shard0's WAL up to " + lsn + " " + last);
    }
}

TaggedResult collect_tagged(PGconn* c, bool sent, std::chrono::milliseconds timeout) {
    TaggedResult out;
    if (!sent) {
        out.result.message = PQerrorMessage(c);
        return out;
    }
    out.result.ok = true;
    for (;;) {
        bool timed_out = false;
        PgResult res = next_result(c, timeout, &timed_out);
        if (timed_out) {
            out.result.ok = false;
            out.result.sqlstate = "TIMEOUT";
            out.result.message = "no complete reply";
            return out;
        }
        if (!res) {
            return out;
        }
        const ExecStatusType status = PQresultStatus(res.get());
        if (status == PGRES_TUPLES_OK) {
            out.result.rows = result_rows(res.get());
            out.column_names.clear();
            out.column_types.clear();
            for (int i = 0; i < PQnfields(res.get()); ++i) {
                out.column_names.emplace_back(PQfname(res.get(), i));
                out.column_types.push_back(PQftype(res.get(), i));
            }
        }
        if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
            out.tag = PQcmdStatus(res.get());
        } else if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
            // The caller drives the copy; nothing more to read here.
            return out;
        } else if (status != PGRES_EMPTY_QUERY && out.result.ok) {
            out.result.ok = false;
            const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
            const char* primary = PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY);
            out.result.sqlstate = state != nullptr ? state : "";
            out.result.message = primary != nullptr ? primary : PQresultErrorMessage(res.get());
        }
    }
}

TaggedResult exec_tagged(PGconn* c, const std::string& sql) {
    return collect_tagged(c, PQsendQuery(c, sql.c_str()) == 1);
}

TaggedResult exec_params_tagged(PGconn* c, const std::string& sql,
                                const std::vector<std::string>& values,
                                const std::vector<Oid>& types, const std::vector<int>& formats) {
    std::vector<const char*> pointers;
    std::vector<int> lengths;
    for (const std::string& v : values) {
        pointers.push_back(v.data());
        lengths.push_back(static_cast<int>(v.size()));
    }
    const int n = static_cast<int>(values.size());
    return collect_tagged(
        c, PQsendQueryParams(c, sql.c_str(), n, types.empty() ? nullptr : types.data(),
                             pointers.data(), lengths.data(),
                             formats.empty() ? nullptr : formats.data(), 0) == 1);
}

TaggedResult copy_in(PGconn* c, const std::string& copy_sql, std::string_view data) {
    TaggedResult out;
    if (PQsendQuery(c, copy_sql.c_str()) != 1) {
        out.result.message = PQerrorMessage(c);
        return out;
    }
    bool timed_out = false;
    PgResult first = next_result(c, std::chrono::seconds(30), &timed_out);
    if (!first || PQresultStatus(first.get()) != PGRES_COPY_IN) {
        out.result.sqlstate = timed_out ? "TIMEOUT" : "";
        if (first) {
            const char* state = PQresultErrorField(first.get(), PG_DIAG_SQLSTATE);
            out.result.sqlstate = state != nullptr ? state : "";
            out.result.message = PQresultErrorMessage(first.get());
            first.reset();
            // Drain up to the end of this command.
            while (PgResult more = next_result(c, std::chrono::seconds(30))) {
            }
        } else {
            out.result.message = "no CopyInResponse";
        }
        return out;
    }
    first.reset();
    constexpr std::size_t kChunk = 64 * 1024;
    for (std::size_t at = 0; at < data.size(); at += kChunk) {
        const std::size_t len = std::min(kChunk, data.size() - at);
        // Blocking connection: PQputCopyData returns 1 once the data is queued or sent.
        if (PQputCopyData(c, data.data() + at, static_cast<int>(len)) != 1) {
            out.result.message = PQerrorMessage(c);
            return out;
        }
    }
    if (PQputCopyEnd(c, nullptr) != 1) {
        out.result.message = PQerrorMessage(c);
        return out;
    }
    return collect_tagged(c, true, std::chrono::seconds(120));
}

}  // namespace pgrouter::test
