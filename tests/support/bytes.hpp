// tests/support/bytes.hpp — builders for PostgreSQL protocol bytes in tests: msg('Q', cstr("select
// 1")), startup({{"user", "app"}}), rfq('I'). Test-only; independent of the code under test.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgrouter::test {

using Buf = std::vector<std::uint8_t>;

// Body fragments are std::string so they compose with '+': cstr("a") + be32(7) + "raw".
inline std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}

inline std::string be16(std::uint16_t v) {
    return {static_cast<char>(v >> 8), static_cast<char>(v)};
}

// A protocol String: the text plus its NUL.
inline std::string cstr(std::string_view s) {
    std::string out(s);
    out.push_back('\0');
    return out;
}

inline Buf bytes(std::string_view s) {
    return Buf(s.begin(), s.end());
}

inline std::string text(const Buf& b) {
    return std::string(b.begin(), b.end());
}

// Typed message with an explicit (possibly wrong) length field.
inline Buf msg_with_length(char type, std::uint32_t length, std::string_view body) {
    std::string out(1, type);
    out += be32(length);
    out += body;
    return bytes(out);
}

// Typed message with a correct length field.
inline Buf msg(char type, std::string_view body) {
    return msg_with_length(type, static_cast<std::uint32_t>(body.size() + 4), body);
}

// Length-first packet (StartupMessage, SSLRequest, CancelRequest...) with a correct length.
inline Buf packet(std::uint32_t code, std::string_view body) {
    std::string out = be32(static_cast<std::uint32_t>(body.size() + 8)) + be32(code);
    out += body;
    return bytes(out);
}

inline constexpr std::uint32_t kVersion30 = 196608;

// StartupMessage with the given parameters and the final NUL.
inline Buf startup(std::initializer_list<std::pair<std::string_view, std::string_view>> params,
                   std::uint32_t version = kVersion30) {
    std::string body;
    for (const auto& [name, value] : params) {
        body += cstr(name) + cstr(value);
    }
    body.push_back('\0');
    return packet(version, body);
}

inline Buf rfq(char status) {
    return msg('Z', std::string(1, status));
}

// ErrorResponse/NoticeResponse body from (field code, value) pairs, with the final zero byte.
inline std::string error_body(std::initializer_list<std::pair<char, std::string_view>> fields) {
    std::string body;
    for (const auto& [code, value] : fields) {
        body.push_back(code);
        body += cstr(value);
    }
    body.push_back('\0');
    return body;
}

inline Buf concat(std::initializer_list<Buf> parts) {
    Buf out;
    for (const Buf& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

}  // namespace pgrouter::test
