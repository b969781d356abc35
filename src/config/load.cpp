// pgrouter/config/load.cpp — the yaml-cpp boundary: YAML in, Config or every error (key path +
// 1-based line) out. Every yaml-cpp exception stops here; nothing is thrown out. The routing
// keys are read in load_routing.cpp, through the Parser of parser.hpp.
#include "pgrouter/config/load.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "address_parse.hpp"
#include "parser.hpp"
#include "pgrouter/config/validate.hpp"

namespace pgrouter::config {
namespace detail {
namespace {

constexpr std::size_t kMaxEchoedChars = 40;

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

int line_of(const YAML::Mark& mark) {
    return mark.line >= 0 ? mark.line + 1 : 0;
}

int item_line(const YAML::Node& item, int fallback) {
    return item.Mark().line >= 0 ? line_of(item.Mark()) : fallback;
}

std::string echo(std::string_view text) {
    if (text.size() > kMaxEchoedChars) {
        return "'" + std::string(text.substr(0, kMaxEchoedChars)) + "…'";
    }
    return "'" + std::string(text) + "'";
}

std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined:
            return "got an empty value";
        case YAML::NodeType::Sequence:
            return "got a list";
        case YAML::NodeType::Map:
            return "got a mapping";
        case YAML::NodeType::Scalar:
            break;
    }
    return "got " + echo(node.Scalar());
}

bool is_plain_or_tagged(const YAML::Node& node, std::string_view tag) {
    return node.Tag() == "?" || node.Tag() == tag;
}

std::string unknown_key_message(std::string_view key,
                                std::initializer_list<std::string_view> allowed) {
    std::string_view best;
    std::size_t best_distance = 3;  // suggest only close misspellings
    std::string list;
    for (std::string_view candidate : allowed) {
        list += list.empty() ? "" : ", ";
        list += candidate;
        // "open: 10" for "open_ms": the unit suffix alone is too far for the distance rule.
        const bool missing_unit = candidate.size() == key.size() + 3 &&
                                  candidate.substr(0, key.size()) == key &&
                                  candidate.substr(key.size()) == "_ms";
        const std::size_t distance = missing_unit ? 0 : edit_distance(key, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = candidate;
        }
    }
    if (!best.empty()) {
        return "unknown key (did you mean '" + std::string(best) + "'?)";
    }
    return "unknown key (expected one of: " + list + ")";
}

std::optional<Section> Parser::section(const YAML::Node& node, std::string path, int line,
                                       std::initializer_list<std::string_view> allowed,
                                       bool null_is_empty) {
    Section result(std::move(path), line);
    if (node.IsNull() && null_is_empty) {
        return result;
    }
    if (!node.IsMap()) {
        error(result.path(), line, "expected a mapping, " + describe(node));
        return std::nullopt;
    }
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node key = it->first;
        const int key_line = line_of(key.Mark());
        if (!key.IsScalar()) {
            report(result.path(), key_line, "keys must be plain names, " + describe(key));
            continue;
        }
        const std::string& name = key.Scalar();
        const std::string child = result.child_path(name);
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            report(child, key_line, unknown_key_message(name, allowed));
            continue;
        }
        // yaml-cpp keeps both entries of a repeated key; the last would silently win elsewhere.
        if (const Field* first = result.find(name)) {
            report(child, key_line,
                   "duplicate key (first at line " + std::to_string(first->line) + ")");
            continue;
        }
        source_.record(child, key_line);
        result.add(name, Field{it->second, child, key_line});
    }
    return result;
}

bool Parser::read_string(const Section& section, std::string_view key, std::string& out) {
    const Field* field = section.find(key);
    if (field == nullptr) {
        return false;
    }
    if (!field->value.IsScalar()) {
        error(field->path, field->line, "expected a string, " + describe(field->value));
        return false;
    }
    out = field->value.Scalar();
    return true;
}

