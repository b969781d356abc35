// tests/support/pgrouter_yaml.hpp — the default pgrouter YAML the integration tests start from: the
// topology's users (one per auth method) and databases app/app2 on {{primary}}. Text only; the
// placeholders are filled in by PgrouterProcess.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgrouter::test {

// Everything a test may want to change; the defaults are the documented pgrouter defaults.
struct RouterOptions {
    std::string mode = "transaction";  // pool.mode: transaction | session
    std::uint32_t pool_size = 20;
    std::uint32_t min_size = 0;
    std::uint32_t max_client_conn = 10000;
    std::uint32_t query_wait_timeout_ms = 5000;
    std::uint32_t server_idle_timeout_ms = 600000;
    std::uint32_t server_lifetime_ms = 3600000;
    std::uint32_t connect_timeout_ms = 2000;
    std::uint32_t prepared_statements_per_server = 200;  // pool.prepared_statements_per_server
    std::string on_session_state = "pin";  // databases.<app, app2>.on_session_state: pin | error
    // Two I/O threads: the integration suite exercises sessions on several event loops and server
    // connections moving between them (workers: 0 would mean one thread on a 2-core machine).
    std::uint32_t workers = 2;
    std::uint32_t max_startup_packet_bytes = 10000;
    std::uint64_t max_message_bytes = 1073741823;
    std::uint32_t client_login_timeout_ms = 15000;
    std::uint32_t shutdown_timeout_ms = 30000;
    std::string server_reset_query = "DISCARD ALL";
    bool server_check_idle = true;
    std::string log_level = "info";
    bool log_connections = true;
    // Routing (issue 7). The defaults render no replicas and no routing keys at all, i.e. the
    // YAML every test used before there were replicas.
    // true: databases app and app2 get `replicas: ["{{replica1}}", "{{replica2}}"]`.
    bool with_replicas = false;
    // A whole top-level block starting with "routing:\n", appended verbatim when not empty, e.g.
    // "routing:\n  read_from: any\n  pin_after_write_ms: 0\n".
    std::string routing_yaml;
    // Database app's own `routing:` value as a flow mapping, e.g. "{ read_from: any }" (not empty:
    // rendered as `routing: { read_from: any }` inside app's entry).
    std::string app_routing_yaml;
};

// listen {{listen}}; users app (scram-sha-256, password app, server_password app), md5user (md5,
// md5pw), plainuser (scram-sha-256 to the client, plainpw; PostgreSQL asks it for a cleartext
// password), trustuser (trust, no password), scramonly (scram-sha-256 with only the topology's
// SCRAM verifier: pass-through); databases app and app2 on {{primary}}, both with
// `options.on_session_state` (and {{replica1}}, {{replica2}} with `options.with_replicas`).
std::string base_yaml(const RouterOptions& options = {});

// `yaml` without the lines that set `key` (at any indentation, e.g. "max_message_bytes"), so that
// pgrouter's own default for it applies.
std::string without_setting(const std::string& yaml, std::string_view key);

}  // namespace pgrouter::test
