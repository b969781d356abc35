// pgrouter/wire/frame.hpp — framing of typed protocol v3 messages over a caller-owned byte span.
// Pure: no I/O, no allocation, no logging, never throws. Frames are views into the caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace pgrouter::wire {

inline constexpr std::size_t kHeaderSize = 5;  // type byte + int32 length

using Bytes = std::span<const std::uint8_t>;

// One complete typed message. Valid only while the buffer it points into is unchanged.
struct Frame {
    char type = 0;  // message type letter
    Bytes bytes;    // the whole message: type byte, length, body
    // Empty when `bytes` is shorter than a header, so a hand-built Frame can never read past its
    // end.
    Bytes body() const noexcept {
        return bytes.size() < kHeaderSize ? Bytes{} : bytes.subspan(kHeaderSize);
    }
};

enum class DecodeStatus {
    Complete,
    NeedMore,
    BadLength,  // length field < 4 (it counts itself)
    TooLarge,   // 1 + length > max
};

struct DecodeResult {
    DecodeStatus status = DecodeStatus::NeedMore;
    char type = 0;  // valid once the type byte is there
    std::size_t total =
        0;        // whole message size (1 + length) once the 5-byte header is there, else 0
    Frame frame;  // valid only when status == Complete
};

// Frames one typed message at the start of `input`. NeedMore while the header or body is
// incomplete (`total` tells how much to read once the header is in), BadLength when the length
// field is < 4, TooLarge when 1 + length > max_message. Bytes after the first message are left
// for the next call: advance by `total` after a Complete result.
[[nodiscard]] DecodeResult decode_frame(Bytes input, std::size_t max_message) noexcept;

// Big-endian readers; `p` must point at 4 (resp. 2) readable bytes.
inline std::uint32_t read_u32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}
inline std::uint16_t read_u16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace pgrouter::wire
