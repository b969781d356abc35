// tests/support/pgrouter_yaml.cpp — renders RouterOptions into pgrouter's YAML shape. Must stay in
// step with include/pgrouter/config/config.hpp; never writes files.
#include "support/pgrouter_yaml.hpp"

#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

// YAML double-quoted scalar: enough escaping for passwords and verifiers ('$', '/', '+', '=').
std::string quoted(const std::string& value) {
    std::string out = "\"";
    for (char c : value) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string num(std::uint64_t value) {
    return std::to_string(value);
}

}  // namespace

std::string base_yaml(const RouterOptions& o) {
    std::string y;
    y += "listen: \"{{listen}}\"\n";
    y += "workers: " + num(o.workers) + "\n";
    y += "pool:\n";
    y += "  mode: " + o.mode + "\n";
    y += "  size: " + num(o.pool_size) + "\n";
    y += "  min_size: " + num(o.min_size) + "\n";
    y += "  max_client_conn: " + num(o.max_client_conn) + "\n";
    y += "  query_wait_timeout_ms: " + num(o.query_wait_timeout_ms) + "\n";
    y += "  server_idle_timeout_ms: " + num(o.server_idle_timeout_ms) + "\n";
    y += "  server_lifetime_ms: " + num(o.server_lifetime_ms) + "\n";
    y += "  connect_timeout_ms: " + num(o.connect_timeout_ms) + "\n";
    y += "  prepared_statements_per_server: " + num(o.prepared_statements_per_server) + "\n";
    y += "users:\n";
    y += "  - {name: app, auth: scram-sha-256, password: \"app\", server_password: \"app\"}\n";
    y += "  - {name: md5user, auth: md5, password: \"md5pw\"}\n";
    y += "  - {name: plainuser, auth: scram-sha-256, password: \"plainpw\"}\n";
    y += "  - {name: trustuser, auth: trust}\n";
    y += "  - {name: scramonly, auth: scram-sha-256, password: " +
         quoted(topology().scramonly_verifier) + "}\n";
    y += "databases:\n";
    for (const std::string db : {"app", "app2"}) {
        y += "  " + db + ": {dbname: " + db +
             ", primary: \"{{primary}}\", on_session_state: " + o.on_session_state;
        if (o.with_replicas) {
            y += ", replicas: [\"{{replica1}}\", \"{{replica2}}\"]";
        }
        if (db == "app" && !o.app_routing_yaml.empty()) {
            y += ", routing: " + o.app_routing_yaml;
        }
        y += "}\n";
    }
    y += "limits:\n";
    y += "  max_startup_packet_bytes: " + num(o.max_startup_packet_bytes) + "\n";
    y += "  max_message_bytes: " + num(o.max_message_bytes) + "\n";
    y += "  client_login_timeout_ms: " + num(o.client_login_timeout_ms) + "\n";
    y += "  shutdown_timeout_ms: " + num(o.shutdown_timeout_ms) + "\n";
    y += "  server_reset_query: " + quoted(o.server_reset_query) + "\n";
    y += std::string("  server_check_idle: ") + (o.server_check_idle ? "true" : "false") + "\n";
    y += "log:\n";
    y += "  level: " + o.log_level + "\n";
    y += std::string("  connections: ") + (o.log_connections ? "true" : "false") + "\n";
    if (!o.routing_yaml.empty()) {
        y += o.routing_yaml;
        if (y.back() != '\n') {
            y += "\n";
        }
    }
    return y;
}

std::string without_setting(const std::string& yaml, std::string_view key) {
    const std::string prefix = std::string(key) + ":";
    std::string out;
    std::size_t pos = 0;
    while (pos < yaml.size()) {
        std::size_t end = yaml.find('\n', pos);
        end = end == std::string::npos ? yaml.size() : end + 1;
        const std::string_view line = std::string_view(yaml).substr(pos, end - pos);
        const std::size_t indent = line.find_first_not_of(' ');
        if (indent == std::string_view::npos || line.substr(indent, prefix.size()) != prefix) {
            out += line;
        }
        pos = end;
    }
    return out;
}

}  // namespace pgrouter::test
