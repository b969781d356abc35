// src/wire/row_messages.cpp — RowDescription and DataRow parsing and writing. Every length is
// checked before it is read; nothing here logs or throws (only vector growth can).
#include "pgrouter/wire/row_messages.hpp"

#include <limits>

#include "body_reader.hpp"

namespace pgrouter::wire {

namespace {

using detail::BodyReader;

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 24));
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}

// Writes the type byte and a placeholder length; returns where the length goes.
std::size_t begin(std::vector<std::uint8_t>& out, char type) {
    out.push_back(static_cast<std::uint8_t>(type));
    const std::size_t at = out.size();
    put_u32(out, 0);
    return at;
}

void finish(std::vector<std::uint8_t>& out, std::size_t at) {
    const auto length = static_cast<std::uint32_t>(out.size() - at);
    out[at] = static_cast<std::uint8_t>(length >> 24);
    out[at + 1] = static_cast<std::uint8_t>(length >> 16);
    out[at + 2] = static_cast<std::uint8_t>(length >> 8);
    out[at + 3] = static_cast<std::uint8_t>(length);
}

bool i16(BodyReader& r, std::int16_t& v) noexcept {
    std::uint16_t u = 0;
    if (!r.u16(u)) {
        return false;
    }
    v = static_cast<std::int16_t>(u);
    return true;
}

}  // namespace

std::optional<Frame> frame_of(Bytes message) noexcept {
    const DecodeResult r = decode_frame(message, std::numeric_limits<std::size_t>::max());
    if (r.status != DecodeStatus::Complete || r.total != message.size()) {
        return std::nullopt;
    }
    return r.frame;
}

bool parse_row_description(const Frame& frame, std::vector<FieldDescription>& fields) {
    fields.clear();
    if (frame.type != 'T') {
        return false;
    }
    BodyReader r(frame.body());
    std::uint16_t count = 0;
    if (!r.u16(count)) {
        return false;
    }
    // Each field is at least 19 bytes: refuse an absurd count before reserving for it.
    if (r.remaining() < std::size_t{count} * 19) {
        return false;
    }
    fields.reserve(count);
    for (std::uint16_t i = 0; i < count; ++i) {
        FieldDescription f;
        if (!r.cstr(f.name) || !r.u32(f.table_oid) || !i16(r, f.column) || !r.u32(f.type_oid) ||
            !i16(r, f.type_size) || !r.i32(f.type_modifier) || !i16(r, f.format)) {
            fields.clear();
            return false;
        }
        fields.push_back(f);
    }
    if (!r.at_end()) {
        fields.clear();
        return false;
    }
    return true;
}

std::optional<std::size_t> parse_data_row(const Frame& frame, std::vector<Cell>& cells) {
    if (frame.type != 'D') {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    std::uint16_t count = 0;
    if (!r.u16(count) || r.remaining() < std::size_t{count} * 4) {
        return std::nullopt;
    }
    const std::size_t start = cells.size();
    for (std::uint16_t i = 0; i < count; ++i) {
        std::int32_t length = 0;
        Bytes value;
        if (!r.i32(length) || length < -1 ||
            (length >= 0 && !r.bytes(static_cast<std::size_t>(length), value))) {
            cells.resize(start);
            return std::nullopt;
        }
        cells.push_back(length == -1 ? Cell{} : Cell{value});
    }
    if (!r.at_end()) {
        cells.resize(start);
        return std::nullopt;
    }
    return std::size_t{count};
}

void append_row_description(std::vector<std::uint8_t>& out,
                            std::span<const FieldDescription> fields) {
    const std::size_t at = begin(out, 'T');
    put_u16(out, static_cast<std::uint16_t>(fields.size()));
    for (const FieldDescription& f : fields) {
        const std::string_view name = f.name.substr(0, f.name.find('\0'));
        out.insert(out.end(), name.begin(), name.end());
        out.push_back(0);
        put_u32(out, f.table_oid);
        put_u16(out, static_cast<std::uint16_t>(f.column));
        put_u32(out, f.type_oid);
        put_u16(out, static_cast<std::uint16_t>(f.type_size));
        put_u32(out, static_cast<std::uint32_t>(f.type_modifier));
        put_u16(out, static_cast<std::uint16_t>(f.format));
    }
    finish(out, at);
}

void append_data_row(std::vector<std::uint8_t>& out, std::span<const Cell> cells) {
    const std::size_t at = begin(out, 'D');
    put_u16(out, static_cast<std::uint16_t>(cells.size()));
    for (const Cell& c : cells) {
        if (!c) {
            put_u32(out, 0xFFFFFFFFu);
            continue;
        }
        put_u32(out, static_cast<std::uint32_t>(c->size()));
        out.insert(out.end(), c->begin(), c->end());
    }
    finish(out, at);
}

}  // namespace pgrouter::wire
