// pgrouter/config/validate.hpp — cross-field checks on an already parsed Config (unique names,
// size limits, auth method vs password kind, replicas, routing minimums, the health-check user).
// Pure: no YAML, no I/O, never throws.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/config/config.hpp"
#include "pgrouter/config/load.hpp"

namespace pgrouter::config {

// Where each key path sits in the YAML and which keys already failed to parse. parse_config fills
// it so validation errors can point at a line, and so a check is skipped when one of its inputs
// was already reported (`size: many` must not also produce "min_size exceeds size").
// A default-constructed SourceMap suits a Config built in code: lines are 0, nothing failed.
class SourceMap {
public:
    void record(std::string key, int line);
    void mark_failed(std::string key);

    // Line of `key`, else of its nearest recorded ancestor ("users[0].auth" -> "users[0]" ->
    // "users"), else 0.
    int line_of(std::string_view key) const;
    // True when `key` or one of its ancestors failed to parse.
    bool failed(std::string_view key) const;

private:
    std::map<std::string, int, std::less<>> lines_;
    std::set<std::string, std::less<>> failed_;
};

// The rules PostgreSQL uses (get_password_type): "md5" + 32 lowercase hex digits is an md5
// hash; anything starting "SCRAM-SHA-256$" is meant as a verifier (well_formed_scram_verifier
// tells whether it is usable); empty is None; everything else is plaintext.
PasswordKind classify_password(std::string_view password);

// "SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64>" with 32-byte keys.
bool well_formed_scram_verifier(std::string_view verifier);

// Whether pgrouter can log in to the servers as `user` with no client behind it (health checks):
// its server_password is a plaintext or an md5 hash, or its auth is trust.
bool can_log_in_to_servers(const UserConfig& user);

// The name of the first user that can_log_in_to_servers, or "" when none can.
std::string default_health_check_user(const Config& config);

// Every cross-field problem in `config`, in a stable order. Checks whose input keys are marked
// failed in `source` are skipped. Never throws.
[[nodiscard]] std::vector<ConfigError> validate_config(const Config& config,
                                                       const SourceMap& source = {});

}  // namespace pgrouter::config
