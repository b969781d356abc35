// src/config/parser.hpp — private to src/config: the YAML walker that load.cpp (top level, pool,
// users, databases, limits, log), load_routing.cpp (replicas, the routing block,
// health_check_user) and load_sharding.cpp (a database's servers, sharding, shards) share. Only
// src/config includes it, so yaml-cpp never leaves this directory.
#pragma once

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgrouter/config/config.hpp"
#include "pgrouter/config/load.hpp"
#include "pgrouter/config/validate.hpp"

namespace pgrouter::config::detail {

// Durations above a year are surely a typo, and capping them keeps `now() + d` far from overflow.
constexpr std::uint64_t kMaxDurationMs = 365ull * 24 * 60 * 60 * 1000;
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kBoolTag = "tag:yaml.org,2002:bool";

// yaml-cpp marks are 0-based, and -1 when unknown; ConfigError wants 1-based with 0 = unknown.
int line_of(const YAML::Mark& mark);
// The line of a list item, or `fallback` (the list's key) when yaml-cpp does not know it.
int item_line(const YAML::Node& item, int fallback);
// `text` quoted, cut after a few dozen characters.
std::string echo(std::string_view text);
// "got …" for error messages. It echoes scalars, so password fields call it only for values
// that are not scalars (a list, a mapping, nothing), which carry no secret text.
std::string describe(const YAML::Node& node);
// A plain (unquoted) scalar has the non-specific tag "?"; a quoted one has "!".
bool is_plain_or_tagged(const YAML::Node& node, std::string_view tag);
std::string unknown_key_message(std::string_view key,
                                std::initializer_list<std::string_view> allowed);
// ASCII lower case, as PostgreSQL folds unquoted identifiers.
std::string lower_case(std::string_view text);

// One key of a YAML mapping, with where it was found.
struct Field {
    YAML::Node value;
    std::string path;  // full key path, e.g. "pool.size"
    int line = 0;      // line of the key
};

// The keys of one mapping, already checked against the allowed set.
class Section {
public:
    Section(std::string path, int line) : path_(std::move(path)), line_(line) {}

    const std::string& path() const { return path_; }
    int line() const { return line_; }
    std::string child_path(std::string_view key) const {
        return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
    }
    const Field* find(std::string_view key) const {
        for (const auto& [name, field] : fields_) {
            if (name == key) {
                return &field;
            }
        }
        return nullptr;
    }
    void add(std::string key, Field field) {
        fields_.emplace_back(std::move(key), std::move(field));
    }

private:
    std::string path_;
    int line_;
    std::vector<std::pair<std::string, Field>> fields_;
};

class Parser {
public:
    LoadResult run(std::string_view yaml_text);

private:
    // Reports a value that could not be read; validation then skips checks that use it.
    void error(const std::string& key, int line, std::string message) {
        report(key, line, std::move(message));
        source_.mark_failed(key);
    }
    // Reports a key that is ignored (unknown, repeated) while the value read first stays valid.
    void report(const std::string& key, int line, std::string message) {
        errors_.push_back(ConfigError{key, line, std::move(message)});
    }
    void missing(const Section& section, std::string_view key) {
        error(section.child_path(key), section.line(), "required key is missing");
    }

    std::optional<Section> section(const YAML::Node& node, std::string path, int line,
                                   std::initializer_list<std::string_view> allowed,
                                   bool null_is_empty);

    bool read_string(const Section& section, std::string_view key, std::string& out);
    template <typename T>
    bool read_uint(const Section& section, std::string_view key, T& out,
                   std::uint64_t max = std::numeric_limits<T>::max());
    bool read_duration(const Section& section, std::string_view key,
                       std::chrono::milliseconds& out);
    bool read_bool(const Section& section, std::string_view key, bool& out);
    template <typename E>
    bool read_enum(const Section& section, std::string_view key, E& out,
                   std::initializer_list<std::pair<std::string_view, E>> names);
    bool read_address(const Section& section, std::string_view key, Address& out);

    // load.cpp
    void parse_top(const YAML::Node& root);
    void parse_pool(const Field& field);
    void parse_users(const Field& field);
    void parse_user(const YAML::Node& item, const std::string& path, int line, UserConfig& user);
    void parse_databases(const Field& field);
    void parse_limits(const Field& field);
    void parse_log(const Field& field);

    // load_routing.cpp
    // Applies the keys present in `field` on top of `out`: the global block starts from the
    // defaults, a database's block from the global one.
    void parse_routing(const Field& field, RoutingConfig& out);
    void parse_circuit_breaker(const Field& field, CircuitBreakerConfig& out);
    void parse_write_functions(const Field& field, std::vector<std::string>& out);
    // One entry per item, even a broken one (left empty), so replicas[i] stays item i.
    void parse_replicas(const Field& field, std::vector<Address>& out);
    // Top-level `health_check_user`; when absent (and readable), the default from
    // default_health_check_user once every user is known.
    void parse_health_check_user(const Section& top);

    // load_sharding.cpp
    // Either `primary` (+ `replicas`) or `shards` (+ `sharding`); a sharded database gets its
    // first shard's servers as primary/replicas (see DatabaseConfig).
    void parse_database_servers(const Section& fields, DatabaseConfig& database);
    void parse_sharding(const Field& field, ShardingConfig& out);
    void parse_sharded_tables(const Field& field, std::vector<ShardedTable>& out);
    void parse_reference_tables(const Field& field, std::vector<std::string>& out);
    // One entry per item, even a broken one, so shards[i] stays item i.
    void parse_shards(const Field& field, std::vector<ShardConfig>& out);
    void parse_slot_ranges(const Field& field, std::vector<SlotRange>& out);

    Config config_;
    SourceMap source_;
    std::vector<ConfigError> errors_;
};

template <typename T>
bool Parser::read_uint(const Section& section, std::string_view key, T& out, std::uint64_t max) {
    const Field* field = section.find(key);
    if (field == nullptr) {
        return false;
    }
    const YAML::Node& value = field->value;
    if (!value.IsScalar()) {
        error(field->path, field->line, "expected a non-negative integer, " + describe(value));
        return false;
    }
    const std::string& text = value.Scalar();
    if (!is_plain_or_tagged(value, kIntTag)) {
        error(field->path, field->line,
              "expected a non-negative integer, got the string " + echo(text) +
                  " (remove the quotes)");
        return false;
    }
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '+') {
        digits.remove_prefix(1);
    }
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
        error(field->path, field->line, "expected a non-negative integer, got " + echo(text));
        return false;
    }
    std::uint64_t parsed = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
    if (ec != std::errc{} || parsed > max) {
        error(field->path, field->line,
              "value " + echo(text) + " is too large (maximum " + std::to_string(max) + ")");
        return false;
    }
    out = static_cast<T>(parsed);
    return true;
}

template <typename E>
bool Parser::read_enum(const Section& section, std::string_view key, E& out,
                       std::initializer_list<std::pair<std::string_view, E>> names) {
    const Field* field = section.find(key);
    if (field == nullptr) {
        return false;
    }
    if (field->value.IsScalar()) {
        for (const auto& [name, value] : names) {
            if (field->value.Scalar() == name) {
                out = value;
                return true;
            }
        }
    }
    std::string list;
    for (const auto& entry : names) {
        list += list.empty() ? "" : ", ";
        list += entry.first;
    }
    error(field->path, field->line, "expected one of " + list + "; " + describe(field->value));
    return false;
}

}  // namespace pgrouter::config::detail
