// pgrouter/config/validate_sharding.cpp — cross-field checks on a sharded database: the slot
// count, the tables (names, keys, modulo on integer keys only), the shards' servers and that the
// shards' slot ranges cover every slot exactly once. Pure: never throws.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "checker.hpp"

namespace pgrouter::config::detail {
namespace {

// Gaps and overlaps reported per database; a badly split range list would otherwise flood.
constexpr std::size_t kMaxSlotErrors = 10;

std::string slots_text(std::uint64_t first, std::uint64_t last) {
    if (first == last) {
        return "slot " + std::to_string(first);
    }
    return "slots " + std::to_string(first) + "-" + std::to_string(last);
}

bool integer_key(ShardKeyType type) {
    return type == ShardKeyType::Bigint || type == ShardKeyType::Integer ||
           type == ShardKeyType::Smallint;
}

void check_tables(Checker& check, const ShardingConfig& sharding, const std::string& path) {
    const std::string tables_path = path + ".tables";
    check.require(!sharding.tables.empty(), tables_path,
                  "at least one sharded table is required (name: { key: column, type: bigint })");
    const bool modulo =
        sharding.function == ShardFunction::Modulo && !check.failed(path + ".function");
    for (std::size_t i = 0; i < sharding.tables.size(); ++i) {
        const ShardedTable& table = sharding.tables[i];
        const std::string key = tables_path + "." + table.name;
        if (table.name.empty()) {
            check.require(false, tables_path, "table names must not be empty");
            continue;
        }
        bool duplicate = false;
        for (std::size_t j = 0; j < i && !duplicate; ++j) {
            duplicate = sharding.tables[j].name == table.name;
        }
        if (duplicate) {
            check.require(false, key, "duplicate table '" + table.name + "'");
            continue;
        }
        check.require(!table.key.empty(), key + ".key", "must not be empty (the shard key column)");
        if (modulo && !integer_key(table.type)) {
            check.require(false, key + ".type",
                          "table '" + table.name + "' has a " + std::string(to_string(table.type)) +
                              " key, but function modulo takes integer keys only (bigint, "
                              "integer, smallint); use function: xxh3");
        }
    }
    for (std::size_t i = 0; i < sharding.reference_tables.size(); ++i) {
        const std::string& name = sharding.reference_tables[i];
        const std::string key = path + ".reference_tables[" + std::to_string(i) + "]";
        if (name.empty()) {
            check.require(false, key, "must not be empty");
            continue;
        }
        bool reported = false;
        for (std::size_t j = 0; j < i && !reported; ++j) {
            if (sharding.reference_tables[j] == name) {
                const std::string first = path + ".reference_tables[" + std::to_string(j) + "]";
                check.require(false, key,
                              "'" + name + "' is listed twice" + first_at(check, first, first));
                reported = true;
            }
        }
        for (const ShardedTable& table : sharding.tables) {
            if (!reported && table.name == name) {
                const std::string sharded = tables_path + "." + name;
                const int line = check.line_of(sharded);
                check.require(false, key,
                              "'" + name + "' is also a sharded table" +
                                  (line > 0 ? " (line " + std::to_string(line) + ")" : "") +
                                  "; a table is either split by its key or copied to every "
                                  "shard, not both");
                reported = true;
            }
        }
    }
}

// Each shard's own rules (valid addresses, replica rules), then no server in two shards.
void check_shard_servers(Checker& check, const std::vector<ShardConfig>& shards,
                         const std::string& path) {
    struct Seen {
        const Address* address;
        std::string key;
    };
    std::vector<Seen> seen;
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const ShardConfig& shard = shards[i];
        const std::string shard_path = path + "[" + std::to_string(i) + "]";
        check_servers(check, shard.primary, shard.replicas, shard_path);
        std::vector<Seen> own{{&shard.primary, shard_path + ".primary"}};
        for (std::size_t r = 0; r < shard.replicas.size(); ++r) {
            own.push_back(
                {&shard.replicas[r], shard_path + ".replicas[" + std::to_string(r) + "]"});
        }
        for (const Seen& server : own) {
            if (server.address->host.empty() || server.address->port == 0) {
                continue;  // reported by check_servers
            }
            for (const Seen& earlier : seen) {
                if (same_server(*server.address, *earlier.address)) {
                    check.require(false, server.key,
                                  server.address->to_string() + " is already in another shard" +
                                      first_at(check, earlier.key, earlier.key) +
                                      "; every shard needs its own servers");
                    break;
                }
            }
        }
        seen.insert(seen.end(), own.begin(), own.end());
    }
}

// Every slot 0..slots-1 in exactly one shard. A sweep over the ranges sorted by first slot, so
// the cost is the number of ranges, not the number of slots.
void check_slot_coverage(Checker& check, const DatabaseConfig& database, const std::string& path) {
    const std::uint32_t slots = database.sharding.slots;
    const std::string shards_path = path + ".shards";
    if (check.failed(path + ".sharding.slots") || slots == 0 || slots > kMaxShardSlots) {
        return;
    }
    struct Entry {
        std::uint32_t first;
        std::uint32_t last;
        std::size_t shard;
    };
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < database.shards.size(); ++i) {
        const std::string key = shards_path + "[" + std::to_string(i) + "].slots";
        if (check.failed(key)) {
            return;  // a shard whose slots could not be read would only add false gaps
        }
        const std::vector<SlotRange>& ranges = database.shards[i].slots;
        check.require(!ranges.empty(), key, "must name at least one slot");
        for (const SlotRange& range : ranges) {
            if (range.first > range.last) {
                check.require(false, key,
                              "range " + std::to_string(range.first) + "-" +
                                  std::to_string(range.last) + " is backwards");
                continue;
            }
            if (range.last >= slots) {
                const std::uint32_t first = std::max(range.first, slots);
                check.require(false, key,
                              slots_text(first, range.last) +
                                  (first == range.last ? " is" : " are") +
                                  " out of range: sharding.slots is " + std::to_string(slots) +
                                  " (slots 0 to " + std::to_string(slots - 1) + ")");
                if (range.first >= slots) {
                    continue;
                }
            }
            entries.push_back({range.first, std::min(range.last, slots - 1), i});
        }
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.first != b.first ? a.first < b.first : a.shard < b.shard;
    });
    std::size_t problems = 0;
    const auto report = [&](const std::string& key, std::string message) {
        if (++problems <= kMaxSlotErrors) {
            check.require(false, key, std::move(message));
        }
    };
    const std::string gap_hint =
        " (every slot from 0 to " + std::to_string(slots - 1) + " needs exactly one shard)";
    std::uint64_t next = 0;    // the first slot no range so far covers
    std::size_t furthest = 0;  // the shard whose range ends at next - 1
    for (const Entry& entry : entries) {
        if (entry.first > next) {
            report(shards_path, slots_text(next, entry.first - 1) +
                                    (entry.first - 1 == next ? " belongs" : " belong") +
                                    " to no shard" + gap_hint);
        } else if (entry.first < next) {
            const std::uint64_t last = std::min<std::uint64_t>(entry.last, next - 1);
            const std::size_t low = std::min(entry.shard, furthest);
            const std::size_t high = std::max(entry.shard, furthest);
            const std::string key = shards_path + "[" + std::to_string(high) + "].slots";
            const std::string what = slots_text(entry.first, last);
            const bool one = entry.first == last;
            if (low == high) {
                report(key, what + (one ? " is" : " are") + " listed twice in this shard");
            } else {
                report(key, what + (one ? " is" : " are") + " in shards " + std::to_string(low) +
                                " and " + std::to_string(high));
            }
        }
        if (entry.last + std::uint64_t{1} > next) {
            next = entry.last + std::uint64_t{1};
            furthest = entry.shard;
        }
    }
    if (next < slots) {
        report(shards_path, slots_text(next, slots - 1) +
                                (next == slots - 1 ? " belongs" : " belong") + " to no shard" +
                                gap_hint);
    }
    if (problems > kMaxSlotErrors) {
        check.require(false, shards_path,
                      std::to_string(problems - kMaxSlotErrors) +
                          " more gaps or overlaps in the slot ranges (not shown)");
    }
}

}  // namespace

void check_sharding(Checker& check, const DatabaseConfig& database, const std::string& path) {
    const std::string sharding_path = path + ".sharding";
    const ShardingConfig& sharding = database.sharding;
    check.require(sharding.slots >= 1 && sharding.slots <= kMaxShardSlots, sharding_path + ".slots",
                  "must be between 1 and " + std::to_string(kMaxShardSlots));
    check_tables(check, sharding, sharding_path);
    check_shard_servers(check, database.shards, path + ".shards");
    check_slot_coverage(check, database, path);
    // The loader makes this copy (see DatabaseConfig); a Config built in code must too, or the
    // rest of pgrouter would route to servers that are in no shard.
    const ShardConfig& first = database.shards.front();
    check.require(database.primary == first.primary && database.replicas == first.replicas,
                  path + ".primary",
                  "a sharded database's primary and replicas must be those of its first shard "
                  "(shards[0])");
}

}  // namespace pgrouter::config::detail