bool Parser::read_duration(const Section& section, std::string_view key,
                           std::chrono::milliseconds& out) {
    std::uint64_t ms = 0;
    if (!read_uint(section, key, ms, kMaxDurationMs)) {
        return false;
    }
    out = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
    return true;
}

bool Parser::read_bool(const Section& section, std::string_view key, bool& out) {
    const Field* field = section.find(key);
    if (field == nullptr) {
        return false;
    }
    const YAML::Node& value = field->value;
    // YAML 1.2 core booleans only: "yes"/"on" are too easy to misread.
    if (value.IsScalar() && is_plain_or_tagged(value, kBoolTag)) {
        const std::string& text = value.Scalar();
        if (text == "true" || text == "True" || text == "TRUE") {
            out = true;
            return true;
        }
        if (text == "false" || text == "False" || text == "FALSE") {
            out = false;
            return true;
        }
    }
    const bool quoted = value.IsScalar() && !is_plain_or_tagged(value, kBoolTag);
    error(field->path, field->line,
          "expected true or false, " +
              (quoted ? "got the string " + echo(value.Scalar()) + " (remove the quotes)"
                      : describe(value)));
    return false;
}

bool Parser::read_address(const Section& section, std::string_view key, Address& out) {
    const Field* field = section.find(key);
    if (field == nullptr) {
        return false;
    }
    std::string reason;
    std::optional<Address> address;
    if (field->value.IsScalar()) {
        address = parse_address_with_reason(field->value.Scalar(), reason);
    }
    if (!address) {
        error(field->path, field->line,
              "expected \"host:port\", " + describe(field->value) +
                  (reason.empty() ? "" : " (" + reason + ")"));
        return false;
    }
    out = *address;
    return true;
}

void Parser::parse_top(const YAML::Node& root) {
    if (root.IsNull()) {
        error("", 0, "the document is empty; listen, users and databases are required");
        return;
    }
    const std::optional<Section> top = section(root, "", line_of(root.Mark()),
                                               {"listen", "workers", "pool", "users", "databases",
                                                "routing", "health_check_user", "limits", "log"},
                                               false);
    if (!top) {
        return;
    }
    if (!top->find("listen")) {
        error("listen", 0, "required key is missing");
    }
    read_address(*top, "listen", config_.listen);
    read_uint(*top, "workers", config_.workers);
    if (const Field* pool = top->find("pool")) {
        parse_pool(*pool);
    }
    // Before the databases, whatever the key order: each database starts from the global block.
    if (const Field* routing = top->find("routing")) {
        parse_routing(*routing, config_.routing);
    }
    if (const Field* users = top->find("users")) {
        parse_users(*users);
    } else {
        error("users", 0, "required key is missing (at least one user)");
    }
    if (const Field* databases = top->find("databases")) {
        parse_databases(*databases);
    } else {
        error("databases", 0, "required key is missing (at least one database)");
    }
    if (const Field* limits = top->find("limits")) {
        parse_limits(*limits);
    }
    if (const Field* log = top->find("log")) {
        parse_log(*log);
    }
    parse_health_check_user(*top);
}

void Parser::parse_pool(const Field& field) {
    const std::optional<Section> pool =
        section(field.value, field.path, field.line,
                {"mode", "size", "min_size", "max_client_conn", "query_wait_timeout_ms",
                 "server_idle_timeout_ms", "server_lifetime_ms", "connect_timeout_ms",
                 "prepared_statements_per_server"},
                true);
    if (!pool) {
        return;
    }
    PoolConfig& out = config_.pool;
    read_enum(*pool, "mode", out.mode,
              {{"transaction", PoolMode::Transaction}, {"session", PoolMode::Session}});
    read_uint(*pool, "size", out.size);
    read_uint(*pool, "min_size", out.min_size);
    read_uint(*pool, "max_client_conn", out.max_client_conn);
    read_duration(*pool, "query_wait_timeout_ms", out.query_wait_timeout);
    read_duration(*pool, "server_idle_timeout_ms", out.server_idle_timeout);
    read_duration(*pool, "server_lifetime_ms", out.server_lifetime);
    read_duration(*pool, "connect_timeout_ms", out.connect_timeout);
    read_uint(*pool, "prepared_statements_per_server", out.prepared_statements_per_server);
}

