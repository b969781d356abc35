// src/wire/startup.cpp — length-first packets before the first typed message (StartupMessage,
// SSLRequest, GSSENCRequest, CancelRequest). Pure: no I/O, no logging, never throws.
#include "pgrouter/wire/startup.hpp"

#include <cstring>

namespace pgrouter::wire {

namespace {

constexpr std::size_t kStartupHeader = 8;  // int32 length + int32 version/code

StartupKind kind_of(std::uint32_t code) noexcept {
    switch (code) {
        case kSslRequestCode:
            return StartupKind::SslRequest;
        case kGssEncRequestCode:
            return StartupKind::GssEncRequest;
        case kCancelRequestCode:
            return StartupKind::CancelRequest;
        default:
            break;
    }
    // Any 3.x is a StartupMessage: PostgreSQL answers an unknown minor with
    // NegotiateProtocolVersion rather than rejecting it, and so must the caller.
    return (code >> 16) == 3 ? StartupKind::Startup : StartupKind::Unsupported;
}

}  // namespace

StartupDecode decode_startup(Bytes input, std::size_t max_packet) noexcept {
    StartupDecode result;
    if (input.size() < 4) {
        return result;
    }
    const std::uint32_t length = read_u32(input.data());
    result.total = length;
    if (length < kStartupHeader) {
        result.status = DecodeStatus::BadLength;
        return result;
    }
    if (length > max_packet) {
        result.status = DecodeStatus::TooLarge;
        return result;
    }
    if (input.size() >= kStartupHeader) {
        result.code = read_u32(input.data() + 4);
        result.kind = kind_of(result.code);
    }
    if (input.size() < length) {
        return result;
    }
    result.status = DecodeStatus::Complete;
    result.packet = input.first(length);
    return result;
}

bool parse_startup_params(Bytes packet, std::vector<StartupParam>& out) {
    out.clear();
    if (packet.size() < kStartupHeader || read_u32(packet.data()) != packet.size()) {
        return false;
    }
    const Bytes body = packet.subspan(kStartupHeader);
    const auto* data = reinterpret_cast<const char*>(body.data());
    const std::size_t size = body.size();
    std::size_t pos = 0;
    // Reads the String starting at pos; false if it has no NUL inside the body.
    auto next_cstr = [&](std::string_view& s) {
        if (pos >= size) {
            return false;
        }
        const void* nul = std::memchr(data + pos, 0, size - pos);
        if (nul == nullptr) {
            return false;
        }
        const auto len = static_cast<std::size_t>(static_cast<const char*>(nul) - (data + pos));
        s = std::string_view(data + pos, len);
        pos += len + 1;
        return true;
    };
    // Same rule as PostgreSQL's ProcessStartupPacket: pairs until an empty name, and that
    // terminator must be the last byte of the packet.
    while (pos < size && data[pos] != '\0') {
        StartupParam param;
        if (!next_cstr(param.name) || !next_cstr(param.value)) {
            out.clear();
            return false;
        }
        out.push_back(param);
    }
    if (pos + 1 != size) {
        out.clear();
        return false;
    }
    return true;
}

std::optional<CancelKey> parse_cancel_request(Bytes packet) noexcept {
    if (packet.size() != kCancelRequestSize || read_u32(packet.data()) != kCancelRequestSize ||
        read_u32(packet.data() + 4) != kCancelRequestCode) {
        return std::nullopt;
    }
    CancelKey key;
    key.pid = static_cast<std::int32_t>(read_u32(packet.data() + 8));
    key.secret = static_cast<std::int32_t>(read_u32(packet.data() + 12));
    return key;
}

}  // namespace pgrouter::wire
