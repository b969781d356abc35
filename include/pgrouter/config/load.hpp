// pgrouter/config/load.hpp — the yaml-cpp boundary: YAML text or file in, Config or the list of
// every error (key path + 1-based line) out. Never throws; yaml-cpp stays inside the .cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/config/config.hpp"

namespace pgrouter::config {

struct ConfigError {
    // Key path: "pool.size", "users[1].auth", "databases.app.primary"; empty when the error is
    // about the document itself (YAML syntax, unreadable file).
    std::string key;
    int line = 0;  // 1-based, 0 = unknown
    // Never contains a password or any other secret value.
    std::string message;
};

struct LoadResult {
    std::optional<Config> config;  // set only when `errors` is empty
    std::vector<ConfigError> errors;

    bool ok() const { return config.has_value(); }
};

// Parses and validates (validate.hpp) one YAML document. Every problem found is reported, in
// document order, with the structural errors before the cross-field ones. Never throws.
[[nodiscard]] LoadResult parse_config(std::string_view yaml_text);

// Reads `path` and calls parse_config. An unreadable file gives exactly one error (key empty,
// line 0). Never throws.
[[nodiscard]] LoadResult load_config_file(const std::string& path);

// "pgrouter.yaml:12: pool.size: expected a non-negative integer, got 'many'". The line is left
// out when unknown ("pgrouter.yaml: listen: …") and the key when empty ("pgrouter.yaml:3: …").
std::string format_error(const ConfigError& error, std::string_view file_name);

// "host:port" or "[v6]:port"; the host may be a name; port 1..65535. No DNS lookup.
[[nodiscard]] std::optional<Address> parse_address(std::string_view text);

}  // namespace pgrouter::config
