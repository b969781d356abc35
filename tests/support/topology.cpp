// tests/support/topology.cpp — reads DIR/topology.env line by line (the SCRAM verifier contains
// '$', so it must not go through a shell). Never talks to PostgreSQL.
#include "support/topology.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace pgrouter::test {
namespace {

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr,
                 "\n*** integration test setup error: %s\n"
                 "*** Start PostgreSQL first: run the tests through ctest (fixture "
                 "'topology_start'), or run\n"
                 "***   scripts/local_topology.sh start <build>/topology 15432\n"
                 "*** or point PGROUTER_TOPOLOGY_ENV at an existing topology.env.\n\n",
                 message.c_str());
    std::fflush(stderr);
    std::exit(2);
}

std::string env_path() {
    if (const char* from_env = std::getenv("PGROUTER_TOPOLOGY_ENV")) {
        if (*from_env != '\0') {
            return from_env;
        }
    }
    return PGROUTER_TOPOLOGY_ENV;
}

std::string required(const Topology& t, const std::string& key, const std::string& path) {
    auto it = t.values.find(key);
    if (it == t.values.end() || it->second.empty()) {
        die(path + " has no " + key + "= line");
    }
    return it->second;
}

std::uint16_t required_port(const Topology& t, const std::string& key, const std::string& path) {
    const std::string port = required(t, key, path);
    const long port_number = std::strtol(port.c_str(), nullptr, 10);
    if (port_number <= 0 || port_number > 65535) {
        die(path + ": " + key + " is not a port: " + port);
    }
    return static_cast<std::uint16_t>(port_number);
}

Topology load() {
    const std::string path = env_path();
    std::ifstream in(path);
    if (!in) {
        die("cannot read " + path);
    }
    Topology t;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) {
            continue;
        }
        t.values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    t.pghost = required(t, "PGHOST", path);
    t.primary_port = required_port(t, "PRIMARY_PORT", path);
    t.primary_data = required(t, "PRIMARY_DATA", path);
    // A topology.env without these was written before the topology had replicas: starting the
    // topology again (same command) adds them.
    t.replica1_port = required_port(t, "REPLICA1_PORT", path);
    t.replica2_port = required_port(t, "REPLICA2_PORT", path);
    t.replica1_data = required(t, "REPLICA1_DATA", path);
    t.replica2_data = required(t, "REPLICA2_DATA", path);
    t.replica_ports = {t.replica1_port, t.replica2_port};
    // Likewise for a topology.env from before the shard nodes.
    t.shard0_port = required_port(t, "SHARD0_PORT", path);
    t.shard0_data = required(t, "SHARD0_DATA", path);
    t.shard0_replica_port = required_port(t, "SHARD0_REPLICA_PORT", path);
    t.shard0_replica_data = required(t, "SHARD0_REPLICA_DATA", path);
    t.shard1_port = required_port(t, "SHARD1_PORT", path);
    t.shard1_data = required(t, "SHARD1_DATA", path);
    t.shard_ports = {t.shard0_port, t.shard1_port};
    t.pg_bin = required(t, "PG_BIN", path);
    t.topology_dir = required(t, "TOPOLOGY_DIR", path);
    t.scramonly_verifier = required(t, "SCRAMONLY_VERIFIER", path);
    return t;
}

}  // namespace

const Topology& topology() {
    static const Topology instance = load();
    return instance;
}

std::string conninfo_quote(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

std::string direct_conninfo(std::string_view user, std::string_view password, std::string_view db,
                            std::string_view extra) {
    return direct_conninfo_port(topology().primary_port, user, password, db, extra);
}

std::string direct_conninfo_port(std::uint16_t port, std::string_view user,
                                 std::string_view password, std::string_view db,
                                 std::string_view extra) {
    const Topology& t = topology();
    std::string out = "host=" + conninfo_quote(t.pghost) + " port=" + std::to_string(port) +
                      " user=" + conninfo_quote(user) + " dbname=" + conninfo_quote(db) +
                      " connect_timeout=10 gssencmode=disable sslmode=disable";
    if (!password.empty()) {
        out += " password=" + conninfo_quote(password);
    }
    if (!extra.empty()) {
        out += " ";
        out += extra;
    }
    return out;
}

std::string superuser_conninfo(std::uint16_t port, std::string_view db) {
    // A host starting with '/' is a socket directory to libpq.
    return "host=" + conninfo_quote(topology().topology_dir) + " port=" + std::to_string(port) +
           " user=postgres dbname=" + conninfo_quote(db) + " connect_timeout=10";
}

}  // namespace pgrouter::test
