// pgrouter/config/load_sharding.cpp — reads the keys of issue 8 (sharding): which servers a
// database has (`primary:` or `shards:`), the `sharding:` block and each shard's slot ranges.
// Shapes and types only; the value rules (slot coverage, duplicates, modulo on text keys) are in
// validate_sharding.cpp.
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parser.hpp"

namespace pgrouter::config::detail {
namespace {

constexpr std::string_view kSlotsExample = "\"0-511\", \"7\" or \"0-255, 512-767\"";

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

// A slot number: decimal digits only, at most 2^32 - 1 (the slot count is checked later).
bool parse_slot(std::string_view text, std::uint32_t& out) {
    if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
    }
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

// "a-b" or "a"; on failure returns false and says why in `reason`.
bool parse_range(std::string_view piece, SlotRange& out, std::string& reason) {
    const std::size_t dash = piece.find('-');
    const std::string_view first = trim(piece.substr(0, dash));
    const std::string_view last =
        dash == std::string_view::npos ? first : trim(piece.substr(dash + 1));
    if (!parse_slot(first, out.first) || !parse_slot(last, out.last)) {
        reason = echo(piece) + " is not a slot number or a range \"first-last\"";
        return false;
    }
    if (out.first > out.last) {
        reason = "range " + echo(piece) + " is backwards (write the lower slot first)";
        return false;
    }
    return true;
}

}  // namespace

std::string lower_case(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

void Parser::parse_database_servers(const Section& fields, DatabaseConfig& database) {
    const Field* primary = fields.find("primary");
    const Field* replicas = fields.find("replicas");
    const Field* shards = fields.find("shards");
    const Field* sharding = fields.find("sharding");
    const std::string primary_path = fields.child_path("primary");
    const auto read_plain_servers = [&] {
        read_address(fields, "primary", database.primary);
        if (replicas != nullptr) {
            parse_replicas(*replicas, database.replicas);
        }
    };
    if (shards != nullptr && (primary != nullptr || replicas != nullptr)) {
        const Field& other = primary != nullptr ? *primary : *replicas;
        const std::string other_key = primary != nullptr ? "primary:" : "replicas:";
        error(shards->path, shards->line,
              "a database has either primary: (with replicas:) or shards: (with sharding:), not "
              "both; " +
                  other_key + " is at line " + std::to_string(other.line) +
                  " (a shard's servers go inside its entry under shards:)");
        if (primary == nullptr) {
            source_.mark_failed(primary_path);  // the conflict is the error, not the missing key
        }
        read_plain_servers();
        return;
    }
    if (shards != nullptr) {
        if (sharding == nullptr) {
            error(shards->path, shards->line,
                  "shards: needs a sharding: block in the same database (function, slots, "
                  "tables)");
            source_.mark_failed(primary_path);
            return;
        }
        parse_sharding(*sharding, database.sharding);
        parse_shards(*shards, database.shards);
        if (database.shards.empty()) {
            source_.mark_failed(primary_path);
            return;
        }
        // Until sharding is implemented the rest of pgrouter sees the first shard only.
        database.primary = database.shards.front().primary;
        database.replicas = database.shards.front().replicas;
        return;
    }
    if (sharding != nullptr) {
        if (primary != nullptr) {
            error(sharding->path, sharding->line,
                  "sharding: needs a shards: list, and a database with primary: (line " +
                      std::to_string(primary->line) +
                      ") is not sharded; replace primary: and replicas: with shards:, or remove "
                      "sharding:");
            read_plain_servers();
        } else {
            error(sharding->path, sharding->line,
                  "sharding: needs a shards: list in the same database (each shard: slots, "
                  "primary and optional replicas)");
            source_.mark_failed(primary_path);
        }
        return;
    }
    if (primary == nullptr) {
        error(primary_path, fields.line(),
              "required key is missing (or shards: with sharding: for a sharded database)");
    }
    read_plain_servers();
}

void Parser::parse_sharding(const Field& field, ShardingConfig& out) {
    const std::optional<Section> sharding =
        section(field.value, field.path, field.line,
                {"function", "slots", "tables", "reference_tables", "cross_shard_writes"}, false);
    if (!sharding) {
        return;
    }
    // No defaults for the two keys that decide where every row lives: changing either later
    // moves rows between shards, so the file states them.
    if (!sharding->find("function")) {
        missing(*sharding, "function");
    }
    read_enum(*sharding, "function", out.function,
              {{"xxh3", ShardFunction::Xxh3}, {"modulo", ShardFunction::Modulo}});
    if (!sharding->find("slots")) {
        missing(*sharding, "slots");
    }
    read_uint(*sharding, "slots", out.slots);
    if (const Field* tables = sharding->find("tables")) {
        parse_sharded_tables(*tables, out.tables);
    } else {
        missing(*sharding, "tables");
    }
    if (const Field* reference = sharding->find("reference_tables")) {
        parse_reference_tables(*reference, out.reference_tables);
    }
    read_enum(*sharding, "cross_shard_writes", out.cross_shard_writes,
              {{"error", CrossShardWrites::Error}, {"all", CrossShardWrites::All}});
}

void Parser::parse_sharded_tables(const Field& field, std::vector<ShardedTable>& out) {
    if (field.value.IsNull()) {
        return;  // `tables:` with nothing after it; validation asks for at least one
    }
    if (!field.value.IsMap()) {
        error(field.path, field.line,
              "expected a mapping of table names to { key: column, type: bigint }, " +
                  describe(field.value));
        return;
    }
    std::vector<int> lines;  // of out[i]'s key
    for (auto it = field.value.begin(); it != field.value.end(); ++it) {
        const int key_line = line_of(it->first.Mark());
        if (!it->first.IsScalar() || it->first.Scalar().empty()) {
            report(field.path, key_line, "table names must be non-empty plain names");
            continue;
        }
        const std::string name = lower_case(it->first.Scalar());
        const std::string path = field.path + "." + name;
        bool duplicate = false;
        for (std::size_t i = 0; i < out.size() && !duplicate; ++i) {
            if (out[i].name == name) {
                report(path, key_line,
                       "duplicate table '" + name + "' (first at line " + std::to_string(lines[i]) +
                           "; names are compared in lower case)");
                duplicate = true;
            }
        }
        if (duplicate) {
            continue;
        }
        source_.record(path, key_line);
        ShardedTable& table = out.emplace_back();
        lines.push_back(key_line);
        table.name = name;
        const std::optional<Section> fields =
            section(it->second, path, key_line, {"key", "type"}, false);
        if (!fields) {
            continue;
        }
        if (!fields->find("key")) {
            missing(*fields, "key");
        }
        if (read_string(*fields, "key", table.key)) {
            table.key = lower_case(table.key);
        }
        // The type decides how a key value is hashed, so there is no default.
        if (!fields->find("type")) {
            missing(*fields, "type");
        }
        read_enum(*fields, "type", table.type,
                  {{"bigint", ShardKeyType::Bigint},
                   {"integer", ShardKeyType::Integer},
                   {"smallint", ShardKeyType::Smallint},
                   {"text", ShardKeyType::Text},
                   {"uuid", ShardKeyType::Uuid},
                   {"int8", ShardKeyType::Bigint},
                   {"int4", ShardKeyType::Integer},
                   {"int", ShardKeyType::Integer},
                   {"int2", ShardKeyType::Smallint}});
    }
}

void Parser::parse_reference_tables(const Field& field, std::vector<std::string>& out) {
    if (field.value.IsNull()) {
        return;  // `reference_tables:` with nothing after it: none
    }
    if (!field.value.IsSequence()) {
        error(field.path, field.line, "expected a list of table names, " + describe(field.value));
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
        const std::string path = field.path + "[" + std::to_string(index++) + "]";
        const int line = item_line(item, field.line);
        source_.record(path, line);
        std::string& name = out.emplace_back();
        if (!item.IsScalar()) {
            error(path, line, "expected a table name, " + describe(item));
            continue;
        }
        name = lower_case(item.Scalar());
    }
}

void Parser::parse_shards(const Field& field, std::vector<ShardConfig>& out) {
    if (!field.value.IsSequence()) {
        error(field.path, field.line,
              "expected a list of shards ({ slots: \"0-511\", primary: \"host:port\" }), " +
                  describe(field.value));
        return;
    }
    if (field.value.size() == 0) {
        error(field.path, field.line, "at least one shard is required");
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
        const std::string path = field.path + "[" + std::to_string(index++) + "]";
        const int line = item_line(item, field.line);
        source_.record(path, line);
        ShardConfig& shard = out.emplace_back();
        const std::optional<Section> fields =
            section(item, path, line, {"slots", "primary", "replicas"}, false);
        if (!fields) {
            continue;
        }
        if (const Field* slots = fields->find("slots")) {
            parse_slot_ranges(*slots, shard.slots);
        } else {
            missing(*fields, "slots");
        }
        if (!fields->find("primary")) {
            missing(*fields, "primary");
        }
        read_address(*fields, "primary", shard.primary);
        if (const Field* replicas = fields->find("replicas")) {
            parse_replicas(*replicas, shard.replicas);
        }
    }
}

void Parser::parse_slot_ranges(const Field& field, std::vector<SlotRange>& out) {
    // `slots: 7` and `slots: 0-511` are plain scalars too; both read as text here.
    if (!field.value.IsScalar()) {
        error(field.path, field.line,
              "expected a string of slot ranges such as " + std::string(kSlotsExample) + ", " +
                  describe(field.value));
        return;
    }
    const std::string_view text = field.value.Scalar();
    std::vector<SlotRange> ranges;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        const std::string_view piece =
            trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
        std::string reason;
        if (piece.empty()) {
            reason = trim(text).empty() ? "got an empty string" : "a range is empty";
        }
        if (!reason.empty() || !parse_range(piece, ranges.emplace_back(), reason)) {
            error(field.path, field.line,
                  "expected slot ranges such as " + std::string(kSlotsExample) + " in " +
                      echo(text) + "; " + reason);
            return;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    out = std::move(ranges);
}

}  // namespace pgrouter::config::detail