void Parser::parse_users(const Field& field) {
    if (!field.value.IsSequence()) {
        error(field.path, field.line, "expected a list of users, " + describe(field.value));
        return;
    }
    if (field.value.size() == 0) {
        error(field.path, field.line, "at least one user is required");
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
        const std::string path = field.path + "[" + std::to_string(index++) + "]";
        const int line = item_line(item, field.line);
        source_.record(path, line);
        // One entry per item, even a broken one, so users[i] in later errors stays item i.
        parse_user(item, path, line, config_.users.emplace_back());
    }
}

void Parser::parse_user(const YAML::Node& item, const std::string& path, int line,
                        UserConfig& user) {
    const std::optional<Section> fields =
        section(item, path, line, {"name", "auth", "password", "server_password"}, false);
    if (!fields) {
        return;
    }
    if (!fields->find("name")) {
        missing(*fields, "name");
    }
    read_string(*fields, "name", user.name);
    read_enum(*fields, "auth", user.auth,
              {{"scram-sha-256", AuthMethod::ScramSha256},
               {"md5", AuthMethod::Md5},
               {"trust", AuthMethod::Trust}});
    read_string(*fields, "password", user.password);
    user.password_kind = classify_password(user.password);
    user.server_password_explicit = read_string(*fields, "server_password", user.server_password);
    if (!user.server_password_explicit && (user.password_kind == PasswordKind::Plain ||
                                           user.password_kind == PasswordKind::Md5Hash)) {
        user.server_password = user.password;
    }
}

void Parser::parse_databases(const Field& field) {
    if (!field.value.IsMap()) {
        error(field.path, field.line,
              "expected a mapping of database names, " + describe(field.value));
        return;
    }
    if (field.value.size() == 0) {
        error(field.path, field.line, "at least one database is required");
        return;
    }
    std::vector<std::pair<std::string, int>> seen;
    for (auto it = field.value.begin(); it != field.value.end(); ++it) {
        const int key_line = line_of(it->first.Mark());
        if (!it->first.IsScalar() || it->first.Scalar().empty()) {
            report(field.path, key_line, "database names must be non-empty plain names");
            continue;
        }
        const std::string& name = it->first.Scalar();
        const std::string path = field.path + "." + name;
        const auto first = std::find_if(seen.begin(), seen.end(),
                                        [&](const auto& entry) { return entry.first == name; });
        if (first != seen.end()) {
            report(path, key_line,
                   "duplicate database (first at line " + std::to_string(first->second) + ")");
            continue;
        }
        seen.emplace_back(name, key_line);
        source_.record(path, key_line);
        const std::optional<Section> fields = section(
            it->second, path, key_line,
            {"dbname", "primary", "replicas", "sharding", "shards", "routing", "on_session_state"},
            false);
        DatabaseConfig& database = config_.databases.emplace_back();
        database.name = name;
        database.dbname = name;
        database.routing = config_.routing;
        if (!fields) {
            continue;
        }
        read_string(*fields, "dbname", database.dbname);
        parse_database_servers(*fields, database);
        read_enum(*fields, "on_session_state", database.on_session_state,
                  {{"pin", SessionStatePolicy::Pin}, {"error", SessionStatePolicy::Error}});
        if (const Field* routing = fields->find("routing")) {
            parse_routing(*routing, database.routing);
        }
    }
}

