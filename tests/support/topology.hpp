// tests/support/topology.hpp — what scripts/local_topology.sh started (DIR/topology.env) and how to
// reach PostgreSQL directly, bypassing pgrouter. Read-only: never starts or stops PostgreSQL.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace pgrouter::test {

struct Topology {
    std::string pghost;              // PGHOST, e.g. "127.0.0.1"
    std::uint16_t primary_port = 0;  // PRIMARY_PORT
    std::string pg_bin;              // PG_BIN
    std::string topology_dir;        // TOPOLOGY_DIR
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

// Quotes one conninfo value ('a b' -> 'a\ b' style, as libpq's conninfo parser expects).
std::string conninfo_quote(std::string_view value);

}  // namespace pgrouter::test
