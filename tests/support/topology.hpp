// tests/support/topology.hpp — what scripts/local_topology.sh started (DIR/topology.env) and how to
// reach PostgreSQL directly, bypassing pgrouter. Read-only: never starts or stops PostgreSQL.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::test {

// One primary and two streaming replicas (scripts/local_topology.sh: replicaN on BASE_PORT+N,
// each streaming through its own replication slot), plus the two shard primaries of the sharded
// test database: shard0 (BASE_PORT+3) with its streaming replica shard0r (BASE_PORT+4), and
// shard1 (BASE_PORT+5). Every primary has the same roles and databases app/app2; the shards also
// have database "sharded".
struct Topology {
    std::string pghost;                        // PGHOST, e.g. "127.0.0.1"
    std::uint16_t primary_port = 0;            // PRIMARY_PORT
    std::string primary_data;                  // PRIMARY_DATA: the primary's data directory
    std::uint16_t replica1_port = 0;           // REPLICA1_PORT
    std::uint16_t replica2_port = 0;           // REPLICA2_PORT
    std::string replica1_data;                 // REPLICA1_DATA
    std::string replica2_data;                 // REPLICA2_DATA
    std::vector<std::uint16_t> replica_ports;  // {replica1_port, replica2_port}
    std::uint16_t shard0_port = 0;             // SHARD0_PORT
    std::string shard0_data;                   // SHARD0_DATA
    std::uint16_t shard0_replica_port = 0;     // SHARD0_REPLICA_PORT (node "shard0r")
    std::string shard0_replica_data;           // SHARD0_REPLICA_DATA
    std::uint16_t shard1_port = 0;             // SHARD1_PORT
    std::string shard1_data;                   // SHARD1_DATA
    std::vector<std::uint16_t> shard_ports;    // the shard primaries in order: {shard0, shard1}
    std::string pg_bin;                        // PG_BIN
    std::string topology_dir;                  // TOPOLOGY_DIR
    std::string scramonly_verifier;  // SCRAMONLY_VERIFIER: scramonly's pg_authid.rolpassword
    std::map<std::string, std::string, std::less<>> values;  // every KEY=VALUE line
};

// Parsed once from the file named by the environment variable PGROUTER_TOPOLOGY_ENV, else from the
// compile-time PGROUTER_TOPOLOGY_ENV. If the file is missing or incomplete the test binary prints
// how to start the topology and exits with status 2, so no test runs against nothing.
const Topology& topology();

// libpq conninfo for a direct connection to the primary (no pgrouter in between). Values are
// quoted, so passwords may contain spaces or quotes. `extra` is appended verbatim.
std::string direct_conninfo(std::string_view user, std::string_view password, std::string_view db,
                            std::string_view extra = "");

// The same over TCP to any node of the topology (e.g. topology().replica1_port).
std::string direct_conninfo_port(std::uint16_t port, std::string_view user,
                                 std::string_view password, std::string_view db,
                                 std::string_view extra = "");

// The superuser `postgres` on node `port` over the Unix socket in TOPOLOGY_DIR (trusted, no
// password): for what only a superuser may do, e.g. pg_wal_replay_pause() on a replica.
std::string superuser_conninfo(std::uint16_t port, std::string_view db = "postgres");

// Quotes one conninfo value ('a b' -> 'a\ b' style, as libpq's conninfo parser expects).
std::string conninfo_quote(std::string_view value);

}  // namespace pgrouter::test