void Parser::parse_limits(const Field& field) {
    const std::optional<Section> limits =
        section(field.value, field.path, field.line,
                {"max_startup_packet_bytes", "max_message_bytes", "client_login_timeout_ms",
                 "shutdown_timeout_ms", "server_reset_query", "server_check_idle"},
                true);
    if (!limits) {
        return;
    }
    LimitsConfig& out = config_.limits;
    read_uint(*limits, "max_startup_packet_bytes", out.max_startup_packet_bytes);
    read_uint(*limits, "max_message_bytes", out.max_message_bytes);
    read_duration(*limits, "client_login_timeout_ms", out.client_login_timeout);
    read_duration(*limits, "shutdown_timeout_ms", out.shutdown_timeout);
    read_string(*limits, "server_reset_query", out.server_reset_query);
    read_bool(*limits, "server_check_idle", out.server_check_idle);
}

void Parser::parse_log(const Field& field) {
    const std::optional<Section> log =
        section(field.value, field.path, field.line, {"level", "connections"}, true);
    if (!log) {
        return;
    }
    read_enum(*log, "level", config_.log.level,
              {{"trace", LogLevel::Trace},
               {"debug", LogLevel::Debug},
               {"info", LogLevel::Info},
               {"warn", LogLevel::Warn},
               {"error", LogLevel::Error},
               {"off", LogLevel::Off}});
    read_bool(*log, "connections", config_.log.connections);
}

LoadResult Parser::run(std::string_view yaml_text) {
    LoadResult result;
    try {
        const YAML::Node root = YAML::Load(std::string(yaml_text));
        parse_top(root);
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp 0.7 gives this one the message "bad file", which would only confuse.
        error("", line_of(e.mark), "invalid YAML: nested too deeply");
        result.errors = std::move(errors_);
        return result;
    } catch (const YAML::Exception& e) {
        // ParserException for syntax errors; anything else yaml-cpp throws lands here too.
        error("", line_of(e.mark), "invalid YAML: " + e.msg);
        result.errors = std::move(errors_);
        return result;
    }
    std::vector<ConfigError> cross = validate_config(config_, source_);
    errors_.insert(errors_.end(), std::make_move_iterator(cross.begin()),
                   std::make_move_iterator(cross.end()));
    // Read top to bottom like the file; errors without a line (missing top-level keys) go last.
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const ConfigError& a, const ConfigError& b) {
                         const int la = a.line > 0 ? a.line : std::numeric_limits<int>::max();
                         const int lb = b.line > 0 ? b.line : std::numeric_limits<int>::max();
                         return la < lb;
                     });
    if (errors_.empty()) {
        result.config = std::move(config_);
    } else {
        result.errors = std::move(errors_);
    }
    return result;
}

}  // namespace detail

LoadResult parse_config(std::string_view yaml_text) {
    try {
        detail::Parser parser;
        return parser.run(yaml_text);
    } catch (const std::exception& e) {
        // Only std::bad_alloc is expected here; keep the promise never to throw.
        LoadResult result;
        result.errors.push_back(ConfigError{"", 0, std::string("internal error: ") + e.what()});
        return result;
    } catch (...) {
        LoadResult result;
        result.errors.push_back(ConfigError{"", 0, "internal error"});
        return result;
    }
}

LoadResult load_config_file(const std::string& path) {
    try {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) {
            return LoadResult{std::nullopt,
                              {ConfigError{"", 0, "cannot read " + path + ": is a directory"}}};
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            const int saved = errno;
            return LoadResult{
                std::nullopt,
                {ConfigError{"", 0, "cannot read " + path + ": " + std::strerror(saved)}}};
        }
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) {
            return LoadResult{std::nullopt, {ConfigError{"", 0, "cannot read " + path}}};
        }
        return parse_config(text.str());
    } catch (...) {
        return LoadResult{std::nullopt, {ConfigError{"", 0, "cannot read " + path}}};
    }
}

std::string format_error(const ConfigError& error, std::string_view file_name) {
    std::string out(file_name);
    if (error.line > 0) {
        out += out.empty() ? "line " : ":";
        out += std::to_string(error.line);
    }
    if (!out.empty()) {
        out += ": ";
    }
    if (!error.key.empty()) {
        out += error.key;
        out += ": ";
    }
    out += error.message;
    return out;
}

}  // namespace pgrouter::config
