// pgrouter/wire/row_messages.hpp — RowDescription 'T' and DataRow 'D': parsed into caller-owned
// vectors (views into the frame) and written back, for the results pgrouter rebuilds when it
// merges the replies of several shards. Pure: no I/O, no logging, never throws on bad input.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "pgrouter/wire/frame.hpp"

namespace pgrouter::wire {

// One field of a RowDescription, in wire order.
struct FieldDescription {
    std::string_view name;
    std::uint32_t table_oid = 0;
    std::int16_t column = 0;  // attribute number, 0 when not a table column
    std::uint32_t type_oid = 0;
    std::int16_t type_size = 0;  // typlen: -1 varlena, -2 cstring
    std::int32_t type_modifier = -1;
    std::int16_t format = 0;  // 0 text, 1 binary
};

// One DataRow value: nullopt is SQL NULL (length -1).
using Cell = std::optional<Bytes>;

// Frames `message` (one whole message, nothing after it). nullopt if it is not exactly one
// complete message.
[[nodiscard]] std::optional<Frame> frame_of(Bytes message) noexcept;

// RowDescription 'T' -> `fields` (cleared first; views into the frame). False if the frame is
// not a well-formed RowDescription. Only the vector's growth can throw (std::bad_alloc).
[[nodiscard]] bool parse_row_description(const Frame& frame, std::vector<FieldDescription>& fields);

// DataRow 'D' -> `cells` appended (views into the frame); returns the column count, or nullopt
// (and `cells` unchanged) if the frame is not a well-formed DataRow.
[[nodiscard]] std::optional<std::size_t> parse_data_row(const Frame& frame,
                                                        std::vector<Cell>& cells);

// Appends one RowDescription / DataRow to `out`. Names are cut at a NUL so the message frames.
void append_row_description(std::vector<std::uint8_t>& out,
                            std::span<const FieldDescription> fields);
void append_data_row(std::vector<std::uint8_t>& out, std::span<const Cell> cells);

}  // namespace pgrouter::wire
