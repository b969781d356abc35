// src/config/checker.hpp — private to src/config: the error collector and the server-address
// rules that validate.cpp and validate_sharding.cpp share. Pure: no YAML, never throws.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgrouter/config/config.hpp"
#include "pgrouter/config/load.hpp"
#include "pgrouter/config/validate.hpp"

namespace pgrouter::config::detail {

class Checker {
public:
    explicit Checker(const SourceMap& source) : source_(source) {}

    // Reports `message` at `key` unless `key` (or a listed input) already failed to parse.
    void require(bool ok, const std::string& key, std::string message) {
        if (ok || source_.failed(key)) {
            return;
        }
        errors_.push_back(ConfigError{key, source_.line_of(key), std::move(message)});
    }

    bool failed(std::string_view key) const { return source_.failed(key); }
    int line_of(std::string_view key) const { return source_.line_of(key); }
    std::vector<ConfigError> take() { return std::move(errors_); }

private:
    const SourceMap& source_;
    std::vector<ConfigError> errors_;
};

// " (first at <what>, line N)" or " (first at <what>)" when the line is unknown.
std::string first_at(const Checker& check, const std::string& key, std::string_view what);

// Host names are case-insensitive, and so are the hex digits of an IPv6 literal. No DNS: two
// names for one server are not caught.
bool same_server(const Address& a, const Address& b);

void check_address(Checker& check, const Address& address, const std::string& key);

// `<path>.primary` and `<path>.replicas[i]`: valid addresses, no replica equal to the primary or
// listed twice. `path` is a database or one of its shards.
void check_servers(Checker& check, const Address& primary, const std::vector<Address>& replicas,
                   const std::string& path);

// validate_sharding.cpp: the `sharding:` block and the `shards:` list of a sharded database.
void check_sharding(Checker& check, const DatabaseConfig& database, const std::string& path);

}  // namespace pgrouter::config::detail
