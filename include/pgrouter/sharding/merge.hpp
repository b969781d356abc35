// pgrouter/sharding/merge.hpp — the replies of one read run on every shard, merged into the one
// result a single server holding every row would send (issue 8): rows concatenated, merge-sorted,
// windowed by LIMIT/OFFSET, deduplicated, aggregates combined (avg from sums and counts), HAVING
// applied. Values are compared as PostgreSQL compares them for the column's type. Pure: frames in,
// frames out; no I/O, no logging, never throws on bad input (it reports an error instead).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/sql/shard_plan.hpp"

namespace pgrouter::sharding {

// One shard's reply to the statement: whole backend messages (type byte, length, body).
struct ShardReply {
    std::span<const std::uint8_t> row_description;  // empty: the statement returned no rows
    std::vector<std::span<const std::uint8_t>> data_rows;
    std::string_view command_tag;  // the CommandComplete tag, e.g. "SELECT 3"
};

struct MergeOptions {
    // The shards sort text bytewise (collation C, POSIX or C.UTF-8): text can be ordered, and
    // min/max of text combined, here. When false those are refused with 0A000.
    bool bytewise_text = false;
};

struct MergeError {
    std::string sqlstate;  // 0A000 for what cannot be merged exactly, XX000 for inconsistent input
    std::string message;   // "pgrouter: ... is not supported across shards"
};

// Appends to `out` the client's RowDescription (hidden columns dropped, avg columns typed as
// PostgreSQL types avg), the merged DataRows and one CommandComplete ("SELECT n"); or appends
// nothing and returns the error. Every reply must carry the same RowDescription.
[[nodiscard]] std::optional<MergeError> merge_results(const sql::MergeSpec& spec,
                                                      std::span<const ShardReply> replies,
                                                      const MergeOptions& options,
                                                      std::vector<std::uint8_t>& out);

// The RowDescription the client gets for a statement merged by `spec`, from one shard's
// RowDescription message (for Describe): hidden columns dropped, avg columns retyped.
[[nodiscard]] std::vector<std::uint8_t> client_row_description(
    const sql::MergeSpec& spec, std::span<const std::uint8_t> shard_row_description);

// One CommandComplete tag for a statement run on several shards: row counts summed
// ("INSERT 0 7", "UPDATE 3", "DELETE 0", "COPY 100000", "SELECT 12"); a tag without a count
// ("CREATE TABLE") is the first one. Empty input gives "".
[[nodiscard]] std::string sum_command_tags(std::span<const std::string_view> tags);

}  // namespace pgrouter::sharding
