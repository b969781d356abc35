// pgrouter/sharding/copy_rows.hpp — the rows of a COPY FROM STDIN stream and the shard key of each
// (issue 8): bytes arrive in CopyData messages cut anywhere, rows come out whole with their key
// field decoded as PostgreSQL's COPY would read it (text format escapes, CSV quoting). Pure: no
// I/O; keeps only the unfinished row between calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/sql/copy_from.hpp"

namespace pgrouter::sharding {

class CopyRows {
public:
    // `key_column`: the key's position among the row's fields (0-based).
    CopyRows(const sql::CopyFrom& format, std::size_t key_column);

    struct Row {
        std::span<const std::uint8_t> bytes;  // the whole row, with its line end
        bool header = false;                  // CSV HEADER line: goes to every shard
        bool end_marker = false;              // text format "\." line: goes to every shard
        std::optional<std::string> key;       // nullopt: NULL, or the row has too few fields
        bool missing = false;                 // fewer fields than key_column + 1
    };

    // Appends `bytes` and returns the rows now complete (valid until the next call).
    const std::vector<Row>& feed(std::span<const std::uint8_t> bytes);
    // At CopyDone: the last row when it has no line end (PostgreSQL accepts one).
    const std::vector<Row>& finish();

private:
    void cut_rows(bool at_end);
    Row read_row(std::span<const std::uint8_t> bytes);
    std::optional<std::string> text_field(std::string_view raw) const;

    sql::CopyFrom format_;
    std::size_t key_column_;
    std::vector<std::uint8_t> pending_;
    std::size_t scanned_ = 0;  // bytes of pending_ already scanned for a row end
    bool in_quotes_ = false;   // CSV: the scan stopped inside a quoted field
    bool escaped_ = false;     // the scan stopped right after an escape character
    bool first_row_ = true;
    std::vector<Row> rows_;
    std::vector<std::uint8_t> done_;  // bytes of the rows handed out by the last call
};

}  // namespace pgrouter::sharding
