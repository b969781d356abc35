// pgrouter/wire/startup.hpp — length-first packets a client sends before its first typed message:
// StartupMessage, SSLRequest, GSSENCRequest, CancelRequest. Pure: no I/O, no logging, never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "pgrouter/wire/frame.hpp"

namespace pgrouter::wire {

inline constexpr std::uint32_t kProtocolV3 = 196608;  // 3.0
inline constexpr std::uint32_t kSslRequestCode = 80877103;
inline constexpr std::uint32_t kGssEncRequestCode = 80877104;
inline constexpr std::uint32_t kCancelRequestCode = 80877102;
inline constexpr std::size_t kMaxStartupPacket = 10000;  // PostgreSQL's MAX_STARTUP_PACKET_LENGTH
inline constexpr std::size_t kCancelRequestSize = 16;

enum class StartupKind { Startup, SslRequest, GssEncRequest, CancelRequest, Unsupported };

struct StartupDecode {
    DecodeStatus status = DecodeStatus::NeedMore;  // BadLength if length < 8, TooLarge if > max
    std::size_t total = 0;  // packet size (== length field) once the 4 length bytes are there
    StartupKind kind = StartupKind::Unsupported;  // set once 8 bytes are there
    std::uint32_t code = 0;                       // protocol version or request code, likewise
    Bytes packet;                                 // whole packet incl. length, valid when Complete
};

// Frames one length-first packet at the start of `input`. kind == Startup when the code's major
// version is 3 (any minor: the caller negotiates the minor); Unsupported for anything else.
[[nodiscard]] StartupDecode decode_startup(Bytes input, std::size_t max_packet) noexcept;

struct CancelKey {
    std::int32_t pid = 0;
    std::int32_t secret = 0;
    bool operator==(const CancelKey&) const = default;
};

struct StartupParam {
    std::string_view name;
    std::string_view value;
};

// Parses the name/value pairs of a StartupMessage packet (after the 8-byte header). Clears `out`
// first. Returns false if malformed: length field != packet size, a name or value without its NUL,
// or anything but a single final NUL after the last pair (which also rejects an empty name).
// Views point into `packet`. Allocates only when `out` has to grow.
[[nodiscard]] bool parse_startup_params(Bytes packet, std::vector<StartupParam>& out);

// CancelRequest: exactly 16 bytes, length field 16, code kCancelRequestCode.
[[nodiscard]] std::optional<CancelKey> parse_cancel_request(Bytes packet) noexcept;

}  // namespace pgrouter::wire
